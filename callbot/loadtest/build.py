"""Regenerates the corpus WAVs from the manifest's ``make`` recipes, deterministically.

Sources, in order of preference: real recordings (Debian's Asterisk sound files), digit
strings assembled from the real digit recordings, and espeak-ng where no recording
fits. Everything is resampled to the manifest's rate, noise is added with a seed
derived from the call id, and files are written as μ-law WAV: the same inputs give
the same bytes.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from callbot.audio.convert import resample
from callbot.audio.wavfile import Pcm, read_wav, ulaw_wav_bytes
from callbot.errors import ConfigError
from callbot.loadtest.corpus import CallSpec, Corpus, Make

logger = logging.getLogger(__name__)

SOUNDS_DIR = Path("/usr/share/asterisk/sounds")
DIGITS_DIR = "fr_CA_f_June/digits"
WORD_GAP_S = 0.08
"""Pause between joined recordings (digits of a group, prompts)."""
GROUP_GAP_S = 0.35
"""Pause between digit groups, as people say phone numbers."""
EDGE_SILENCE_S = 0.2


def build_corpus(corpus: Corpus, sounds_dir: Path = SOUNDS_DIR, *, force: bool = False) -> int:
    """Write every missing turn WAV (all of them with ``force``); returns how many."""
    todo = (
        [(c, i) for c in corpus.calls for i, t in enumerate(c.turns) if t.kind == "speech"]
        if force
        else corpus.missing_audio()
    )
    for call, index in todo:
        target = corpus.audio_path(call, index)
        turn = call.turns[index]
        if turn.make is None:
            raise ConfigError(f"{target}: missing, and call {call.id} turn {index + 1} has no make")
        rate = corpus.manifest.sample_rate_hz
        pcm = render(turn.make, turn.text, rate, sounds_dir)
        if call.noise_snr_db is not None:
            pcm = add_noise(pcm, call.noise_snr_db, seed=_seed(call, index))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(ulaw_wav_bytes(pcm, rate))
    if todo:
        logger.info("corpus %s: %d WAV files written", corpus.path, len(todo))
    return len(todo)


def render(make: Make, text: str | None, rate_hz: int, sounds_dir: Path = SOUNDS_DIR) -> Pcm:
    """The speech ``make`` describes, at ``rate_hz``, with a short silence before it."""
    if make.tts is not None:
        assert text is not None  # checked by the manifest model
        parts = [espeak(text, make.tts, make.speed_wpm, rate_hz)]
    elif make.digits is not None:
        parts = _digit_groups(make.digits, rate_hz, sounds_dir)
    else:
        parts = [_recording(sounds_dir, name, rate_hz) for name in make.recordings]
    joined = [_silence(EDGE_SILENCE_S, rate_hz)]
    for number, part in enumerate(parts):
        joined += [_silence(WORD_GAP_S, rate_hz), part] if number else [part]
    # No trailing silence: the file ends where the speech ends, which is what
    # voice-to-voice latency is measured from.
    return np.concatenate(joined).astype(np.int16)


def espeak(text: str, voice: str, speed_wpm: int, rate_hz: int) -> Pcm:
    """``text`` spoken by espeak-ng (deterministic for a given espeak-ng version)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tts.wav"
        try:
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(out), text],
                check=True,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(f"espeak-ng failed for {text!r}: {exc}") from exc
        pcm, rate = read_wav(out)
    return resample(pcm, rate, rate_hz)


def _recording(sounds_dir: Path, name: str, rate_hz: int) -> Pcm:
    path = sounds_dir / f"{name}.wav"
    if not path.is_file():
        raise ConfigError(f"{path}: recording missing (install asterisk-core-sounds-fr/-en)")
    pcm, rate = read_wav(path)
    return resample(pcm, rate, rate_hz)


def digit_words(group: str) -> list[str]:
    """Recording names for one group: ``"7"`` -> 7; ``"06"`` -> 0, 6; ``"34"`` -> 30, 4."""
    if len(group) != 2:
        return list(group)
    value = int(group)
    if group[0] == "0" or value <= 20 or value % 10 == 0:
        return list(group) if group[0] == "0" else [str(value)]
    tens, units = value // 10 * 10, value % 10
    if tens in (70, 90):  # soixante-douze, quatre-vingt-treize
        return [str(tens - 10), str(10 + units)]
    return [str(tens), "et", "1"] if units == 1 and tens < 70 else [str(tens), str(units)]


def _digit_groups(digits: str, rate_hz: int, sounds_dir: Path) -> list[Pcm]:
    parts: list[Pcm] = []
    for number, group in enumerate(digits.split()):
        if number:
            parts.append(_silence(GROUP_GAP_S - WORD_GAP_S, rate_hz))
        for word in digit_words(group):
            parts.append(_recording(sounds_dir, f"{DIGITS_DIR}/{word}", rate_hz))
    return parts


def add_noise(pcm: Pcm, snr_db: float, *, seed: int) -> Pcm:
    """White noise at ``snr_db`` below the speech power (loud samples only)."""
    signal = pcm.astype(np.float64)
    loud = signal[np.abs(signal) > 0.05 * (np.abs(signal).max() or 1.0)]
    power = float(np.mean(loud**2)) if loud.size else 1.0
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), size=signal.size)
    return np.clip(np.rint(signal + noise), -32768, 32767).astype(np.int16)


def _seed(call: CallSpec, index: int) -> int:
    return zlib.crc32(f"{call.id}/{index}".encode())


def _silence(seconds: float, rate_hz: int) -> Pcm:
    return np.zeros(int(seconds * rate_hz), dtype=np.int16)
