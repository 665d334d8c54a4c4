"""Signal levels: loudness of frames and silence at the edges of a recording."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]


def dbfs(pcm: Pcm) -> float:
    """RMS level in dB relative to full scale (silence is about -90)."""
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if pcm.size else 0.0
    return float(20.0 * np.log10(max(rms, 1e-3) / 32768.0))


def trim_silence(pcm: Pcm, sample_rate_hz: int, floor_dbfs: float = -45.0) -> Pcm:
    """``pcm`` without the 20 ms frames quieter than ``floor_dbfs`` at either end.

    A recorded caller turn often carries a little silence after the last word; a
    latency measured from the end of the file would then start too late.
    """
    frame = sample_rate_hz // 50
    count = pcm.size // frame
    loud = [i for i in range(count) if dbfs(pcm[i * frame : (i + 1) * frame]) > floor_dbfs]
    if not loud:
        return pcm[:0]
    return pcm[loud[0] * frame : min(pcm.size, (loud[-1] + 1) * frame)]
