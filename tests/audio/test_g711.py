"""G.711 tables against the reference codec and known code points."""

import hashlib
import warnings

import numpy as np
import pytest

from callbot.audio import g711

ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
EVERY_CODE = bytes(range(256))

# sha256 of encode(every 16-bit sample, -32768 first) and of decode(every code, 0 first)
# as little-endian int16, from the reference g711.c tables (audioop's, bit for bit):
# they hold without audioop (gone in Python 3.13).
REFERENCE_SHA256 = {
    ("ulaw", "encode"): "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a",
    ("alaw", "encode"): "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b",
    ("ulaw", "decode"): "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827",
    ("alaw", "decode"): "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174",
}


def test_known_code_points() -> None:
    # Silence encodes to 0xFF (mu-law) and 0xD5 (A-law); full scale to the extreme codes.
    assert g711.ulaw_encode(np.array([0, 32767, -32768], np.int16)) == b"\xff\x80\x00"
    assert g711.alaw_encode(np.array([0, 32767, -32768], np.int16)) == b"\xd5\xaa\x2a"
    assert g711.ulaw_decode(b"\xff\x7f").tolist() == [0, 0]
    assert g711.alaw_decode(b"\xd5").tolist() == [8]


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_matches_the_stored_reference_tables(codec: str) -> None:
    encoded = getattr(g711, f"{codec}_encode")(ALL)
    decoded = getattr(g711, f"{codec}_decode")(EVERY_CODE).astype("<i2").tobytes()
    assert hashlib.sha256(encoded).hexdigest() == REFERENCE_SHA256[codec, "encode"]
    assert hashlib.sha256(decoded).hexdigest() == REFERENCE_SHA256[codec, "decode"]


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
    assert decode(EVERY_CODE).tobytes() == reference_decode(EVERY_CODE, 2)


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
