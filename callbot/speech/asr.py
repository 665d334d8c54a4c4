"""Speech recognition with faster-whisper: one model per process, shared by all calls.

Whisper always encodes a padded 30 s window, so a decode costs about the same
whatever the utterance length, and two decodes at once on a small CPU slow each
other down several times. Calls therefore share one model behind a small worker
pool (one worker on CPU) with admission control: when too many utterances are
already waiting, :class:`AsrBusy` is raised at once rather than letting every
caller wait longer and longer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.errors import CallError, ModelError
from callbot.speech.settings import AsrSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    audio_s: float
    """Length of the utterance (seconds)."""
    decode_s: float
    """Wall time spent decoding, queueing excluded (seconds)."""
    queued_s: float
    """Wall time spent waiting for a worker (seconds)."""
    no_speech_prob: float


FULL_WINDOW_S = 30.0


def _window_for(audio_s: float, window_s: float) -> float:
    """The encoder window for an utterance: at least 1 s of room after the speech."""
    if window_s >= FULL_WINDOW_S:
        return FULL_WINDOW_S
    needed = float(np.ceil(audio_s + 1.0))
    return FULL_WINDOW_S if needed >= FULL_WINDOW_S else max(window_s, needed)


class AsrBusy(CallError):
    """Too many utterances are waiting for recognition."""


class AsrTimeout(CallError):
    """Recognition did not finish in time."""


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # pragma: no cover - a broken CUDA install must not stop the bot
        return "cpu"


class WhisperAsr:
    """The process-wide recogniser. Build once at start-up with :meth:`load`."""

    def __init__(self, settings: AsrSettings, model: object, device: str, compute_type: str):
        self.settings = settings
        self.device = device
        self.compute_type = compute_type
        self._model = model
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="whisper"
        )
        self._pending = 0

    @classmethod
    def load(cls, settings: AsrSettings) -> WhisperAsr:
        """Load the model (blocking: call before serving, or in a thread)."""
        if not (settings.model_dir / "model.bin").is_file():
            raise ModelError(f"no Whisper model in {settings.model_dir}: run `callbot models pull`")
        from faster_whisper import WhisperModel

        device = resolve_device(settings.device)
        compute_type = settings.compute_type or ("float16" if device == "cuda" else "int8")
        threads = settings.cpu_threads or (os.cpu_count() or 1)
        started = time.monotonic()
        model = WhisperModel(
            str(settings.model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=settings.workers,
            local_files_only=True,
        )
        logger.info(
            "whisper loaded from %s on %s/%s in %.2f s",
            settings.model_dir,
            device,
            compute_type,
            time.monotonic() - started,
        )
        return cls(settings, model, device, compute_type)

    @property
    def pending(self) -> int:
        return self._pending

    async def transcribe(
        self, pcm: npt.NDArray[np.int16], language: str | None = None
    ) -> Transcript:
        """Recognise one utterance of 16 kHz int16 audio, off the event loop."""
        if self._pending >= self.settings.max_pending:
            raise AsrBusy(f"{self._pending} utterances already waiting for recognition")
        self._pending += 1
        submitted = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(
                self._executor, self._decode, pcm, language or self.settings.language, submitted
            )
            return await asyncio.wait_for(future, self.settings.timeout_s)
        except TimeoutError as exc:
            raise AsrTimeout(f"recognition took over {self.settings.timeout_s} s") from exc
        finally:
            self._pending -= 1

    def _decode(self, pcm: npt.NDArray[np.int16], language: str, submitted: float) -> Transcript:
        started = time.monotonic()
        audio = pcm.astype(np.float32) / 32768.0
        window_s = _window_for(audio.size / PIPELINE_RATE_HZ, self.settings.window_s)
        if window_s < FULL_WINDOW_S:
            text, no_speech = self._decode_window(audio, language, window_s)
        else:
            text, no_speech = self._decode_stock(audio, language)
        return Transcript(
            text=text,
            language=language,
            audio_s=pcm.size / PIPELINE_RATE_HZ,
            decode_s=time.monotonic() - started,
            queued_s=started - submitted,
            no_speech_prob=no_speech,
        )

    def _decode_window(
        self, audio: npt.NDArray[np.float32], language: str, window_s: float
    ) -> tuple[str, float]:
        """One greedy/beam decode over a window shorter than Whisper's 30 s."""
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        samples = int(window_s * PIPELINE_RATE_HZ)
        # Pad the audio, not the features: the padding then looks like silence, as in training.
        padded = np.pad(audio, (0, max(0, samples - audio.size)))
        features = model.feature_extractor(padded)[:, : int(window_s * 100)]  # type: ignore[attr-defined]
        tokenizer = Tokenizer(
            model.hf_tokenizer,  # type: ignore[attr-defined]
            model.model.is_multilingual,  # type: ignore[attr-defined]
            task="transcribe",
            language=language,
        )
        previous = (
            tokenizer.encode(" " + self.settings.initial_prompt.strip())
            if (self.settings.initial_prompt)
            else []
        )
        prompt = model.get_prompt(tokenizer, previous, without_timestamps=True)  # type: ignore[attr-defined]
        result = model.model.generate(  # type: ignore[attr-defined]
            model.encode(features),  # type: ignore[attr-defined]
            [prompt],
            beam_size=self.settings.beam_size,
            max_length=min(448, 32 + int(10 * audio.size / PIPELINE_RATE_HZ)),
            return_no_speech_prob=True,
        )[0]
        text = tokenizer.decode(result.sequences_ids[0]).strip()
        return text, float(result.no_speech_prob)

    def _decode_stock(self, audio: npt.NDArray[np.float32], language: str) -> tuple[str, float]:
        segments, _info = self._model.transcribe(  # type: ignore[attr-defined]
            audio,
            language=language,
            beam_size=self.settings.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            initial_prompt=self.settings.initial_prompt,
        )
        parts = list(segments)
        text = " ".join(s.text.strip() for s in parts).strip()
        return text, max((s.no_speech_prob for s in parts), default=1.0)

    def warm_up(self) -> None:
        """Run one decode so the first caller does not pay for lazy initialisation."""
        self._decode(np.zeros(PIPELINE_RATE_HZ // 2, dtype=np.int16), self.settings.language, 0.0)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
