"""The speech settings (``[asr]``, ``[vad]``, ``[tts]``), read once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    """Recognition language (ISO 639-1) when the dialplan does not give one."""
    beam_size: int = 1
    """Whisper beam width; 1 (greedy) is the fastest, larger is slower for little gain."""
    cpu_threads: int = 0
    """0 means one per core."""
    workers: int = 1
    """Decodes run at once. Keep 1 on CPU; 2-4 on a GPU."""
    max_pending: int = 8
    """Utterances allowed to wait for a worker before new ones are refused."""
    timeout_s: float = 15.0
    """A recognition not done after this (waiting for a worker included) fails the turn."""
    initial_prompt: str | None = None
    """Domain words that help recognition (e.g. "carte Vitale, ameli, RIB")."""
    window_s: float = 10.0
    """Encoder window. Whisper pads every input to 30 s, so a 2 s telephone turn costs
    as much as a 30 s one; CTranslate2 accepts shorter windows. 10 s cuts the encoder
    cost six-fold at equal accuracy on telephone speech (benchmarks/asr_window.py).
    Longer utterances get a longer window; 30 restores stock faster-whisper."""


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
    """Run Piper on a GPU (needs onnxruntime with CUDA)."""
    cache_entries: int = 256
    """Prompts kept synthesized in memory."""
    espeak_fallback: bool = True
    """Speak with espeak-ng when no neural voice exists for the language (never silence)."""
