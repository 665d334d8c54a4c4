"""Real Whisper base on real recorded French speech, alone and in batches."""

import asyncio
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from callbot.audio.convert import decode, encode, resample
from callbot.audio.formats import ULAW_8K
from callbot.errors import ConfigError, ModelError
from callbot.speech.asr import LONG, AsrBusy, AsrTimeout, WhisperAsr, window_for
from callbot.speech.settings import AsrSettings
from tests.conftest import speech_16k

PROMPTS = ["check-number-dial-again", "agent-pass", "vm-password", "telephone-number"]
"""Four different real prompts, all under 4 s: one encoder window."""


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if c.isalnum() or c == " ")


def phone_line(speech: np.ndarray) -> np.ndarray:
    """Through the telephone codec first, as a real call would be."""
    return resample(decode(ULAW_8K, encode(ULAW_8K, resample(speech, 16000, 8000))), 8000, 16000)


@pytest.fixture(scope="module")
def asr(models_dir: Path) -> WhisperAsr:
    engine = WhisperAsr.load(AsrSettings(model_dir=models_dir / "whisper-base", max_pending=2))
    yield engine
    engine.close()


def test_the_window_is_the_smallest_size_that_leaves_a_second_after_the_speech() -> None:
    sizes = (5.0, 10.0, 20.0, 30.0)
    assert window_for(1.1, sizes) == 5.0
    assert window_for(4.0, sizes) == 5.0
    assert window_for(4.2, sizes) == 10.0
    assert window_for(19.5, sizes) == 30.0
    assert window_for(29.5, sizes) == LONG
    assert window_for(3.0, (10.0, 30.0)) == 10.0  # the former fixed 10 s window


def test_window_sizes_are_checked() -> None:
    with pytest.raises(ConfigError, match="windows_s"):
        AsrSettings(windows_s=(5.0, 45.0))
    with pytest.raises(ConfigError, match="max_batch"):
        AsrSettings(max_batch=0)


async def test_recognises_real_french_telephone_speech(asr: WhisperAsr) -> None:
    transcript = await asr.transcribe(phone_line(speech_16k("check-number-dial-again")))
    words = plain(transcript.text)  # "Veuillez vérifier le numéro..."
    assert "verifier" in words and "numero" in words, transcript.text
    assert transcript.language == "fr"
    assert transcript.decode_s > 0 and transcript.audio_s == pytest.approx(3.0, abs=0.3)


async def test_admission_control_refuses_when_too_many_wait(asr: WhisperAsr) -> None:
    speech = speech_16k("vm-password")
    jobs = [asyncio.create_task(asr.transcribe(speech)) for _ in range(4)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    refused = [r for r in results if isinstance(r, AsrBusy)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(refused) == 2 and len(done) == 2
    assert "passe" in plain(done[0].text)
    assert asr.pending == 0


def test_missing_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="callbot models pull"):
        WhisperAsr.load(AsrSettings(model_dir=tmp_path))


async def test_silence_gives_no_text(asr: WhisperAsr) -> None:
    transcript = await asr.transcribe(np.zeros(16000, dtype=np.int16))
    assert transcript.text == "" or transcript.no_speech_prob > 0.5


async def test_utterances_decoded_together_read_as_when_decoded_alone(models_dir: Path) -> None:
    # A gathering window far longer than the test: the batch leaves when it is full.
    settings = AsrSettings(
        model_dir=models_dir / "whisper-base", max_batch=4, batch_window_ms=60_000
    )
    batched = WhisperAsr.load(settings)
    try:
        speech = [phone_line(speech_16k(name)) for name in PROMPTS]
        started = time.monotonic()
        together = await asyncio.gather(*(batched.transcribe(pcm) for pcm in speech))
        wall_s = time.monotonic() - started
    finally:
        batched.close()
    alone_asr = WhisperAsr.load(AsrSettings(model_dir=settings.model_dir, batch_window_ms=0))
    try:
        alone = [await alone_asr.transcribe(pcm) for pcm in speech]
    finally:
        alone_asr.close()
    assert [t.batch_size for t in together] == [4, 4, 4, 4]
    assert [t.batch_size for t in alone] == [1, 1, 1, 1]
    assert [t.text for t in together] == [t.text for t in alone]
    assert len({t.text for t in together}) == 4 and all(t.text for t in together)
    assert [t.no_speech_prob for t in together] == pytest.approx(
        [t.no_speech_prob for t in alone], abs=1e-4
    )
    # Each caller's own timings, within the time it waited.
    assert all(t.decode_s > 0 and t.queued_s >= 0 for t in together)
    assert all(t.decode_s + t.queued_s <= wall_s + 0.01 for t in together)


async def test_an_early_decode_is_recognised_like_a_final_one(asr: WhisperAsr) -> None:
    speech = phone_line(speech_16k("agent-pass"))
    early = await asr.transcribe(speech, early=True)
    final = await asr.transcribe(speech)
    assert early.text == final.text and "passe" in plain(final.text)


async def test_a_recognition_that_takes_too_long_fails_and_leaves_no_trace(
    models_dir: Path,
) -> None:
    slow = WhisperAsr.load(AsrSettings(model_dir=models_dir / "whisper-base", timeout_s=0.001))
    try:
        with pytest.raises(AsrTimeout):
            await slow.transcribe(speech_16k("vm-password"))
        assert slow.pending == 0 and slow._batcher.waiting == 0
    finally:
        slow.close()
