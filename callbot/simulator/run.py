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


def merge(trace: CallTrace, record: dict[str, Any] | None, peer: CallerPeer) -> dict[str, Any]:
    """The JSON record ``callbot simulate`` prints."""
    server_turns = list((record or {}).get("turns", []))
    caller_turns = [t for t in server_turns if t.get("caller_text") is not None or t.get("dtmf")]
    turns = []
    for index, sim in enumerate(trace.turns):
        server = caller_turns[index] if index < len(caller_turns) else {}
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
