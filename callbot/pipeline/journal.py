"""What happened in one call, as the pipeline saw it: the source of the call record."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from callbot.media.types import CallInfo


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
    outcome: str | None = None
    """What the turn amounted to for the dialplan (matched, clarify, no_match, slot...)."""
    slots: list[str] = field(default_factory=list)
    """Names of the slots captured in this turn (values stay out of the record)."""
    hook_status: str | None = None
    """Back-office look-up of this turn: ok, timeout, error, malformed, not_found."""

    @property
    def server_latency_ms(self) -> float | None:
        """End of caller speech to first bot audio out, measured inside the server."""
        if self.caller_ended_at_s is None or self.first_audio_at_s is None:
            return None
        return round((self.first_audio_at_s - self.caller_ended_at_s) * 1000.0, 1)


@dataclass
class CallJournal:
    """Mutable, per call; filled by the pipeline's processors, read when the call ends."""

    info: CallInfo
    started_at_s: float = field(default_factory=time.monotonic)
    started_at_unix: float = field(default_factory=time.time)
    dialplan: str = ""
    dialplan_version: int = 0
    """Which load of the dialplan file served the call (hot reload bumps it)."""
    voice: str = ""
    turns: list[TurnRecord] = field(default_factory=list)
    outcome: str = "in_progress"
    """answered | transferred | transfer_failed | transfer_unavailable | hung_up_by_caller |
    failed | protocol_error | media_timeout | capacity | transferred_on_shutdown |
    ended_on_shutdown | in_progress"""
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
    """Set when the caller asked to be called back (the number is not kept here)."""
    record_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Unique to this call: every write of its record carries it, so the store updates one
    row (another call with the same call id is a duplicate, kept apart)."""
    revision: int = 0
    """Bumped by each :meth:`snapshot`: the store keeps only the newest write."""
    on_turn_done: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Called when a turn's record is complete (as the next turn begins)."""

    def new_turn(self) -> TurnRecord:
        if self.turns and self.on_turn_done is not None:
            self.on_turn_done()
        turn = TurnRecord(index=len(self.turns) + 1)
        self.turns.append(turn)
        return turn

    @property
    def current_turn(self) -> TurnRecord | None:
        return self.turns[-1] if self.turns else None

    def finish(self, outcome: str, detail: str = "", *, by: str | None = None) -> None:
        """The first outcome wins (a transfer closes the bot's leg: that is no hang-up)."""
        if self.outcome == "in_progress":
            self.outcome = outcome
            self.outcome_detail = detail
            if by is not None:
                self.hung_up_by = by
        if self.ended_at_s is None:
            self.ended_at_s = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        """:meth:`to_dict` as the next revision of the call's record."""
        self.revision += 1
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        turns = []
        for turn in self.turns:
            data = asdict(turn)
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
            "outcome": self.outcome,
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
