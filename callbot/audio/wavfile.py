"""WAV files: 16-bit PCM at any rate, and G.711 (μ-law, A-law) WAV.

The stdlib :mod:`wave` module only handles PCM; telephone recordings are usually
8 kHz μ-law WAV (format tag 7, with the ``fact`` chunk RIFF requires for non-PCM
data), so both directions are done here with :mod:`struct`.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from callbot.audio.g711 import alaw_decode, ulaw_decode, ulaw_encode
from callbot.errors import ConfigError

Pcm = npt.NDArray[np.int16]

FORMAT_PCM = 1
FORMAT_ALAW = 6
FORMAT_ULAW = 7
FORMAT_EXTENSIBLE = 0xFFFE


def read_wav(path: Path) -> tuple[Pcm, int]:
    """Mono int16 samples and rate of a PCM16, μ-law or A-law WAV (stereo is mixed down)."""
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ConfigError(f"{path}: not a RIFF/WAVE file")
    chunks = _chunks(data)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise ConfigError(f"{path}: WAV without fmt or data chunk")
    fmt = chunks[b"fmt "]
    tag, channels, rate_hz, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    payload = chunks[b"data"]
    if tag == FORMAT_PCM and bits == 16:
        pcm = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.int16)
    elif tag == FORMAT_ULAW and bits == 8:
        pcm = ulaw_decode(payload)
    elif tag == FORMAT_ALAW and bits == 8:
        pcm = alaw_decode(payload)
    else:
        raise ConfigError(f"{path}: unsupported WAV encoding (tag {tag}, {bits} bits)")
    if channels > 1:
        pcm = pcm[: pcm.size // channels * channels].reshape(-1, channels).mean(axis=1)
        pcm = pcm.astype(np.int16)
    return pcm, int(rate_hz)


def _chunks(data: bytes) -> dict[bytes, bytes]:
    chunks: dict[bytes, bytes] = {}
    offset = 12
    while offset + 8 <= len(data):
        name, size = (
            data[offset : offset + 4],
            struct.unpack("<I", data[offset + 4 : offset + 8])[0],
        )
        chunks.setdefault(name, data[offset + 8 : offset + 8 + size])
        offset += 8 + size + (size & 1)
    return chunks


def ulaw_wav_bytes(pcm: Pcm, sample_rate_hz: int = 8000) -> bytes:
    """A mono μ-law WAV file (fmt tag 7, 8 bits, with the ``fact`` chunk)."""
    payload = ulaw_encode(pcm)
    fmt = struct.pack("<HHIIHHH", FORMAT_ULAW, 1, sample_rate_hz, sample_rate_hz, 1, 8, 0)
    fact = struct.pack("<I", len(payload))
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", len(fact))
        + fact
        + b"data"
        + struct.pack("<I", len(payload))
        + payload
        + (b"\0" if len(payload) & 1 else b"")
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(path: Path, pcm: Pcm, sample_rate_hz: int = 16_000) -> None:
    """A mono 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate_hz)
        wav.writeframes(pcm.astype("<i2").tobytes())
