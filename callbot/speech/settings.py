"""The speech settings (``[asr]``, ``[vad]``, ``[tts]``), read once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ConfigError
from callbot.speech.bias import MAX_CHARS, MODES


@dataclass(frozen=True, slots=True)
class AsrSettings:
    model: str = "auto"
    """Whisper model: ``base``, ``small``, ``medium``, ``large-v3`` or ``large-v3-turbo``
    (``callbot models pull --model NAME`` installs it in ``<models_dir>/whisper-NAME``);
    ``auto``: base on a CPU, on CUDA the best installed (large-v3-turbo, large-v3,
    medium, small, then base)."""
    model_dir: Path = Path()
    """Directory of a CTranslate2 Whisper model, overriding ``model``; empty: the folder
    of ``model`` under ``<models_dir>``."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto`` (CUDA when a GPU is visible to CTranslate2)."""
    compute_type: str | None = None
    """None picks ``int8`` on CPU and ``float16`` on CUDA."""
    language: str = "fr"
    """Recognition language (ISO 639-1) when the dialplan does not give one."""
    beam_size: int = 1
    """Whisper beam width; 1 (greedy) is the fastest, larger is slower for little gain."""
    cpu_threads: int = 0
    """0 means one per core."""
    workers: int = 1
    """Batches decoded at once. Keep 1 on a CPU (two decodes at once slow each other
    down), and on a GPU too: there one worker with a large ``max_batch`` (32-64) keeps
    the GPU on one large batch where several workers would interleave small ones
    (compare with ``benchmarks/gpu.py --workers``)."""
    max_batch: int = 8
    """Utterances decoded together at most (one encoder and one decoder call for all).
    8 on a CPU; 32-64 on a GPU (memory permitting: check ``benchmarks/gpu.py``)."""
    batch_window_ms: float = 20.0
    """How long a decode may wait for utterances of other calls already on their way
    (features being computed) to join its batch: the most gathering adds to a turn, and
    nothing is waited for when none is coming. While a batch runs, the next one gathers
    by itself. 0: no waiting."""
    max_pending: int = 8
    """Utterances allowed to wait for recognition before new ones are refused. On a GPU
    raise it with ``max_batch`` (about twice ``max_batch``)."""
    timeout_s: float = 15.0
    """A recognition not done after this (waiting included) fails the turn."""
    initial_prompt: str | None = None
    """Domain words that help recognition (e.g. "carte Vitale, ameli, RIB")."""
    bias: str = "off"
    """Bias recognition toward the loaded dialplan's words (:mod:`callbot.speech.bias`):
    ``off``; ``prompt`` (its intents' labels, then its acronyms and rare words, after
    ``initial_prompt``); ``hotwords`` (the acronyms and rare words only). Off by default:
    both help with the words they name (spelled acronyms, product names) but read
    ordinary speech worse (``benchmarks/asr_bias.py``)."""
    bias_max_chars: int = 300
    """Longest bias text (characters, at most 600): the most telling words first, the
    rest left out. Longer costs decoding time on every utterance."""
    windows_s: tuple[float, ...] = (10.0, 20.0, 30.0)
    """Encoder window sizes (seconds). Whisper pads every input to 30 s, so a 2 s
    telephone turn would cost as much as a 30 s one; CTranslate2 accepts shorter
    windows. An utterance gets the smallest size that leaves 1 s after its speech, and
    utterances of one size are batched together: a few sizes keep batches full. Below
    10 s accuracy drops on telephone speech (5 s: WER 17.9 % against 14.4 % on the
    real prompts, ``benchmarks/asr_window.py``). Longer than the largest minus 1 s:
    decoded 30 s at a time as stock faster-whisper does."""

    def __post_init__(self) -> None:
        if not self.windows_s or not all(1.0 <= w <= 30.0 for w in self.windows_s):
            raise ConfigError("asr.windows_s: one or more sizes from 1 to 30 seconds")
        for name in ("workers", "max_batch", "max_pending", "timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"asr.{name} must be positive")
        if self.bias not in MODES:
            raise ConfigError(f"asr.bias: one of {', '.join(MODES)}, not {self.bias!r}")
        if not 0 < self.bias_max_chars <= MAX_CHARS:
            raise ConfigError(f"asr.bias_max_chars: from 1 to {MAX_CHARS}")
        if self.batch_window_ms < 0:
            raise ConfigError("asr.batch_window_ms cannot be negative")


@dataclass(frozen=True, slots=True)
class VadSettings:
    aggressiveness: int = 2
    """webrtcvad mode, 0 (least) to 3 (most aggressive at rejecting non-speech)."""
    start_ms: int = 200
    """Voiced audio needed before a turn starts (and barge-in may fire)."""
    stop_ms: int = 600
    """Unvoiced audio that ends a turn."""
    preroll_ms: int = 300
    """Audio kept from before the detected start."""
    min_speech_ms: int = 250
    """Turns with less voiced audio than this are dropped as noise."""
    max_utterance_s: float = 20.0
    """A turn is cut (and recognised) after this long."""
    energy_floor_dbfs: float = -50.0
    """Frames quieter than this are never speech."""
    speculative_ms: int = 250
    """Unvoiced audio after which recognition starts early, before the turn is known to
    be over (``stop_ms``); its result is used if the caller then stays silent. 0: off."""


@dataclass(frozen=True, slots=True)
class TtsSettings:
    voice: str | None = None
    """Piper voice to use whatever the dialplan says (None: the dialplan's, else by language)."""
    voices_dir: Path | None = None
    """Installed voices (default: ``<models_dir>/voices``)."""
    use_cuda: bool = False
    """Run Piper on a GPU (needs onnxruntime-gpu and a visible CUDA device; without
    them the voice runs on the CPU, with a warning)."""
    cache_entries: int = 256
    """Prompts kept synthesized in memory."""
    espeak_fallback: bool = True
    """Speak with espeak-ng when no neural voice exists for the language (never silence)."""
