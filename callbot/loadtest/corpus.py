"""The load-test corpus: a manifest (``manifest.yaml``) and the caller-side WAV files.

A manifest lists calls; each call lists the caller's turns in order (speech with its
reference transcript, keypad digits or silence), the intent the bot should recognise at
each turn and the outcome the call should end with. The format is described, with an
example, in ``audio/README.md``. A speech turn's audio is a WAV under the manifest's
``audio_dir``; a ``make`` recipe tells :mod:`callbot.loadtest.build` how to regenerate
it, so only the manifest is committed. A user's own recording needs no recipe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callbot.audio.convert import resample
from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.wavfile import read_wav
from callbot.dialplan import load_dialplan
from callbot.errors import CallbotError, ConfigError
from callbot.simulator.recording import SILENCE_RMS
from callbot.simulator.script import DtmfTurn, Pcm, SilenceTurn, SpeechTurn, Turn

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
Outcome = Literal[
    "answered",
    "transferred",
    "hung_up_by_caller",
    "no_input",
    "callback_requested",
    "out_of_hours",
    "unresolved",
]
"""The outcomes a scripted call may be expected to end with (``records.outcome``'s)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Make(_Strict):
    """How to regenerate a turn's WAV: exactly one of ``tts``, ``recordings``, ``digits``."""

    tts: str | None = None
    """espeak-ng voice (``fr+f3``) that speaks the turn's ``text``."""
    speed_wpm: int = Field(default=150, ge=80, le=400)
    recordings: tuple[str, ...] = ()
    """Sound files joined in order, ``fr_CA_f_June/vm-password`` (under the sounds dir)."""
    digits: str | None = Field(default=None, pattern=r"^[0-9]+( [0-9]+)*$")
    """Digit groups said with the real digit recordings: ``06 12 34`` says six, douze..."""

    @model_validator(mode="after")
    def _one_source(self) -> Make:
        if sum((self.tts is not None, bool(self.recordings), self.digits is not None)) != 1:
            raise ValueError("make needs exactly one of tts, recordings, digits")
        return self


class TurnSpec(_Strict):
    """One caller turn: speech (``text``/``audio``/``make``), ``dtmf`` or ``silence_s``."""

    text: str | None = None
    """Reference transcript of the speech (WER); None for a recording without one."""
    audio: str | None = None
    """WAV file under ``audio_dir`` (default ``<call id>-<turn number>.wav``)."""
    make: Make | None = None
    dtmf: str | None = Field(default=None, pattern=r"^[0-9*#A-D]+$")
    silence_s: float | None = Field(default=None, gt=0, le=60)
    intent: str | None = None
    """Intent the bot should recognise (None: none, e.g. not understood or a yes/no)."""
    gap_s: float = Field(default=0.0, ge=0, le=30)
    """Extra silence before the caller speaks, after the bot went quiet."""
    barge_in_s: float | None = Field(default=None, ge=0, le=30)
    """Speak this long after the bot starts talking, interrupting it."""

    @model_validator(mode="after")
    def _one_kind(self) -> TurnSpec:
        speech = self.text is not None or self.audio is not None or self.make is not None
        if sum((speech, self.dtmf is not None, self.silence_s is not None)) != 1:
            raise ValueError("a turn is exactly one of speech (text/audio/make), dtmf, silence_s")
        if self.make is not None and self.make.tts is not None and self.text is None:
            raise ValueError("make.tts speaks the turn's text: give text")
        if self.barge_in_s is not None and not speech:
            raise ValueError("only speech can barge in")
        return self

    @property
    def kind(self) -> str:
        if self.dtmf is not None:
            return "dtmf"
        return "silence" if self.silence_s is not None else "speech"


class CallSpec(_Strict):
    id: Name
    outcome: Outcome
    """How the call should end: the bot hangs up (answered) or hands over (transferred)."""
    noise_snr_db: float | None = Field(default=None, ge=-5, le=60)
    """White noise added when the WAVs are generated (fixed seed per call)."""
    turns: tuple[TurnSpec, ...] = Field(min_length=1)


class Manifest(_Strict):
    version: Literal[1]
    dialplan: str
    """The dialplan the expected intents belong to (relative to the manifest)."""
    audio_dir: str = "wav"
    sample_rate_hz: int = Field(default=8000, ge=8000, le=48000)
    """Rate of generated WAVs (always written as μ-law)."""
    calls: tuple[CallSpec, ...] = Field(min_length=1)


class Corpus:
    """A validated manifest and where its files are."""

    def __init__(self, manifest: Manifest, path: Path) -> None:
        self.manifest = manifest
        self.path = path
        self.root = path.parent

    @property
    def calls(self) -> tuple[CallSpec, ...]:
        return self.manifest.calls

    @property
    def dialplan_path(self) -> Path:
        return (self.root / self.manifest.dialplan).resolve()

    @property
    def audio_dir(self) -> Path:
        return self.root / self.manifest.audio_dir

    def audio_path(self, call: CallSpec, index: int) -> Path:
        """WAV of ``call``'s turn ``index`` (0-based)."""
        turn = call.turns[index]
        return self.audio_dir / (turn.audio or f"{call.id}-{index + 1}.wav")

    def missing_audio(self) -> list[tuple[CallSpec, int]]:
        return [
            (call, i)
            for call in self.calls
            for i, turn in enumerate(call.turns)
            if turn.kind == "speech" and not self.audio_path(call, i).is_file()
        ]

    def turns(self, call: CallSpec) -> list[Turn]:
        """The simulator's script for ``call`` (reads its WAVs)."""
        script: list[Turn] = []
        for index, turn in enumerate(call.turns):
            if turn.dtmf is not None:
                script.append(DtmfTurn(turn.dtmf))
            elif turn.silence_s is not None:
                script.append(SilenceTurn(turn.silence_s))
            else:
                pcm, rate = read_wav(self.audio_path(call, index))
                pcm = trim_trailing_silence(resample(pcm, rate, PIPELINE_RATE_HZ))
                gap = np.zeros(int(turn.gap_s * PIPELINE_RATE_HZ), dtype=np.int16)
                label = f"{call.id}-{index + 1}"
                script.append(
                    SpeechTurn(
                        np.concatenate([gap, pcm]),
                        PIPELINE_RATE_HZ,
                        label,
                        turn.text,
                        barge_in_s=turn.barge_in_s,
                    )
                )
        return script


def trim_trailing_silence(pcm: Pcm, frame: int = PIPELINE_RATE_HZ // 50) -> Pcm:
    """Drop the quiet tail of a recording: latency counts from the end of the speech.

    A 20 ms frame is quiet below a tenth of the loudest frame's RMS (and below
    :data:`~callbot.simulator.recording.SILENCE_RMS` in any case).
    """
    frames = pcm[: pcm.size // frame * frame].reshape(-1, frame).astype(np.float64)
    if frames.size == 0:
        return pcm
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(rms >= max(SILENCE_RMS, 0.1 * float(rms.max())))
    return pcm if loud.size == 0 else pcm[: (int(loud[-1]) + 1) * frame]


def load_corpus(path: Path) -> Corpus:
    """Read and check ``path``: format, unique call ids, intents known to the dialplan."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read manifest: {exc}") from exc
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid manifest:\n{_describe(exc)}") from exc
    corpus = Corpus(manifest, path)
    _check_ids(corpus)
    _check_intents(corpus)
    return corpus


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


def _check_ids(corpus: Corpus) -> None:
    seen: set[str] = set()
    for call in corpus.calls:
        if call.id in seen:
            raise ConfigError(f"{corpus.path}: call id {call.id!r} appears twice")
        seen.add(call.id)


def _check_intents(corpus: Corpus) -> None:
    try:
        dialplan = load_dialplan(corpus.dialplan_path)
    except CallbotError as exc:
        raise ConfigError(f"{corpus.path}: dialplan {corpus.manifest.dialplan}: {exc}") from exc
    known = {intent.id for intent in dialplan.intents}
    for call in corpus.calls:
        for number, turn in enumerate(call.turns, start=1):
            if turn.intent is not None and turn.intent not in known:
                raise ConfigError(
                    f"{corpus.path}: call {call.id} turn {number}: intent {turn.intent!r} "
                    f"is not in {corpus.manifest.dialplan} (known: {', '.join(sorted(known))})"
                )
