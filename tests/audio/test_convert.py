"""Wire formats to and from the pipeline's 16 kHz PCM."""

import numpy as np
import pytest

from callbot.audio.convert import InboundConverter, OutboundConverter, decode, encode, resample
from callbot.audio.formats import (
    ALAW_8K,
    PIPELINE_RATE_HZ,
    SLIN_8K,
    SLIN_16K,
    ULAW_8K,
    AudioFormat,
    Codec,
)


def tone(freq_hz: float, rate_hz: int, seconds: float = 0.5, amp: int = 8000) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def dominant_hz(pcm: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate_hz)[np.argmax(spectrum)])


def test_format_names_and_frame_sizes() -> None:
    assert AudioFormat.from_asterisk_name("slin16") == SLIN_16K
    assert AudioFormat.from_asterisk_name("ULAW") == ULAW_8K
    assert SLIN_16K.frame_bytes == 640 and SLIN_8K.frame_bytes == 320
    assert ULAW_8K.frame_bytes == 160 and ALAW_8K.frame_bytes == 160
    assert SLIN_16K.asterisk_name == "slin16" and SLIN_8K.asterisk_name == "slin"
    with pytest.raises(ValueError, match="opus"):
        AudioFormat.from_asterisk_name("opus")


@pytest.mark.parametrize("fmt", [ULAW_8K, ALAW_8K, SLIN_8K, SLIN_16K])
def test_encode_decode_round_trip(fmt: AudioFormat) -> None:
    pcm = tone(440, fmt.sample_rate_hz)
    back = decode(fmt, encode(fmt, pcm))
    assert back.size == pcm.size
    tolerance = 0 if fmt.codec is Codec.SLIN else 300
    assert np.max(np.abs(back.astype(int) - pcm.astype(int))) <= tolerance


def test_inbound_8k_to_16k_keeps_the_tone_and_the_length() -> None:
    converter = InboundConverter(ULAW_8K)
    pcm = tone(1000, 8000, seconds=1.0)
    wire = encode(ULAW_8K, pcm)
    out = np.concatenate([converter.convert(wire[i : i + 160]) for i in range(0, len(wire), 160)])
    # Frame by frame, exactly twice the samples: no burst, no start-up gap.
    assert out.size == PIPELINE_RATE_HZ
    assert converter.convert(wire[:160]).size == 320
    assert dominant_hz(out[2000:], PIPELINE_RATE_HZ) == pytest.approx(1000, abs=5)


def test_upsampling_keeps_the_level_and_removes_the_image() -> None:
    converter = InboundConverter(SLIN_8K)
    pcm = tone(1000, 8000, seconds=1.0)
    out = converter.convert(encode(SLIN_8K, pcm)).astype(np.float64)[100:]
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(out.size, 1 / PIPELINE_RATE_HZ)
    wanted = spectrum[np.argmin(np.abs(freqs - 1000))]
    image = spectrum[np.argmin(np.abs(freqs - 7000))]  # the 8 kHz - 1 kHz mirror
    assert image < wanted * 10 ** (-50 / 20)
    rms_in = np.sqrt(np.mean(pcm.astype(float) ** 2))
    assert np.sqrt(np.mean(out**2)) == pytest.approx(rms_in, rel=0.05)


def test_resampling_filters_aliases() -> None:
    # A 6 kHz tone cannot exist at 8 kHz: a properly filtered resampler removes it
    # instead of folding it back to 2 kHz.
    pcm = tone(6000, 22050, seconds=1.0)
    down = resample(pcm, 22050, 8000)
    assert np.sqrt(np.mean(down.astype(float) ** 2)) < 200


def test_outbound_voice_rate_to_wire() -> None:
    out = OutboundConverter(ULAW_8K)
    wire = out.convert(tone(500, 22050, seconds=1.0), 22050)
    assert abs(len(wire) - 8000) <= 2
    assert dominant_hz(decode(ULAW_8K, wire), 8000) == pytest.approx(500, abs=5)
