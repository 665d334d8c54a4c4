"""Speech recognition with faster-whisper: one model per process, shared by all calls.

Whisper pads every input to a 30 s window, so a 2 s telephone turn would cost as much
as a 30 s one. Here the encoder window follows the utterance: the smallest of a few
sizes (``asr.windows_s``) that leaves a second of silence after the speech. Utterances
of different calls that wait at the same time with the same window are decoded in one
CTranslate2 batch (:mod:`callbot.speech.batching`), final turns before speculative
ones. Admission control: when too many utterances are already waiting,
:class:`AsrBusy` is raised at once rather than letting every caller wait longer and
longer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.errors import CallError, ModelError
from callbot.speech.batching import Batcher, Priority
from callbot.speech.bias import Vocabulary
from callbot.speech.settings import AsrSettings

logger = logging.getLogger(__name__)

FULL_WINDOW_S = 30.0
"""Whisper's own window: the longest the encoder accepts."""
ROOM_AFTER_SPEECH_S = 1.0
"""Silence left in the window after the utterance (Whisper saw speech end in training)."""
LONG = math.inf
"""The group of utterances too long for one window: decoded as stock faster-whisper
does, 30 s at a time, one by one."""
FRAMES_PER_S = 100
"""Mel frames per second of audio (10 ms hop)."""
WHISPER_MAX_TOKENS = 448
"""Whisper's text context: prompt and transcript together."""


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    audio_s: float
    """Length of the utterance (seconds)."""
    decode_s: float
    """Wall time spent on it: features, then its batch's decode (seconds)."""
    queued_s: float
    """Wall time spent waiting: for a feature thread, for its batch (seconds)."""
    no_speech_prob: float
    batch_size: int = 1
    """Utterances decoded in the same batch, this one included."""


@dataclass(frozen=True, slots=True)
class _Job:
    """An utterance ready for the decoder."""

    audio: npt.NDArray[np.float32]
    features: npt.NDArray[np.float32] | None
    """Mel features of the padded window; None for a :data:`LONG` utterance."""
    window_s: float
    language: str
    features_s: float


def window_for(audio_s: float, windows_s: tuple[float, ...]) -> float:
    """The smallest window leaving :data:`ROOM_AFTER_SPEECH_S` after the speech;
    :data:`LONG` when none does."""
    needed = audio_s + ROOM_AFTER_SPEECH_S
    return min((w for w in windows_s if w >= needed), default=LONG)


def max_length(window_s: float, prompt_tokens: int = 0) -> int:
    """Generation limit, from the window so that a batch shares it: it stops a
    hallucination loop without cutting real speech (about 3 words a second). CTranslate2
    counts the prompt in it, so a prompt's tokens (``asr.bias``, ``asr.initial_prompt``)
    come on top: without them, a long bias cut the transcript short."""
    return min(WHISPER_MAX_TOKENS, prompt_tokens + 32 + int(10 * window_s))


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
        self._tokenizers: dict[str, object] = {}
        # Mel features cost tens of ms of numpy per utterance: computed beside the
        # decoder, in parallel, so a large GPU batch does not wait for them one by one.
        self._features = ThreadPoolExecutor(
            max_workers=max(1, (os.cpu_count() or 1) // 2), thread_name_prefix="whisper-mel"
        )
        self._batcher: Batcher[_Job, tuple[str, float]] = Batcher(
            self._decode_batch,
            gather_s=settings.batch_window_ms / 1000,
            max_batch=settings.max_batch,
            workers=settings.workers,
            name="whisper",
        )
        self._pending = 0
        self._vocabulary: Vocabulary | None = None

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
            "whisper loaded from %s on %s/%s in %.2f s (batches of up to %d, %d worker(s))",
            settings.model_dir,
            device,
            compute_type,
            time.monotonic() - started,
            settings.max_batch,
            settings.workers,
        )
        return cls(settings, model, device, compute_type)

    def use_vocabulary(self, vocabulary: Vocabulary | None) -> None:
        """The dialplan's words to bias recognition toward (``asr.bias``), from now on;
        set again when the dialplan is reloaded."""
        self._vocabulary = vocabulary

    def bias(self, language: str) -> tuple[str | None, str | None]:
        """``(initial_prompt, hotwords)`` for an utterance in ``language``: the
        configured ``asr.initial_prompt``, with the vocabulary's text in the place
        ``asr.bias`` names."""
        initial, mode = self.settings.initial_prompt, self.settings.bias
        vocabulary = self._vocabulary
        if vocabulary is None or vocabulary.language != language or mode == "off":
            return initial, None
        text = vocabulary.text(mode, self.settings.bias_max_chars) or None
        if mode == "hotwords":
            return initial, text
        return " ".join(t.strip() for t in (initial, text) if t) or None, None

    @property
    def pending(self) -> int:
        """Utterances being recognised or waiting to be."""
        return self._pending

    @property
    def accepts_early(self) -> bool:
        """Whether a speculative decode is worth starting now. On a CPU a batch costs
        about the sum of its utterances, so only when nobody waits; on a GPU, while one
        batch has room for it."""
        return self._pending < (1 if self.device == "cpu" else self.settings.max_batch)

    async def transcribe(
        self, pcm: npt.NDArray[np.int16], language: str | None = None, *, early: bool = False
    ) -> Transcript:
        """Recognise one utterance of 16 kHz int16 audio, off the event loop.

        ``early``: a speculative decode (the caller paused), served after final ones."""
        if self._pending >= self.settings.max_pending:
            raise AsrBusy(f"{self._pending} utterances already waiting for recognition")
        self._pending += 1
        language = language or self.settings.language
        submitted = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                self._batcher.announce()  # a batch may wait for it while its features compute
                try:
                    job = await loop.run_in_executor(self._features, self._prepare, pcm, language)
                except BaseException:
                    self._batcher.retract()
                    raise
                priority = Priority.EARLY if early else Priority.FINAL
                future = self._batcher.submit(
                    job, group=job.window_s, priority=priority, announced=True
                )
                decoded = await asyncio.wrap_future(future)
        except TimeoutError as exc:
            raise AsrTimeout(f"recognition took over {self.settings.timeout_s} s") from exc
        finally:
            self._pending -= 1
        text, no_speech = decoded.result
        decode_s = job.features_s + decoded.batch_s
        return Transcript(
            text=text,
            language=language,
            audio_s=pcm.size / PIPELINE_RATE_HZ,
            decode_s=decode_s,
            queued_s=max(0.0, time.monotonic() - submitted - decode_s),
            no_speech_prob=no_speech,
            batch_size=decoded.batch_size,
        )

    def _prepare(self, pcm: npt.NDArray[np.int16], language: str) -> _Job:
        """The utterance's window and mel features (a feature thread)."""
        started = time.monotonic()
        audio = pcm.astype(np.float32) / 32768.0
        window_s = window_for(audio.size / PIPELINE_RATE_HZ, self.settings.windows_s)
        features = None
        if window_s != LONG:
            samples = int(window_s * PIPELINE_RATE_HZ)
            # Pad the audio, not the features: the padding then looks like silence, as in training.
            padded = np.pad(audio, (0, max(0, samples - audio.size)))
            extractor = self._model.feature_extractor  # type: ignore[attr-defined]
            features = extractor(padded)[:, : int(window_s * FRAMES_PER_S)]
        return _Job(audio, features, window_s, language, time.monotonic() - started)

    def _decode_batch(self, window_s: float, jobs: list[_Job]) -> list[tuple[str, float]]:
        """One encode and one generate for every job of a window (a batcher thread)."""
        if window_s == LONG:
            return [self._decode_stock(job) for job in jobs]
        model = self._model
        features = np.stack([job.features for job in jobs])  # type: ignore[misc]
        tokenizers = [self._tokenizer(job.language) for job in jobs]
        prompts = [self._prompt(t, job.language) for t, job in zip(tokenizers, jobs, strict=True)]
        results = model.model.generate(  # type: ignore[attr-defined]
            model.encode(features),  # type: ignore[attr-defined]
            prompts,
            beam_size=self.settings.beam_size,
            max_length=max_length(window_s, max(len(prompt) for prompt in prompts)),
            return_no_speech_prob=True,
        )
        return [
            (tokenizer.decode(result.sequences_ids[0]).strip(), float(result.no_speech_prob))  # type: ignore[attr-defined]
            for tokenizer, result in zip(tokenizers, results, strict=True)
        ]

    def _tokenizer(self, language: str) -> object:
        tokenizer = self._tokenizers.get(language)
        if tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer

            tokenizer = Tokenizer(
                self._model.hf_tokenizer,  # type: ignore[attr-defined]
                self._model.model.is_multilingual,  # type: ignore[attr-defined]
                task="transcribe",
                language=language,
            )
            self._tokenizers[language] = tokenizer
        return tokenizer

    def _prompt(self, tokenizer: object, language: str) -> list[int]:
        initial, hotwords = self.bias(language)
        previous = tokenizer.encode(" " + initial.strip()) if initial else []  # type: ignore[attr-defined]
        return self._model.get_prompt(  # type: ignore[attr-defined, no-any-return]
            tokenizer, previous, without_timestamps=True, hotwords=hotwords
        )

    def _decode_stock(self, job: _Job) -> tuple[str, float]:
        initial, hotwords = self.bias(job.language)
        segments, _info = self._model.transcribe(  # type: ignore[attr-defined]
            job.audio,
            language=job.language,
            beam_size=self.settings.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            initial_prompt=initial,
            hotwords=hotwords,
        )
        parts = list(segments)
        text = " ".join(s.text.strip() for s in parts).strip()
        return text, max((s.no_speech_prob for s in parts), default=1.0)

    def warm_up(self) -> None:
        """Run one decode so the first caller does not pay for lazy initialisation."""
        silence = np.zeros(PIPELINE_RATE_HZ // 2, dtype=np.int16)
        job = self._prepare(silence, self.settings.language)
        self._decode_batch(job.window_s, [job])

    def close(self) -> None:
        self._batcher.close()
        self._features.shutdown(wait=False, cancel_futures=True)
