"""Which voice speaks a dialplan: the shared synthesizers of a process.

Order of choice for a dialplan's language: the voice forced in settings, the
dialplan's own voice, any installed Piper voice of that language, and last
espeak-ng (with a loud warning at start-up) — never silence.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callbot.audio.convert import resample
from callbot.audio.wavfile import write_wav
from callbot.errors import ModelError
from callbot.speech.tts import (
    CachedSynthesizer,
    EspeakSynthesizer,
    PiperSynthesizer,
    SpeechChunk,
    Synthesizer,
)

if TYPE_CHECKING:
    from callbot.speech.settings import TtsSettings

logger = logging.getLogger(__name__)

ESPEAK_VOICES = {"fr": "fr", "en": "en-us", "de": "de", "es": "es", "it": "it"}


def normalise_language(language: str) -> str:
    """``fr-FR``, ``fr_FR`` and ``fr`` all become ``fr_FR``-style or bare ``fr``."""
    return language.replace("-", "_")


def installed_piper_voices(voices_dir: Path) -> dict[str, tuple[str, Path]]:
    """name -> (language code as ``fr_FR``, onnx path) for every installed voice."""
    found: dict[str, tuple[str, Path]] = {}
    if not voices_dir.is_dir():
        return found
    for onnx in sorted(voices_dir.glob("*/*.onnx")):
        config = Path(f"{onnx}.json")
        try:
            code = json.loads(config.read_text(encoding="utf-8"))["language"]["code"]
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("voice %s has no readable %s: skipped", onnx.stem, config.name)
            continue
        found[onnx.stem] = (str(code), onnx)
    return found


class VoiceLibrary:
    """Builds each synthesizer once and hands the same one to every call."""

    def __init__(self, settings: TtsSettings, voices_dir: Path) -> None:
        self._settings = settings
        self._voices_dir = voices_dir
        self._by_key: dict[tuple[str, str | None], Synthesizer] = {}
        self._by_engine: dict[str, Synthesizer] = {}

    def synthesizer(self, language: str, voice: str | None) -> Synthesizer:
        key = (normalise_language(language), voice)
        found = self._by_key.get(key)
        if found is None:
            found = self._choose(*key)
            self._by_key[key] = found
        return found

    def _choose(self, language: str, voice: str | None) -> Synthesizer:
        installed = installed_piper_voices(self._voices_dir)
        wanted = self._settings.voice or voice
        if self._settings.voice and self._settings.voice not in installed:
            raise ModelError(
                f"voice {self._settings.voice} is not installed in {self._voices_dir}: "
                f"run `callbot voices pull {self._settings.voice}`"
            )
        if wanted in installed:
            return self._piper(wanted, installed[wanted][1])
        bare = language.split("_")[0].lower()
        same_language = [
            name for name, (code, _) in installed.items() if normalise_language(code) == language
        ] or [name for name, (code, _) in installed.items() if code.split("_")[0].lower() == bare]
        if same_language:
            if wanted:
                logger.warning("voice %s is not installed; using %s", wanted, same_language[0])
            return self._piper(same_language[0], installed[same_language[0]][1])
        if not self._settings.espeak_fallback:
            raise ModelError(f"no voice installed for {language} and espeak fallback is off")
        logger.warning(
            "NO NEURAL VOICE for %s in %s: speaking with espeak-ng (robotic). "
            "Install one with `callbot voices pull %s`.",
            language,
            self._voices_dir,
            wanted or "<name>",
        )
        espeak_voice = ESPEAK_VOICES.get(bare, bare)
        return self._cached(f"espeak:{espeak_voice}", lambda: EspeakSynthesizer(espeak_voice))

    def _piper(self, name: str, onnx: Path) -> Synthesizer:
        return self._cached(
            f"piper:{name}", lambda: PiperSynthesizer.load(onnx, use_cuda=self._settings.use_cuda)
        )

    def _cached(self, key: str, build: object) -> Synthesizer:
        engine = self._by_engine.get(key)
        if engine is None:
            engine = CachedSynthesizer(build(), self._settings.cache_entries)  # type: ignore[operator]
            self._by_engine[key] = engine
            logger.info("voice ready: %s", engine.name)
        return engine

    def prepare(self, language: str, voice: str | None, prompts: Iterable[str]) -> Synthesizer:
        """Load the voice and synthesize fixed prompts now (blocking; not on the event loop)."""
        synthesizer = self.synthesizer(language, voice)

        async def render() -> None:
            for text in prompts:
                async for _ in synthesizer.stream(text):
                    pass

        asyncio.run(render())
        return synthesizer

    def render_wav(self, text: str, language: str, path: Path, sample_rate_hz: int = 8000) -> None:
        """Say ``text`` into a mono 16-bit WAV file (blocking: e.g. the summary an agent
        hears before taking a call, played by Asterisk from its sounds directory)."""
        synthesizer = self.synthesizer(language, None)

        async def render() -> list[SpeechChunk]:
            return [chunk async for chunk in synthesizer.stream(text)]

        chunks = asyncio.run(render())
        pcm = np.concatenate(
            [resample(c.pcm, c.sample_rate_hz, sample_rate_hz) for c in chunks]
            or [np.zeros(0, np.int16)]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, pcm, sample_rate_hz)
