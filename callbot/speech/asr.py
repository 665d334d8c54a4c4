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
from pathlib import Path

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.errors import CallError, ModelError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AsrSettings:
    model_dir: Path = Path()
    """Directory of a CTranslate2 Whisper model (``callbot models pull`` fills it);
    empty: ``<models_dir>/whisper-base``."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto`` (CUDA when a GPU is visible to CTranslate2)."""
    compute_type: str | None = None
    """None picks ``int8`` on CPU and ``float16`` on CUDA."""
    language: str = "fr"
    beam_size: int = 1
    cpu_threads: int = 0
    """0 means one per core."""
    workers: int = 1
    """Decodes run at once. Keep 1 on CPU; 2-4 on a GPU."""
    max_pending: int = 8
    """Utterances allowed to wait for a worker before new ones are refused."""
    timeout_s: float = 15.0
    initial_prompt: str | None = None
    """Domain words that help recognition (e.g. "carte Vitale, ameli, RIB")."""


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
        segments, info = self._model.transcribe(  # type: ignore[attr-defined]
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
        no_speech = max((s.no_speech_prob for s in parts), default=1.0)
        return Transcript(
            text=text,
            language=info.language,
            audio_s=pcm.size / PIPELINE_RATE_HZ,
            decode_s=time.monotonic() - started,
            queued_s=started - submitted,
            no_speech_prob=no_speech,
        )

    def warm_up(self) -> None:
        """Run one decode so the first caller does not pay for lazy initialisation."""
        self._decode(np.zeros(PIPELINE_RATE_HZ // 2, dtype=np.int16), self.settings.language, 0.0)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
