"""G.711 tables against the reference codec and known code points."""

import warnings

import numpy as np
import pytest

from callbot.audio import g711

ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def test_known_code_points() -> None:
    # Silence encodes to 0xFF (mu-law) and 0xD5 (A-law); full scale to the extreme codes.
    assert g711.ulaw_encode(np.array([0, 32767, -32768], np.int16)) == b"\xff\x80\x00"
    assert g711.alaw_encode(np.array([0, 32767, -32768], np.int16)) == b"\xd5\xaa\x2a"
    assert g711.ulaw_decode(b"\xff\x7f").tolist() == [0, 0]
    assert g711.alaw_decode(b"\xd5").tolist() == [8]


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_matches_reference_codec_on_every_sample(codec: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    encode = getattr(g711, f"{codec}_encode")
    decode = getattr(g711, f"{codec}_decode")
    reference_encode = getattr(audioop, f"lin2{codec}")
    reference_decode = getattr(audioop, f"{codec}2lin")
    assert encode(ALL) == reference_encode(ALL.tobytes(), 2)
    every_code = bytes(range(256))
    assert decode(every_code).tobytes() == reference_decode(every_code, 2)


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_round_trip_error_is_logarithmic(codec: str) -> None:
    encode = getattr(g711, f"{codec}_encode")
    decode = getattr(g711, f"{codec}_decode")
    back = decode(encode(ALL)).astype(np.int32)
    error = np.abs(back - ALL.astype(np.int32))
    # Quantisation step grows with amplitude: ~1/16 of the magnitude at most (+ small floor).
    assert np.all(error <= np.abs(ALL.astype(np.int32)) / 16 + 64)
    # Decoding is monotonic in the input amplitude.
    assert np.all(np.diff(back) >= 0)
