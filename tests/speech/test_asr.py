"""Real Whisper base on real recorded French speech."""

import asyncio
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from callbot.audio.convert import decode, encode, resample
from callbot.audio.formats import ULAW_8K
from callbot.errors import ModelError
from callbot.speech.asr import AsrBusy, WhisperAsr
from callbot.speech.settings import AsrSettings
from tests.conftest import speech_16k

pytestmark = pytest.mark.models


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if c.isalnum() or c == " ")


@pytest.fixture(scope="module")
def asr(models_dir: Path) -> WhisperAsr:
    engine = WhisperAsr.load(AsrSettings(model_dir=models_dir / "whisper-base", max_pending=2))
    yield engine
    engine.close()


async def test_recognises_real_french_telephone_speech(asr: WhisperAsr) -> None:
    speech = speech_16k("check-number-dial-again")  # "Veuillez vérifier le numéro..."
    # Through the telephone codec first, as a real call would be.
    line = decode(ULAW_8K, encode(ULAW_8K, resample(speech, 16000, 8000)))
    transcript = await asr.transcribe(resample(line, 8000, 16000))
    words = plain(transcript.text)
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
    assert "mot de passe" in plain(done[0].text) or "passe" in plain(done[0].text)


def test_missing_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="callbot models pull"):
        WhisperAsr.load(AsrSettings(model_dir=tmp_path))


async def test_silence_gives_no_text(asr: WhisperAsr) -> None:
    transcript = await asr.transcribe(np.zeros(16000, dtype=np.int16))
    assert transcript.text == "" or transcript.no_speech_prob > 0.5
