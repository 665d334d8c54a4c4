"""Speech synthesis: Piper neural voices, with espeak-ng as the never-silent fallback.

A :class:`Synthesizer` turns text into audio chunks (one per sentence) so the first
sentence can play while the next is synthesized. Engines are loaded once per
process and shared by every call; inference runs off the event loop.

Prompts repeat (greetings, re-prompts, goodbyes), so :class:`CachedSynthesizer`
keeps the audio of recent texts: a cached prompt costs no CPU at all.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from callbot.errors import ModelError

logger = logging.getLogger(__name__)

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class SpeechChunk:
    pcm: Pcm
    sample_rate_hz: int


class Synthesizer(Protocol):
    name: str
    """Engine and voice, e.g. ``piper:en_US-joe-medium`` or ``espeak-ng:fr``."""

    def stream(self, text: str) -> AsyncIterator[SpeechChunk]:
        """Audio for ``text``, one chunk per sentence."""
        ...


class PiperSynthesizer:
    """A Piper ONNX voice (``<name>.onnx`` with ``<name>.onnx.json`` beside it)."""

    def __init__(
        self, voice: object, name: str, executor: ThreadPoolExecutor, device: str = "cpu"
    ) -> None:
        self._voice = voice
        self.name = f"piper:{name}"
        self._executor = executor
        self.device = device
        """Where the voice runs: ``cuda`` or ``cpu``."""

    @classmethod
    def load(cls, onnx_path: Path, *, use_cuda: bool = False) -> PiperSynthesizer:
        """Load a voice; ``use_cuda`` runs it on a GPU when onnxruntime can (else on the
        CPU, with a warning: a bot that speaks slowly beats one that does not start)."""
        if not onnx_path.is_file() or not Path(f"{onnx_path}.json").is_file():
            raise ModelError(f"Piper voice {onnx_path} (and its .onnx.json) not found")
        from piper import PiperVoice

        voice = None
        if use_cuda and _onnx_cuda_available():
            try:
                voice = PiperVoice.load(onnx_path, use_cuda=True)
            except Exception as exc:  # a CUDA provider that cannot start (no GPU, driver)
                logger.warning(
                    "Piper on the GPU failed (%s): running %s on the CPU", exc, onnx_path.stem
                )
        if voice is None:
            voice = PiperVoice.load(onnx_path, use_cuda=False)
        device = "cuda" if "CUDAExecutionProvider" in voice.session.get_providers() else "cpu"
        if use_cuda and device == "cpu":
            import onnxruntime

            logger.warning(
                "tts.use_cuda: Piper voice %s runs on the CPU (onnxruntime providers: %s; "
                "a GPU needs onnxruntime-gpu and a visible CUDA device)",
                onnx_path.stem,
                ", ".join(onnxruntime.get_available_providers()),
            )
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="piper")
        return cls(voice, onnx_path.stem, executor, device)

    async def stream(self, text: str) -> AsyncIterator[SpeechChunk]:
        loop = asyncio.get_running_loop()
        chunks = iter(self._voice.synthesize(text))  # type: ignore[attr-defined]
        done = object()
        while True:
            # Each next() synthesizes one sentence: keep it off the event loop.
            chunk = await loop.run_in_executor(self._executor, next, chunks, done)
            if chunk is done:
                return
            yield SpeechChunk(chunk.audio_int16_array, chunk.sample_rate)  # type: ignore[attr-defined]


def _onnx_cuda_available() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


class EspeakSynthesizer:
    """Debian's espeak-ng: robotic but instant, and it speaks French."""

    SAMPLE_RATE_HZ = 22_050

    def __init__(self, voice: str, words_per_minute: int = 165, binary: str = "espeak-ng"):
        path = shutil.which(binary)
        if path is None:
            raise ModelError(f"{binary} not found: install Debian's espeak-ng package")
        self._binary = path
        self._voice = voice
        self._wpm = words_per_minute
        self.name = f"espeak-ng:{voice}"

    async def stream(self, text: str) -> AsyncIterator[SpeechChunk]:
        process = await asyncio.create_subprocess_exec(
            self._binary,
            "-v",
            self._voice,
            "-s",
            str(self._wpm),
            "--stdout",
            "--",  # text after this is never read as an option
            text,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        wav, err = await process.communicate()
        if process.returncode != 0:
            raise ModelError(f"espeak-ng failed: {err.decode(errors='replace').strip()}")
        yield SpeechChunk(_wav_payload(wav), self.SAMPLE_RATE_HZ)


def _wav_payload(wav: bytes) -> Pcm:
    """The samples of espeak-ng's streamed WAV (its size fields may be left unset)."""
    position = wav.find(b"data")
    if position < 0:
        raise ModelError("espeak-ng produced no WAV data")
    payload = wav[position + 8 :]
    payload = payload[: len(payload) - len(payload) % 2]
    return np.frombuffer(payload, dtype="<i2").astype(np.int16)


class CachedSynthesizer:
    """Keeps the audio of the most recent texts (least recently used goes first)."""

    def __init__(self, inner: Synthesizer, max_entries: int = 256) -> None:
        self._inner = inner
        self._max_entries = max_entries
        self._cache: OrderedDict[str, list[SpeechChunk]] = OrderedDict()
        self.name = inner.name
        self.hits = 0
        self.misses = 0

    async def stream(self, text: str) -> AsyncIterator[SpeechChunk]:
        cached = self._cache.get(text)
        if cached is not None:
            self.hits += 1
            self._cache.move_to_end(text)
            for chunk in cached:
                yield chunk
            return
        self.misses += 1
        chunks: list[SpeechChunk] = []
        async for chunk in self._inner.stream(text):
            chunks.append(chunk)
            yield chunk
        if self._max_entries > 0:
            self._cache[text] = chunks
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
