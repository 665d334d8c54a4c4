"""AudioSocket framing, without I/O: bytes in, typed events out, and the encoders.

AudioSocket is Asterisk's plain TCP media protocol (``app_audiosocket.c``, the dialplan
application, and ``chan_audiosocket.c``, the channel driver; framing in
``res/res_audiosocket.c`` and ``include/asterisk/res_audiosocket.h``). Asterisk is always
the TCP client. Every frame is::

    kind:u8 | length:u16 big-endian | payload (``length`` bytes; the header is not counted)

Kinds, as the Asterisk source defines and uses them (the "direction" comments in
``res_audiosocket.h`` are written from the app's point of view):

* ``0x00`` hang-up. Only the app sends it; Asterisk reads the 3-byte header, ignores the
  length and ends the call (so it is sent as ``00 00 00``). Asterisk itself never sends it:
  on the caller's hang-up it simply closes the socket.
* ``0x01`` call UUID: 16 raw bytes (``uuid_parse`` of the dialplan argument), always the
  first frame from Asterisk, sent exactly once.
* ``0x03`` DTMF: one ASCII byte (the digit of a DTMF_END frame). Asterisk to app only;
  sent from Asterisk 20.14, 21.9, 22.4 and 23.0.
* ``0x10`` signed linear 16-bit little-endian mono, 8 kHz; ``0x11``-``0x18`` the same at
  12, 16, 24, 32, 44.1, 48, 96 and 192 kHz (Asterisk 20.17, 21.12, 22.7, 23.1 and later;
  before that every audio frame is ``0x10`` whatever the channel's rate).
* ``0xFF`` error: declared ("Asterisk-side error, received only") but never sent by the
  Asterisk source; the protocol page says the payload is an optional error code
  (Asterisk's own: ``0x01`` hang-up of the calling party, ``0x02`` frame forwarding,
  ``0x04`` memory).

Asterisk 20.14, 21.9, 22.4, 23.0 and later tear the call down on any frame from the app
other than hang-up or audio, and on a zero-length audio frame (older versions skipped such
frames, and did not end the call when the app merely closed the socket: always send the
hang-up frame before closing). The parser applies the same rules to the app's frames
(:attr:`Direction.TO_ASTERISK`, used by the simulated Asterisk), and the mirror rules to
Asterisk's (:attr:`Direction.FROM_ASTERISK`, used by our server).
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass

from callbot.errors import AudioSocketError

HEADER_BYTES = 3
"""Kind (1 byte) and big-endian payload length (2 bytes)."""

MAX_PAYLOAD_BYTES = 0xFFFF
"""The largest payload a 16-bit length can announce."""

UUID_BYTES = 16

_HEADER = struct.Struct(">BH")


class Kind(enum.IntEnum):
    """Frame kinds (``enum ast_audiosocket_msg_kind`` in ``res_audiosocket.h``)."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO_SLIN = 0x10
    AUDIO_SLIN12 = 0x11
    AUDIO_SLIN16 = 0x12
    AUDIO_SLIN24 = 0x13
    AUDIO_SLIN32 = 0x14
    AUDIO_SLIN44 = 0x15
    AUDIO_SLIN48 = 0x16
    AUDIO_SLIN96 = 0x17
    AUDIO_SLIN192 = 0x18
    ERROR = 0xFF


AUDIO_KIND_BY_RATE_HZ: dict[int, Kind] = {
    8000: Kind.AUDIO_SLIN,
    12000: Kind.AUDIO_SLIN12,
    16000: Kind.AUDIO_SLIN16,
    24000: Kind.AUDIO_SLIN24,
    32000: Kind.AUDIO_SLIN32,
    44100: Kind.AUDIO_SLIN44,
    48000: Kind.AUDIO_SLIN48,
    96000: Kind.AUDIO_SLIN96,
    192000: Kind.AUDIO_SLIN192,
}
"""Signed-linear sample rate (Hertz) to the audio kind carrying it."""

RATE_HZ_BY_AUDIO_KIND: dict[int, int] = {kind: rate for rate, kind in AUDIO_KIND_BY_RATE_HZ.items()}

DTMF_DIGITS = frozenset("0123456789*#ABCD")


class Direction(enum.Enum):
    """Who sent the bytes being parsed; each side accepts different kinds."""

    FROM_ASTERISK = "from_asterisk"
    """Asterisk to the app: UUID first, then audio and DTMF (hang-up/error tolerated)."""
    TO_ASTERISK = "to_asterisk"
    """The app to Asterisk: hang-up and audio only, as Asterisk enforces."""


@dataclass(frozen=True, slots=True)
class CallUuid:
    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class Audio:
    sample_rate_hz: int
    payload: bytes
    """Signed 16-bit little-endian mono PCM."""


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str
    """One of ``0-9 * # A-D``."""


@dataclass(frozen=True, slots=True)
class HangupMessage:
    """A hang-up frame (kind ``0x00``). Named apart from the dialplan's
    :class:`~callbot.dialplan.actions.Hangup` action, which is what the bot decides."""


@dataclass(frozen=True, slots=True)
class Error:
    code: int | None
    """First payload byte, or None when the frame carried no code."""


Event = CallUuid | Audio | Dtmf | HangupMessage | Error


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One raw frame; raises :class:`ValueError` (our bug, not the peer's) when too long."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return _HEADER.pack(kind, len(payload)) + payload


def encode_uuid(call_uuid: uuid.UUID) -> bytes:
    return encode_frame(Kind.UUID, call_uuid.bytes)


def encode_audio(payload: bytes, sample_rate_hz: int = 8000) -> bytes:
    kind = AUDIO_KIND_BY_RATE_HZ.get(sample_rate_hz)
    if kind is None:
        raise ValueError(f"AudioSocket has no audio kind for {sample_rate_hz} Hz")
    if not payload:
        raise ValueError("AudioSocket audio frames may not be empty (Asterisk hangs up)")
    return encode_frame(kind, payload)


def encode_dtmf(digit: str) -> bytes:
    if digit.upper() not in DTMF_DIGITS or len(digit) != 1:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return encode_frame(Kind.DTMF, digit.upper().encode("ascii"))


def encode_hangup() -> bytes:
    return encode_frame(Kind.HANGUP)


def encode_error(code: int | None = None) -> bytes:
    return encode_frame(Kind.ERROR, b"" if code is None else bytes([code]))


class FrameParser:
    """Incremental parser: :meth:`feed` any slice of the stream, get complete events.

    Partial frames stay buffered until the rest arrives. After a hang-up frame the
    stream is over (Asterisk closes the socket), so later bytes are ignored. Any
    protocol violation raises :class:`AudioSocketError`; the parser is then unusable.
    """

    def __init__(self, direction: Direction, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        if not 1 <= max_payload_bytes <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"max_payload_bytes must be in 1..{MAX_PAYLOAD_BYTES}")
        self.direction = direction
        self.max_payload_bytes = max_payload_bytes
        self._buffer = bytearray()
        self.call_uuid: uuid.UUID | None = None
        """The call's UUID once its frame was parsed (kept for error messages)."""
        self.ended = False
        """True once a hang-up frame was parsed."""

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        if self.ended:
            return []
        self._buffer += data
        events: list[Event] = []
        while len(self._buffer) >= HEADER_BYTES:
            kind, length = _HEADER.unpack_from(self._buffer)
            if kind == Kind.HANGUP:
                # Asterisk acts on the header alone and never reads a hang-up's payload.
                self._buffer.clear()
                self.ended = True
                events.append(HangupMessage())
                break
            self._check_header(kind, length)
            if len(self._buffer) < HEADER_BYTES + length:
                break
            payload = bytes(self._buffer[HEADER_BYTES : HEADER_BYTES + length])
            del self._buffer[: HEADER_BYTES + length]
            events.append(self._event(kind, payload))
        return events

    def _check_header(self, kind: int, length: int) -> None:
        """Reject a bad frame as soon as its header is known, before buffering its payload."""
        if self.direction is Direction.TO_ASTERISK:
            if kind not in RATE_HZ_BY_AUDIO_KIND:
                raise AudioSocketError(
                    f"kind 0x{kind:02x} from the app: Asterisk accepts only hang-up and audio"
                )
        else:
            known = kind in (Kind.UUID, Kind.DTMF, Kind.ERROR) or kind in RATE_HZ_BY_AUDIO_KIND
            if not known:
                raise AudioSocketError(f"unknown AudioSocket kind 0x{kind:02x}")
            if self.call_uuid is None and kind != Kind.UUID:
                raise AudioSocketError(f"kind 0x{kind:02x} before the call UUID (must be first)")
            if self.call_uuid is not None and kind == Kind.UUID:
                raise AudioSocketError("a second call UUID frame")
        if length == 0 and kind != Kind.ERROR:
            raise AudioSocketError(f"zero-length payload for kind 0x{kind:02x}")
        if length > self.max_payload_bytes:
            raise AudioSocketError(
                f"payload of {length} bytes for kind 0x{kind:02x} exceeds the "
                f"{self.max_payload_bytes}-byte limit"
            )

    def _event(self, kind: int, payload: bytes) -> Event:
        if kind == Kind.UUID:
            if len(payload) != UUID_BYTES:
                raise AudioSocketError(f"call UUID of {len(payload)} bytes (expected 16)")
            self.call_uuid = uuid.UUID(bytes=payload)
            return CallUuid(self.call_uuid)
        if kind == Kind.DTMF:
            digit = payload.decode("ascii", errors="replace").upper()
            if len(payload) != 1 or digit not in DTMF_DIGITS:
                raise AudioSocketError(f"bad DTMF payload {payload!r} (one of 0-9*#A-D expected)")
            return Dtmf(digit)
        if kind == Kind.ERROR:
            return Error(payload[0] if payload else None)
        return Audio(RATE_HZ_BY_AUDIO_KIND[kind], payload)
