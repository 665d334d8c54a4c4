"""A deterministic mutation fuzzer for the protocol parsers (no I/O, no coverage tools).

Peers are untrusted: whatever bytes or text reach a parser, it must return events or
raise its protocol's documented error (:class:`ChanWebsocketError`,
:class:`AudioSocketError`, :class:`AriError`), which the edge maps to a hang-up or a
skipped message. Any other exception would escape the edge's handling: a *crash*.

Inputs are valid wire messages (the seeds) mutated at the byte level (flips,
insertions, deletions, splices, interesting bytes), at the JSON level (a value
replaced by another type, a huge number, a deep nest, a key removed), plus pure random
bytes. Seeded, so a run is reproducible: ``fuzz(seed=1)`` finds the same crash twice.
Used by ``tests/fuzz`` and ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from callbot.audio.formats import AudioFormat
from callbot.errors import AriError, AudioSocketError, ChanWebsocketError
from callbot.protocols import ari, audiosocket
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_app as cw_app
from callbot.protocols import chan_websocket_asterisk as cwa

JSON_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 2**70, -(2**63), 1.5, float("nan"))
JSON_VALUES += ("", "x" * 300, "\u00e9\u20ac\U0001f600", "\x00", [], {}, [[[]]], {"a": {}})
_NEST_MARK = "@nest@"
BYTE_TOKENS: tuple[bytes, ...] = (
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc3",
)
BYTE_TOKENS += (b"null", b"1e999", b"-0", b"99999999999999999999", b'"\\ud800"', b" ", b"\n")


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: tuple[bytes, ...]


@dataclass
class TargetReport:
    inputs: int = 0
    accepted: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)
    crashes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class FuzzReport:
    seed: int
    elapsed_s: float = 0.0
    targets: dict[str, TargetReport] = field(default_factory=dict)

    @property
    def inputs(self) -> int:
        return sum(t.inputs for t in self.targets.values())

    @property
    def crashes(self) -> list[dict[str, str]]:
        return [c for t in self.targets.values() for c in t.crashes]

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "inputs": self.inputs,
            "crashes": len(self.crashes),
            "elapsed_s": round(self.elapsed_s, 2),
            "inputs_per_s": round(self.inputs / self.elapsed_s) if self.elapsed_s else None,
            "targets": {
                name: {
                    "inputs": t.inputs,
                    "accepted": t.accepted,
                    "exceptions": dict(t.exceptions.most_common()),
                    "crashes": t.crashes[:20],
                }
                for name, t in self.targets.items()
            },
        }


def fuzz(
    total_inputs: int = 100_000, seed: int = 1, targets: list[Target] | None = None
) -> FuzzReport:
    """Feed ``total_inputs`` generated inputs, split evenly over ``targets``."""
    targets = targets or default_targets()
    rng = random.Random(seed)
    report = FuzzReport(seed)
    started = time.perf_counter()
    per_target, extra = divmod(total_inputs, len(targets))
    for index, target in enumerate(targets):
        result = report.targets.setdefault(target.name, TargetReport())
        for data in _inputs(target.seeds, per_target + (index < extra), rng):
            _run_one(target, data, result)
    report.elapsed_s = time.perf_counter() - started
    return report


def _run_one(target: Target, data: bytes, result: TargetReport) -> None:
    result.inputs += 1
    try:
        target.run(data)
    except target.allowed as exc:
        result.exceptions[type(exc).__name__] += 1
    except Exception as exc:  # the finding: anything else escapes the edges
        result.exceptions[type(exc).__name__] += 1
        if len(result.crashes) < 100:
            result.crashes.append(
                {"error": f"{type(exc).__name__}: {exc}"[:300], "input": repr(data[:300])}
            )
    else:
        result.accepted += 1


# --- input generation ------------------------------------------------------------------------


def _inputs(seeds: tuple[bytes, ...], count: int, rng: random.Random) -> Iterator[bytes]:
    for _ in range(count):
        roll = rng.random()
        if roll < 0.08:
            yield rng.randbytes(rng.randrange(0, 200))
        elif roll < 0.4 and (seed := rng.choice(seeds))[:1] == b"{":
            yield mutate_json(seed, rng)
        else:
            data = rng.choice(seeds)
            for _ in range(rng.choice((1, 1, 2, 3, 6))):
                data = mutate_bytes(data, rng, seeds)
            yield data


def mutate_bytes(data: bytes, rng: random.Random, seeds: tuple[bytes, ...] = ()) -> bytes:
    """One random byte-level edit of ``data``."""
    buf = bytearray(data)
    at = rng.randrange(0, len(buf) + 1)
    op = rng.randrange(8)
    if op == 0 and buf:
        buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
    elif op == 1 and buf:
        buf[min(at, len(buf) - 1)] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x20, rng.randrange(256)))
    elif op == 2:
        buf[at:at] = rng.choice(BYTE_TOKENS)
    elif op == 3:
        end = min(len(buf), at + rng.randrange(1, 16))
        del buf[at:end]
    elif op == 4:
        end = min(len(buf), at + rng.randrange(1, 32))
        buf[at:at] = buf[at:end] * rng.randrange(1, 4)
    elif op == 5:
        del buf[at:]
    elif op == 6 and seeds:
        other = rng.choice(seeds)
        buf[at:] = other[rng.randrange(0, len(other) + 1) :]
    else:
        buf[at:at] = rng.randbytes(rng.randrange(1, 8))
    return bytes(buf)


def mutate_json(seed: bytes, rng: random.Random) -> bytes:
    """``seed`` (a JSON document) with one value replaced, removed or deeply nested."""
    try:
        doc = json.loads(seed)
    except ValueError:
        return mutate_bytes(seed, rng)
    containers = list(_containers(doc))
    parent: Any = rng.choice(containers)
    keys: list[Any] = list(parent.keys()) if isinstance(parent, dict) else list(range(len(parent)))
    if keys:
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.15 and isinstance(parent, dict):
            del parent[key]
        elif roll < 0.2:
            parent[key] = _NEST_MARK
        else:
            parent[key] = rng.choice(JSON_VALUES)
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
    depth = rng.choice((10, 100, 2000, 30_000))  # 30,000 still fits in a 64 KiB message
    return text.replace(f'"{_NEST_MARK}"', "[" * depth + "]" * depth).encode()


def _containers(doc: Any) -> Iterator[dict[str, Any] | list[Any]]:
    if isinstance(doc, dict | list):
        yield doc
        for child in doc.values() if isinstance(doc, dict) else doc:
            yield from _containers(child)


# --- targets ---------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    """Websocket TEXT frames are UTF-8 (the server validates them); fuzz what gets through."""
    return data.decode("utf-8", errors="replace")


def _cw_events(data: bytes) -> object:
    return cw_app.parse_event(_text(data))


def _cw_connection(data: bytes) -> object:
    """A call's message sequence: lines are TEXT messages, ``\\x00`` marks a BINARY one."""
    conn = cw_app.AppConnection()
    for part in data.split(b"\n"):
        if part.startswith(b"\x00"):
            conn.receive_binary(part[1:])
        else:
            conn.receive_text(_text(part))
    return conn.control_format


def _cw_commands(data: bytes) -> object:
    fmt = cw.ControlFormat.JSON if data[:1] == b"{" else cw.ControlFormat.PLAIN
    return cwa.parse_command(_text(data), fmt)


def _audiosocket(data: bytes) -> object:
    """The stream cut at arbitrary places, as TCP may deliver it."""
    parser = audiosocket.FrameParser(audiosocket.Direction.FROM_ASTERISK)
    events = []
    step = 1 + (data[-1] if data else 0) % 97
    for i in range(0, len(data), step):
        events += parser.feed(data[i : i + step])
    return events


def _audiosocket_to_asterisk(data: bytes) -> object:
    return audiosocket.FrameParser(audiosocket.Direction.TO_ASTERISK).feed(data)


def _ari_events(data: bytes) -> object:
    return ari.parse_event(data if data[-1:] == b"}" else _text(data))


def default_targets() -> list[Target]:
    cw_error = (ChanWebsocketError,)
    return [
        Target("chan_websocket.parse_event", _cw_events, cw_error, _cw_event_seeds()),
        Target("chan_websocket.AppConnection", _cw_connection, cw_error, _cw_session_seeds()),
        Target("chan_websocket.parse_command", _cw_commands, cw_error, _cw_command_seeds()),
        Target("audiosocket.FrameParser", _audiosocket, (AudioSocketError,), _as_seeds()),
        Target(
            "audiosocket.FrameParser(to Asterisk)",
            _audiosocket_to_asterisk,
            (AudioSocketError,),
            _as_seeds()[1:],
        ),
        Target("ari.parse_event", _ari_events, (AriError,), _ari_seeds()),
    ]


def _cw_event_seeds() -> tuple[bytes, ...]:
    ulaw = AudioFormat.from_asterisk_name("ulaw")
    variables = {"CALLBOT_CALL_ID": "c-1"}
    start = cw.MediaStart(
        "media1", "WebSocket/m/0x7f", "1763700000.42", "ulaw", ulaw, 160, 20, variables
    )
    events: list[cw.Event] = [
        start,
        cw.Dtmf("5", "1763700000.42"),
        cw.Xoff("c"),
        cw.Xon("c"),
        cw.QueueDrained("c"),
        cw.MarkProcessed("m-1", "c"),
        cw.BufferingCompleted("b-1", "c"),
        cw.Status("c", 12, 800, 900, False, False, False),
        cw.AsteriskError("Unable to parse", "c"),
    ]
    out = []
    for fmt_ in (cw.ControlFormat.PLAIN, cw.ControlFormat.JSON):
        out += [cwa.encode_event(e, fmt_).encode() for e in events]
    return tuple(out)


def _cw_session_seeds() -> tuple[bytes, ...]:
    events = _cw_event_seeds()
    frame = b"\x00" + b"\xff" * 160
    return tuple(b"\n".join((events[i], frame, events[j])) for i, j in ((0, 1), (9, 10), (9, 12)))


def _cw_command_seeds() -> tuple[bytes, ...]:
    out = []
    for fmt in (cw.ControlFormat.PLAIN, cw.ControlFormat.JSON):
        for name in cw.CommandName:
            direction = "in" if name is cw.CommandName.SET_MEDIA_DIRECTION else None
            if direction and fmt is cw.ControlFormat.PLAIN:
                continue
            out.append(cw_app.encode_command(cw.Command(name, "id-1", direction), fmt).encode())
    return tuple(out)


def _as_seeds() -> tuple[bytes, ...]:
    head = audiosocket.encode_uuid(uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"))
    audio = audiosocket.encode_audio(b"\x01\x00" * 160, 8000)
    audio16 = audiosocket.encode_audio(b"\x01\x00" * 320, 16000)
    return (
        head + audio + audiosocket.encode_dtmf("#") + audio16,
        audio + audio16 + audiosocket.encode_hangup(),
        head + audiosocket.encode_error(2) + audiosocket.encode_error() + audio,
    )


def _ari_seeds() -> tuple[bytes, ...]:
    channel = {
        "id": "1764590400.42",
        "name": "PJSIP/trunk-0000002a",
        "state": "Ring",
        "caller": {"name": "", "number": "+33612345678"},
        "connected": {"name": "", "number": ""},
        "dialplan": {"context": "in", "exten": "3949", "priority": 2, "app_name": "Stasis"},
        "language": "fr",
        "channelvars": {"CALLBOT_CALL_ID": "c-1"},
    }
    bridge = {
        "id": "b-1",
        "technology": "simple_bridge",
        "bridge_type": "mixing",
        "channels": ["1"],
    }
    common = {"timestamp": "2026-01-15T09:30:00.150+0100", "application": "callbot"}
    events: list[dict[str, Any]] = [
        {"type": "StasisStart", "args": ["a", "b"], "channel": channel},
        {"type": "StasisEnd", "channel": channel},
        {"type": "ChannelDtmfReceived", "digit": "5", "duration_ms": 120, "channel": channel},
        {"type": "ChannelHangupRequest", "cause": 16, "soft": True, "channel": channel},
        {"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal", "channel": channel},
        {"type": "ChannelStateChange", "channel": channel},
        {"type": "ChannelVarset", "variable": "X", "value": "1", "channel": channel},
        {"type": "ChannelEnteredBridge", "bridge": bridge, "channel": channel},
        {"type": "ChannelLeftBridge", "bridge": bridge, "channel": channel},
        {"type": "BridgeDestroyed", "bridge": bridge},
        {"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "channel:1"}},
        {"type": "ApplicationReplaced"},
        {"type": "Dial", "peer": channel},
    ]
    return tuple(json.dumps({**e, **common}).encode() for e in events)
