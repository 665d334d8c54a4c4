"""One simulated call against a running callbot, merged into one JSON record.

The simulated side knows what the caller heard and when (voice-to-voice latency);
the server's call record knows what was recognised and decided. Both are joined
here, turn by turn.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from callbot.audio.formats import AudioFormat
from callbot.simulator.audiosocket_peer import SimulatedAudioSocketCall
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.script import CallerBehaviour, CallerPeer, CallTrace, Turn, run_script


@dataclass(frozen=True, slots=True)
class Target:
    """Where the callbot under test listens."""

    media_url: str | None = None
    """``ws://host:port/media`` for chan_websocket."""
    audiosocket: tuple[str, int] | None = None
    username: str | None = None
    password: str | None = None


def open_peer(
    target: Target,
    transport: str,
    media_format: AudioFormat,
    *,
    call_id: str | None = None,
    caller_number: str | None = "0600000000",
    speed: float = 1.0,
    control_format: str = "json",
) -> CallerPeer:
    """A simulated Asterisk call leg for ``transport`` (not yet connected)."""
    if transport == "audiosocket":
        if target.audiosocket is None:
            raise ValueError("this callbot has no AudioSocket server")
        host, port = target.audiosocket
        return SimulatedAudioSocketCall(
            host,
            port,
            sample_rate_hz=media_format.sample_rate_hz,
            call_id=call_id or str(uuid.uuid4()),
            speed=speed,
        )
    if target.media_url is None:
        raise ValueError("this callbot has no media websocket URL")
    return SimulatedChanWebsocketCall(
        target.media_url,
        media_format=media_format,
        call_id=call_id or f"sim-{uuid.uuid4().hex[:12]}",
        caller_number=caller_number,
        control_format=control_format,  # type: ignore[arg-type]
        speed=speed,
        username=target.username,
        password=target.password,
    )


async def simulate(
    peer: CallerPeer, turns: list[Turn], behaviour: CallerBehaviour | None = None
) -> CallTrace:
    async with peer:  # type: ignore[attr-defined]
        return await run_script(peer, turns, behaviour or CallerBehaviour())


async def wait_for_record(
    records: Any, call_id: str, timeout_s: float = 10.0
) -> dict[str, Any] | None:
    """The server's record of ``call_id`` once the call has ended there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:  # looks at least once, even with no time to wait
        for record in reversed(records):
            if record.get("call_id") == call_id:
                return dict(record)
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(0.05)


def caller_turns(trace: CallTrace, record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The server's view of each turn of ``trace``. The server records each key as a turn
    of its own: the keys of one keypad entry (``dtmf:0612345678``) are joined back into
    one turn, with all the bot said in answer to them. A silence is no caller turn there."""
    server_turns = list((record or {}).get("turns", []))
    heard = [t for t in server_turns if t.get("caller_text") is not None or t.get("dtmf")]
    joined = []
    for sim in trace.turns:
        take = {"speech": 1, "dtmf": sim.keys}.get(sim.kind, 0)
        joined.append(_join(heard[:take]))
        heard = heard[take:]
    return joined


def _join(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """One turn from the server turns of a keypad entry: its keys, what the last key
    decided (intent, confidence, latency), and the bot's words after any of them."""
    if len(turns) <= 1:
        return dict(turns[0]) if turns else {}
    decided = next((t for t in reversed(turns) if t.get("bot_text")), turns[-1])
    return {
        **decided,
        "dtmf": "".join(str(t.get("dtmf") or "") for t in turns),
        "bot_text": [text for t in turns for text in t.get("bot_text", [])],
        "barged_in": any(t.get("barged_in") for t in turns),
    }


def merge(trace: CallTrace, record: dict[str, Any] | None, peer: CallerPeer) -> dict[str, Any]:
    """The JSON record ``callbot simulate`` prints."""
    server_turns = list((record or {}).get("turns", []))
    turns = []
    for index, (sim, server) in enumerate(
        zip(trace.turns, caller_turns(trace, record), strict=True)
    ):
        turns.append(
            {
                "turn": index + 1,
                "label": sim.label,
                "kind": sim.kind,
                "caller_text": server.get("caller_text"),
                "dtmf": server.get("dtmf"),
                "intent": server.get("intent"),
                "confidence": server.get("confidence"),
                "bot_text": " ".join(server.get("bot_text", [])) or None,
                "latency_ms": sim.latency_ms,
                "server_latency_ms": server.get("server_latency_ms"),
                "asr_ms": None if server.get("asr_s") is None else round(server["asr_s"] * 1000),
                "barged_in": server.get("barged_in", False),
            }
        )
    recording = peer.recording
    return {
        "call_id": trace.call_id,
        "dialplan": (record or {}).get("dialplan"),
        "dialplan_version": (record or {}).get("dialplan_version"),
        "voice": (record or {}).get("voice"),
        "transport": (record or {}).get("transport"),
        "format": (record or {}).get("format"),
        "greeting_ms": trace.greeting_ms,
        "turns": turns,
        "no_input_turns": len([t for t in server_turns if t.get("intent") == "no_input"]),
        "outcome": (record or {}).get("outcome", "unknown"),
        "outcome_detail": (record or {}).get("outcome_detail"),
        "transfer_queue": (record or {}).get("transfer_queue"),
        "hung_up_by": trace.hung_up_by,
        "bot_audio_s": round(recording.audible_seconds(), 2),
        "bot_commands": sorted(set(recording.command_names())),
        "dropped_frames": recording.dropped_frames,
        "errors": (record or {}).get("errors", []),
    }
