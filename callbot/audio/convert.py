"""Conversions between a call's wire format and the pipeline's 16 kHz PCM.

Each call owns one :class:`InboundConverter` and one :class:`OutboundConverter`;
they keep resampler state across frames so that frame boundaries leave no clicks.
Resampling is soxr's band-limited (properly filtered) streaming resampler.
"""

from __future__ import annotations

import numpy as np
import soxr

from callbot.audio import g711
from callbot.audio.formats import PIPELINE_RATE_HZ, AudioFormat, Codec
from callbot.audio.g711 import Pcm


def decode(fmt: AudioFormat, payload: bytes) -> Pcm:
    """Wire bytes to int16 PCM at the wire's own rate."""
    if fmt.codec is Codec.ULAW:
        return g711.ulaw_decode(payload)
    if fmt.codec is Codec.ALAW:
        return g711.alaw_decode(payload)
    usable = len(payload) - len(payload) % 2
    return np.frombuffer(payload[:usable], dtype="<i2").astype(np.int16)


def encode(fmt: AudioFormat, pcm: Pcm) -> bytes:
    """int16 PCM at the wire's rate to wire bytes."""
    if fmt.codec is Codec.ULAW:
        return g711.ulaw_encode(pcm)
    if fmt.codec is Codec.ALAW:
        return g711.alaw_encode(pcm)
    return pcm.astype("<i2").tobytes()


class StreamResampler:
    """Streaming int16 resampler; a pass-through when the rates are equal."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self._stream = (
            None
            if in_rate_hz == out_rate_hz
            # MQ keeps the filter delay near 25 ms at 8 -> 16 kHz while staying band-limited.
            else soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, dtype="int16", quality="MQ")
        )

    def process(self, pcm: Pcm, last: bool = False) -> Pcm:
        if self._stream is None:
            return pcm
        out: Pcm = self._stream.resample_chunk(pcm, last=last)
        return out


def resample(pcm: Pcm, in_rate_hz: int, out_rate_hz: int) -> Pcm:
    """One-shot resampling of a whole buffer."""
    if in_rate_hz == out_rate_hz:
        return pcm
    out: Pcm = soxr.resample(pcm, in_rate_hz, out_rate_hz, quality="HQ")
    return out


class Upsampler2x:
    """Streaming 2x upsampler (8 -> 16 kHz) with a windowed-sinc low-pass.

    soxr's streaming mode hands out 8 kHz telephone audio in ~108 ms bursts, late;
    this FIR gives exactly two samples per input sample, frame by frame, 2 ms late,
    with the spectral images above 4 kHz attenuated by some 70 dB (Blackman window).
    """

    TAPS = 63

    def __init__(self) -> None:
        n = np.arange(self.TAPS) - (self.TAPS - 1) / 2
        # Cut-off at the input Nyquist (a quarter of the output rate); gain 2 restores the
        # level lost to zero insertion.
        kernel = 0.5 * np.sinc(0.5 * n) * np.blackman(self.TAPS)
        self._kernel = kernel * (2.0 / kernel.sum())
        self._history = np.zeros(self.TAPS - 1)

    def process(self, pcm: Pcm) -> Pcm:
        stuffed = np.zeros(pcm.size * 2)
        stuffed[::2] = pcm
        data = np.concatenate([self._history, stuffed])
        self._history = data[-(self.TAPS - 1) :]
        out = np.convolve(data, self._kernel, mode="valid")
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class InboundConverter:
    """Caller audio: wire bytes to 16 kHz int16 PCM."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt
        self._resampler: StreamResampler | Upsampler2x = (
            Upsampler2x()
            if fmt.sample_rate_hz * 2 == PIPELINE_RATE_HZ
            else StreamResampler(fmt.sample_rate_hz, PIPELINE_RATE_HZ)
        )

    def convert(self, payload: bytes) -> Pcm:
        return self._resampler.process(decode(self.format, payload))


class OutboundConverter:
    """Bot audio: int16 PCM at a source rate (the voice's) to wire bytes.

    Bot audio arrives in whole synthesized chunks (a sentence or so, ending on
    silence), so each chunk is resampled on its own: no filter delay is left
    hanging at the end of a prompt and a flush needs no reset.
    """

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt

    def convert(self, pcm: Pcm, sample_rate_hz: int) -> bytes:
        return encode(self.format, resample(pcm, sample_rate_hz, self.format.sample_rate_hz))
