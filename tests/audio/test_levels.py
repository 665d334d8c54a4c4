"""Levels and edge-silence trimming on a real recording."""

import numpy as np

from callbot.audio.levels import dbfs, trim_silence
from tests.conftest import speech_16k


def test_dbfs_of_full_scale_and_silence() -> None:
    assert dbfs(np.full(320, 32767, np.int16)) > -0.01
    assert dbfs(np.zeros(320, np.int16)) < -80


def test_trim_silence_keeps_the_words_only() -> None:
    speech = speech_16k("vm-goodbye")
    padded = np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(8000, np.int16)])
    trimmed = trim_silence(padded, 16000)
    assert speech.size - 3200 <= trimmed.size <= speech.size
    assert dbfs(trimmed[-320:]) > -45 and dbfs(trimmed[:320]) > -45
    assert trim_silence(np.zeros(16000, np.int16), 16000).size == 0
