"""A caller who follows a script: what ``callbot simulate``, the tests and the load
tester replay through a simulated Asterisk peer.

The caller behaves like a person: waits for the bot to finish speaking (the greeting,
then each answer) before the next turn, and measures voice-to-voice latency from the
end of its own speech to the first audible bot frame it hears.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from callbot.audio.convert import resample
from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.levels import trim_silence
from callbot.audio.wavfile import read_wav
from callbot.simulator.recording import BotRecording

Pcm = npt.NDArray[np.int16]


class CallerPeer(Protocol):
    """What both simulated Asterisk peers (chan_websocket, AudioSocket) offer."""

    call_id: str
    recording: BotRecording
    closed: bool

    async def play(self, pcm: Pcm, sample_rate_hz: int) -> float: ...
    async def send_dtmf(self, digit: str) -> None: ...
    async def hangup(self) -> None: ...
    async def wait_for_bot_silence(self, quiet_s: float, timeout_s: float) -> bool: ...
    async def wait_closed(self, timeout_s: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class SpeechTurn:
    pcm: Pcm
    sample_rate_hz: int
    label: str = ""
    reference: str | None = None
    """What the caller says, when known (for accuracy reports)."""
    barge_in_s: float | None = None
    """Barge in: start speaking this long after the bot starts its next sentence, without
    waiting for it to finish (None: wait for the bot to be quiet, like a polite caller)."""


@dataclass(frozen=True, slots=True)
class DtmfTurn:
    digits: str


@dataclass(frozen=True, slots=True)
class SilenceTurn:
    """The caller says nothing for this long (tests the no-input policy)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class HangupTurn:
    """The caller hangs up ``after_s`` seconds after the bot starts its next sentence."""

    after_s: float = 0.5


Turn = SpeechTurn | DtmfTurn | SilenceTurn | HangupTurn


@dataclass
class TurnTrace:
    label: str
    kind: str
    ended_at_s: float
    """When the caller finished the turn (end of speech, key press)."""
    first_bot_audio_at_s: float | None = None
    answered: bool = False
    started_at_s: float | None = None
    """When the caller started the turn (barge-in turns only)."""
    bot_stopped_at_s: float | None = None
    """Barge-in turns: the last audible bot frame before the interrupted prompt stopped."""
    keys: int = 1
    """Caller events the turn makes on the server: one per key of a keypad entry."""

    @property
    def latency_ms(self) -> float | None:
        if self.first_bot_audio_at_s is None:
            return None
        return round((self.first_bot_audio_at_s - self.ended_at_s) * 1000.0, 1)

    @property
    def barge_in_ms(self) -> float | None:
        """Barge-in reaction time: caller starts speaking to the bot's audio stopping."""
        if self.started_at_s is None or self.bot_stopped_at_s is None:
            return None
        return round(max(0.0, self.bot_stopped_at_s - self.started_at_s) * 1000.0, 1)


@dataclass
class CallTrace:
    call_id: str
    connected_at_s: float
    greeting_at_s: float | None = None
    turns: list[TurnTrace] = field(default_factory=list)
    hung_up_by: str = ""
    """``caller`` (after the script), ``caller-mid-prompt`` or ``bot``."""
    ended_at_s: float | None = None

    @property
    def greeting_ms(self) -> float | None:
        if self.greeting_at_s is None:
            return None
        return round((self.greeting_at_s - self.connected_at_s) * 1000.0, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "greeting_ms": self.greeting_ms,
            "hung_up_by": self.hung_up_by,
            "turns": [
                {
                    "label": t.label,
                    "kind": t.kind,
                    "latency_ms": t.latency_ms,
                    "answered": t.answered,
                }
                for t in self.turns
            ],
        }


@dataclass(frozen=True, slots=True)
class CallerBehaviour:
    quiet_s: float = 1.2
    """Bot silence that means "the bot has finished speaking"."""
    answer_timeout_s: float = 60.0
    """How long the caller waits for an answer before going on."""
    pause_s: float = 0.3
    """Think time before speaking once the bot is quiet."""
    hangup_wait_s: float = 1.0
    """After the last turn, how long the caller waits for the bot to end the call."""


async def run_script(
    peer: CallerPeer, turns: list[Turn], behaviour: CallerBehaviour = CallerBehaviour()
) -> CallTrace:
    """Play ``turns`` into an already connected peer; return what was measured."""
    trace = CallTrace(peer.call_id, connected_at_s=time.monotonic())
    await _wait_for_bot(peer, turns[0] if turns else None, trace.connected_at_s, behaviour)
    trace.greeting_at_s = peer.recording.first_audio_after(trace.connected_at_s)
    for index, turn in enumerate(turns, start=1):
        if peer.closed:
            break
        barge_in = isinstance(turn, SpeechTurn) and turn.barge_in_s is not None
        if not barge_in:
            await asyncio.sleep(behaviour.pause_s)
        if isinstance(turn, HangupTurn):
            await _hang_up_mid_prompt(peer, turn)
            trace.hung_up_by = "caller-mid-prompt"
            break
        started_s = time.monotonic()
        turn_trace = await _play_turn(peer, turn, index)
        trace.turns.append(turn_trace)
        next_turn = turns[index] if index < len(turns) else None
        await _wait_for_bot(peer, next_turn, turn_trace.ended_at_s, behaviour)
        if barge_in:
            turn_trace.started_at_s = started_s
            turn_trace.bot_stopped_at_s = _bot_stopped_after(peer.recording, started_s)
            heard = _first_audio_after_pause(peer.recording, turn_trace.ended_at_s)
        else:
            heard = peer.recording.first_audio_after(turn_trace.ended_at_s)
        turn_trace.first_bot_audio_at_s = heard
        turn_trace.answered = heard is not None
    if not trace.hung_up_by:
        # The script is over: give the bot a moment to end the call itself.
        closed = await peer.wait_closed(behaviour.hangup_wait_s)
        trace.hung_up_by = "bot" if closed else "caller"
        if trace.hung_up_by == "caller":
            await peer.hangup()
    trace.ended_at_s = time.monotonic()
    return trace


BARGE_IN_GAP_S = 0.3
"""Bot silence that ends an interrupted prompt (a pause between sentences is longer)."""


async def _wait_for_bot(
    peer: CallerPeer, next_turn: Turn | None, since_s: float, behaviour: CallerBehaviour
) -> None:
    """Before ``next_turn``: let the bot finish, or, to barge in, let it start talking.

    Either way the bot must first start answering what happened at ``since_s``: a key
    press leaves no caller speech for :meth:`CallerPeer.wait_for_bot_silence` to go by.
    """
    if not await _bot_started(peer, since_s, behaviour.answer_timeout_s):
        return
    barge_in_s = next_turn.barge_in_s if isinstance(next_turn, SpeechTurn) else None
    if barge_in_s is None:
        await peer.wait_for_bot_silence(behaviour.quiet_s, behaviour.answer_timeout_s)
    else:
        await asyncio.sleep(barge_in_s)


async def _bot_started(peer: CallerPeer, since_s: float, timeout_s: float) -> bool:
    """Wait until bot audio is heard after ``since_s``; False on timeout or hang-up."""
    deadline = since_s + timeout_s
    while peer.recording.first_audio_after(since_s) is None:
        if peer.closed or time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _audible_times(recording: BotRecording, since_s: float) -> list[float]:
    return [f.at_s for f in recording.frames if f.at_s >= since_s and not f.silent]


def _bot_stopped_after(recording: BotRecording, since_s: float) -> float | None:
    """The last audible frame before the first pause after ``since_s`` (None: no audio)."""
    times = _audible_times(recording, since_s)
    for earlier, later in itertools.pairwise(times):
        if later - earlier >= BARGE_IN_GAP_S:
            return earlier
    return times[-1] if times else None


def _first_audio_after_pause(recording: BotRecording, since_s: float) -> float | None:
    """First bot audio after ``since_s`` that follows a pause: the tail of a prompt the
    caller barged into is not the answer."""
    previous: float | None = None
    for frame in recording.frames:
        if frame.silent:
            continue
        if frame.at_s >= since_s and (previous is None or frame.at_s - previous >= BARGE_IN_GAP_S):
            return frame.at_s
        previous = frame.at_s
    return None


async def _play_turn(peer: CallerPeer, turn: Turn, index: int) -> TurnTrace:
    if isinstance(turn, SpeechTurn):
        ended = await peer.play(turn.pcm, turn.sample_rate_hz)
        return TurnTrace(turn.label or f"turn {index}", "speech", ended)
    if isinstance(turn, DtmfTurn):
        for number, digit in enumerate(turn.digits):
            if number:
                await asyncio.sleep(0.1)
            await peer.send_dtmf(digit)
        # Timed at the last key press: the bot may answer within milliseconds.
        return TurnTrace(f"dtmf {turn.digits}", "dtmf", time.monotonic(), keys=len(turn.digits))
    assert isinstance(turn, SilenceTurn)
    silence = np.zeros(int(turn.seconds * PIPELINE_RATE_HZ), dtype=np.int16)
    ended = await peer.play(silence, PIPELINE_RATE_HZ)
    return TurnTrace(f"silence {turn.seconds:g} s", "silence", ended)


async def _hang_up_mid_prompt(peer: CallerPeer, turn: HangupTurn) -> None:
    """Wait for the bot to start a sentence, then hang up while it is talking."""
    since = time.monotonic()
    deadline = since + 30.0
    while peer.recording.first_audio_after(since) is None and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await asyncio.sleep(turn.after_s)
    await peer.hangup()


def speech_turn(path: Path, reference: str | None = None) -> SpeechTurn:
    """A recorded caller turn, without the silence around the words: the end of the
    turn is then the end of the caller's speech, where latency is measured from."""
    pcm, rate = read_wav(path)
    speech = trim_silence(resample(pcm, rate, PIPELINE_RATE_HZ), PIPELINE_RATE_HZ)
    return SpeechTurn(speech, PIPELINE_RATE_HZ, path.stem, reference)
