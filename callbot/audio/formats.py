"""Telephone audio formats as Asterisk names them.

The inside of callbot works on one format only, :data:`PIPELINE_RATE_HZ` signed
16-bit mono PCM; the media edges convert once on the way in and once on the way out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

PIPELINE_RATE_HZ = 16_000
"""Sample rate of all audio inside the pipeline (Hertz)."""

FRAME_MS = 20
"""Asterisk's packetisation time (milliseconds)."""


class Codec(enum.Enum):
    SLIN = "slin"  # signed 16-bit little-endian linear PCM
    ULAW = "ulaw"  # G.711 mu-law, 8 bits a sample
    ALAW = "alaw"  # G.711 A-law, 8 bits a sample


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """A wire format: codec and sample rate."""

    codec: Codec
    sample_rate_hz: int

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.codec is Codec.SLIN else 1

    @property
    def frame_bytes(self) -> int:
        """Bytes in one 20 ms frame (slin16: 640, slin: 320, ulaw/alaw: 160)."""
        return self.sample_rate_hz * FRAME_MS // 1000 * self.bytes_per_sample

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate_hz * self.bytes_per_sample

    @property
    def asterisk_name(self) -> str:
        """The name Asterisk uses (``ulaw``, ``alaw``, ``slin``, ``slin16``...)."""
        if self.codec is not Codec.SLIN:
            return str(self.codec.value)
        return "slin" if self.sample_rate_hz == 8000 else f"slin{self.sample_rate_hz // 1000}"

    @classmethod
    def from_asterisk_name(cls, name: str) -> AudioFormat:
        """Parse an Asterisk format name; raises :class:`ValueError` on an unsupported one."""
        key = name.strip().lower()
        if key in _NAMED:
            return _NAMED[key]
        raise ValueError(f"unsupported audio format {name!r} (use ulaw, alaw, slin or slin16)")


ULAW_8K = AudioFormat(Codec.ULAW, 8000)
ALAW_8K = AudioFormat(Codec.ALAW, 8000)
SLIN_8K = AudioFormat(Codec.SLIN, 8000)
SLIN_16K = AudioFormat(Codec.SLIN, 16000)

_NAMED: dict[str, AudioFormat] = {
    "ulaw": ULAW_8K,
    "mulaw": ULAW_8K,
    "alaw": ALAW_8K,
    "slin": SLIN_8K,
    "slin8": SLIN_8K,
    "slin12": AudioFormat(Codec.SLIN, 12000),
    "slin16": SLIN_16K,
    "slin24": AudioFormat(Codec.SLIN, 24000),
    "slin32": AudioFormat(Codec.SLIN, 32000),
    "slin44": AudioFormat(Codec.SLIN, 44100),
    "slin48": AudioFormat(Codec.SLIN, 48000),
}
