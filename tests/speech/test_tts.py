"""Real Piper and espeak-ng synthesis, and the prompt cache."""

from pathlib import Path

import numpy as np
import pytest

from callbot.errors import ModelError
from callbot.speech.settings import TtsSettings
from callbot.speech.tts import CachedSynthesizer, EspeakSynthesizer, PiperSynthesizer, SpeechChunk
from callbot.speech.voices import VoiceLibrary


async def collect(synth, text: str) -> list[SpeechChunk]:
    return [chunk async for chunk in synth.stream(text)]


def seconds(chunks: list[SpeechChunk]) -> float:
    return sum(c.pcm.size / c.sample_rate_hz for c in chunks)


@pytest.mark.models
async def test_piper_speaks_english_one_chunk_per_sentence(models_dir: Path) -> None:
    library = VoiceLibrary(TtsSettings(), models_dir / "voices")
    synth = library.synthesizer("en-US", None)
    assert synth.name == "piper:en_US-joe-medium"
    chunks = await collect(synth, "Hello. Your password has been reset.")
    assert len(chunks) == 2
    assert chunks[0].sample_rate_hz == 22050
    assert 1.0 < seconds(chunks) < 6.0
    assert np.abs(chunks[1].pcm).max() > 1000


async def test_french_without_a_neural_voice_falls_back_to_espeak(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = VoiceLibrary(TtsSettings(), tmp_path)
    synth = library.synthesizer("fr-FR", "fr_FR-siwis-medium")
    assert synth.name == "espeak-ng:fr"
    assert "NO NEURAL VOICE" in caplog.text
    chunks = await collect(synth, "Bonjour, que puis-je faire pour vous ?")
    assert 1.0 < seconds(chunks) < 5.0
    # The same library hands every call the same engine.
    assert library.synthesizer("fr-FR", "fr_FR-siwis-medium") is synth


async def test_forced_voice_that_is_missing_is_an_error(tmp_path: Path) -> None:
    library = VoiceLibrary(TtsSettings(voice="fr_FR-tom-medium"), tmp_path)
    with pytest.raises(ModelError, match="voices pull fr_FR-tom-medium"):
        library.synthesizer("fr-FR", None)


async def test_cache_serves_repeated_prompts_without_synthesis() -> None:
    cached = CachedSynthesizer(EspeakSynthesizer("fr"), max_entries=1)
    first = await collect(cached, "Au revoir.")
    second = await collect(cached, "Au revoir.")
    assert cached.hits == 1 and cached.misses == 1
    assert first[0].pcm is second[0].pcm
    await collect(cached, "Bonjour.")  # evicts "Au revoir."
    await collect(cached, "Au revoir.")
    assert cached.misses == 3


async def test_espeak_text_is_never_read_as_options() -> None:
    chunks = await collect(EspeakSynthesizer("fr"), "--help")
    assert seconds(chunks) > 0.2


@pytest.mark.models
async def test_piper_asked_for_the_gpu_without_one_speaks_from_the_cpu(
    models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    onnx = models_dir / "voices" / "en_US-joe-medium" / "en_US-joe-medium.onnx"
    synth = PiperSynthesizer.load(onnx, use_cuda=True)
    assert synth.device == "cpu"  # no CUDA provider in this onnxruntime
    assert "runs on the CPU" in caplog.text
    assert seconds(await collect(synth, "Hello.")) > 0.3
