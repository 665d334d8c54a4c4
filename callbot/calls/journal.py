"""What happened in one call, as its parts saw it: the source of the call record.

One writer: the journal changes only through its own methods, one per kind of fact, and
the rules of the record live there (the first outcome wins; the first audio of a turn
is its latency's end; a barge-in cuts the answer that was playing). Who reports what:

* the dialog opens the turns and says what each amounted to (:meth:`CallJournal.new_turn`,
  :meth:`~CallJournal.turn_decided`: the engine's verdict, back-office status included);
* the line output, what left for the line (:meth:`~CallJournal.bot_audio_out`,
  :meth:`~CallJournal.barged_in`);
* the call's ending, how the call ended (:meth:`~CallJournal.finish` and its kin).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from callbot.dialplan import CallbackRequest, Say, TurnOutcome, TurnResult
from callbot.media.types import CallInfo
from callbot.records.outcome import Outcome


@dataclass
class TurnRecord:
    index: int
    caller_text: str | None = None
    """Recognised text (None for a DTMF or no-input turn)."""
    dtmf: str | None = None
    intent: str | None = None
    confidence: float | None = None
    bot_text: list[str] = field(default_factory=list)
    caller_ended_at_s: float | None = None
    """Monotonic time the caller stopped speaking, as the server detected it."""
    asr_s: float | None = None
    first_audio_at_s: float | None = None
    """Monotonic time the first bot audio of the answer left for the line."""
    barged_in: bool = False
    outcome: TurnOutcome | None = None
    """What the turn amounted to for the dialplan (matched, clarify, no_match, slot...)."""
    slots: list[str] = field(default_factory=list)
    """Names of the slots captured in this turn (values stay out of the record)."""
    hook_status: str | None = None
    """Back-office reply this turn acted on, as the engine judged it: ok, timeout, error,
    malformed (a 2xx reply missing a declared field), not_found."""
    answered: bool = False
    """The turn gave the caller the answer of its intent (see ``TurnResult.answered``)."""

    @property
    def server_latency_ms(self) -> float | None:
        """End of caller speech to first bot audio out, measured inside the server."""
        if self.caller_ended_at_s is None or self.first_audio_at_s is None:
            return None
        return round((self.first_audio_at_s - self.caller_ended_at_s) * 1000.0, 1)


@dataclass
class CallJournal:
    """Mutable, per call; filled as the call goes (see the module), read when it ends."""

    info: CallInfo
    started_at_s: float = field(default_factory=time.monotonic)
    started_at_unix: float = field(default_factory=time.time)
    dialplan: str = ""
    dialplan_version: int = 0
    """Which load of the dialplan file served the call (hot reload bumps it)."""
    voice: str = ""
    turns: list[TurnRecord] = field(default_factory=list)
    outcome: Outcome = Outcome.IN_PROGRESS
    outcome_detail: str = ""
    hung_up_by: str | None = None
    """Who ended the call: ``bot`` (hang-up, transfer, shutdown, protocol error it
    detected), ``caller`` (hang-up on the line) or ``asterisk`` (the media connection
    dropped without a hang-up)."""
    transfer_queue: str | None = None
    greeting_first_audio_at_s: float | None = None
    ended_at_s: float | None = None
    errors: list[str] = field(default_factory=list)
    survey_score: int | None = None
    callback_queue: str | None = None
    """Set when the caller asked to be called back."""
    callback: CallbackRequest | None = field(default=None, repr=False)
    """The callback the caller asked for, number included: it leaves the call as a work
    item for the agents (:mod:`callbot.records.callbacks`), never in :meth:`to_dict`."""
    record_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Unique to this call: every write of its record carries it, so the store updates one
    row (another call with the same call id is a duplicate, kept apart)."""
    revision: int = 0
    """Bumped by each :meth:`snapshot`: the store keeps only the newest write."""
    on_turn_done: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Called when a turn's record is complete (as the next turn begins)."""
    _playing: TurnRecord | None = field(default=None, init=False, repr=False, compare=False)
    """The turn whose answer last left for the line (None: the greeting)."""

    def new_turn(
        self,
        *,
        caller_text: str | None = None,
        caller_ended_at_s: float | None = None,
        asr_s: float | None = None,
        dtmf: str | None = None,
        intent: str | None = None,
    ) -> TurnRecord:
        """The dialog opens a turn: caller speech, a key, or no input (``intent``)."""
        if self.turns and self.on_turn_done is not None:
            self.on_turn_done()
        turn = TurnRecord(
            index=len(self.turns) + 1,
            caller_text=caller_text,
            caller_ended_at_s=caller_ended_at_s,
            asr_s=asr_s,
            dtmf=dtmf,
            intent=intent,
        )
        self.turns.append(turn)
        return turn

    @property
    def current_turn(self) -> TurnRecord | None:
        return self.turns[-1] if self.turns else None

    def turn_decided(self, turn: TurnRecord | None, result: TurnResult) -> None:
        """What the dialplan made of ``turn`` (None: the greeting): the turn's verdict, what
        the bot says, and what the call gained (survey score, callback request)."""
        if turn is not None:
            turn.intent = turn.intent or result.intent
            turn.confidence = None if result.confidence is None else round(result.confidence, 3)
            turn.outcome = result.outcome
            turn.answered = result.answered
            if result.hook_status is not None:
                turn.hook_status = result.hook_status
            turn.slots += [name for name, _ in result.slots]
            turn.bot_text += [action.text for action in result.actions if isinstance(action, Say)]
        if result.survey_score is not None:
            self.survey_score = result.survey_score
        for action in result.actions:
            if isinstance(action, CallbackRequest):
                # The number is personal data: kept out of logs and of the call record.
                self.callback_queue = action.queue
                self.callback = action

    def bot_audio_out(self, now_s: float) -> None:
        """Bot audio left for the line: the greeting's or the current turn's first, if so."""
        if self.greeting_first_audio_at_s is None:
            self.greeting_first_audio_at_s = now_s
        self._playing = self.current_turn
        if self._playing is not None and self._playing.first_audio_at_s is None:
            self._playing.first_audio_at_s = now_s

    def barged_in(self) -> None:
        """The caller cut the answer playing (a key may already have opened the next turn:
        the cut answer is the one whose audio last left, not the current turn)."""
        if self._playing is not None:
            self._playing.barged_in = True

    def error(self, reason: str) -> None:
        self.errors.append(reason)

    def transfer_to(self, queue: str) -> None:
        """A hand-over to ``queue`` is attempted (the record names it even if it fails)."""
        self.transfer_queue = queue

    def finish(self, outcome: Outcome, detail: str = "", *, by: str | None = None) -> None:
        """The first outcome wins (a transfer closes the bot's leg: that is no hang-up)."""
        if self.outcome is Outcome.IN_PROGRESS:
            self.outcome = Outcome(outcome)
            self.outcome_detail = detail
            if by is not None:
                self.hung_up_by = by
        if self.ended_at_s is None:
            self.ended_at_s = time.monotonic()

    def correct(self, outcome: Outcome, detail: str | None = None) -> None:
        """The end recorded turned out otherwise: a transfer call control refused, a
        hang-up on a line that never sent anything (``detail`` None: kept)."""
        self.outcome = Outcome(outcome)
        if detail is not None:
            self.outcome_detail = detail

    def snapshot(self) -> dict[str, Any]:
        """:meth:`to_dict` as the next revision of the call's record."""
        self.revision += 1
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        turns = []
        for turn in self.turns:
            data = asdict(turn)
            data["outcome"] = None if turn.outcome is None else str(turn.outcome)
            data["server_latency_ms"] = turn.server_latency_ms
            turns.append(data)
        greeting_ms = (
            None
            if self.greeting_first_audio_at_s is None
            else round((self.greeting_first_audio_at_s - self.started_at_s) * 1000.0, 1)
        )
        return {
            "call_id": self.info.call_id,
            "transport": self.info.transport,
            "format": self.info.media_format.asterisk_name,
            "dialplan": self.dialplan,
            "dialplan_version": self.dialplan_version,
            "voice": self.voice,
            "started_at": self.started_at_unix,
            "duration_s": round((self.ended_at_s or time.monotonic()) - self.started_at_s, 3),
            "greeting_ms": greeting_ms,
            "outcome": str(self.outcome),  # a plain string: JSON, the stores' drivers
            "outcome_detail": self.outcome_detail,
            "hung_up_by": self.hung_up_by,
            "transfer_queue": self.transfer_queue,
            "callback_queue": self.callback_queue,
            "survey_score": self.survey_score,
            "turns": turns,
            "errors": list(self.errors),  # a copy: the record leaves the event loop
            "record_token": self.record_token,
            "revision": self.revision,
        }
