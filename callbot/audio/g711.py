"""G.711 mu-law and A-law, vectorised with lookup tables (ITU-T G.711).

Decoding uses a 256-entry table; encoding a 65,536-entry table indexed by the
16-bit sample, so both are one numpy ``take`` per frame.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

_BIAS = 0x84


_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _ulaw_encode_scalar(sample: int) -> int:
    # The reference Sun/CCITT g711.c algorithm on 14-bit magnitudes (as Asterisk and audioop).
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(abs(value), 8159) + (_BIAS >> 2)
    segment = next((i for i, end in enumerate(_SEG_UEND) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _ulaw_decode_scalar(byte: int) -> int:
    byte = ~byte & 0xFF
    sign = byte & 0x80
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if sign else magnitude


def _alaw_encode_scalar(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(-sample - 1 if sample < 0 else sample, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode_scalar(byte: int) -> int:
    byte ^= 0x55
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    if exponent == 0:  # noqa: SIM108 - the two segments of the G.711 table, as written there
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


_ALL_SAMPLES = range(-32768, 32768)
_ULAW_DECODE = np.array([_ulaw_decode_scalar(b) for b in range(256)], dtype=np.int16)
_ALAW_DECODE = np.array([_alaw_decode_scalar(b) for b in range(256)], dtype=np.int16)
# Indexed by (sample + 32768).
_ULAW_ENCODE = np.array([_ulaw_encode_scalar(s) for s in _ALL_SAMPLES], dtype=np.uint8)
_ALAW_ENCODE = np.array([_alaw_encode_scalar(s) for s in _ALL_SAMPLES], dtype=np.uint8)


def ulaw_decode(data: bytes) -> Pcm:
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> Pcm:
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(pcm: Pcm) -> bytes:
    return _ULAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def alaw_encode(pcm: Pcm) -> bytes:
    return _ALAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()
