"""A stored call: the journal of :mod:`callbot.calls.journal`, redacted and flattened.

:func:`from_journal` is the only way in: it redacts caller and bot text (through
:mod:`callbot.records.sanitize`) and keeps only the caller's pseudonymous hash. Everything
else in this package reads these frozen objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from callbot.records.outcome import Outcome
from callbot.records.sanitize import redact_text

ABANDONED = frozenset({Outcome.HUNG_UP_BY_CALLER})
"""Outcomes where the caller left before the bot or a human had finished."""
TRANSFERRED = frozenset(
    {
        Outcome.TRANSFERRED,
        Outcome.TRANSFER_FAILED,
        Outcome.TRANSFER_UNAVAILABLE,
        Outcome.TRANSFERRED_ON_SHUTDOWN,
        Outcome.SENT_TO_FALLBACK,
    }
)
FAILED = frozenset(
    {
        Outcome.FAILED,
        Outcome.TRANSFER_FAILED,
        Outcome.TRANSFER_UNAVAILABLE,
        Outcome.INTERRUPTED,
        Outcome.FAILED_OVER,
        Outcome.ENDED_ON_SHUTDOWN,
        Outcome.PROTOCOL_ERROR,
        Outcome.MEDIA_TIMEOUT,
    }
)
"""``capacity`` (refused at the concurrent-call limit) is neither failed nor transferred:
a limit reached, counted in ``outcomes``."""
OLD_ANSWERED_TURNS = frozenset({"matched", "confirmed"})
KEYED_VALUE = "<DTMF>"
"""What the store keeps of a digit typed into a slot."""
IN_PROGRESS = "in_progress"
"""State of a call's record while the call goes on (updated after each turn)."""
FINAL = "final"
"""State of a call's record once the call has ended (or was found ``interrupted``)."""


@dataclass(frozen=True, slots=True)
class StoredTurn:
    index: int
    caller_text: str | None
    """Recognised text, redacted; None for a keypad or no-input turn."""
    dtmf: str | None
    intent: str | None
    confidence: float | None
    outcome: str | None
    """The dialplan's verdict: matched, clarify, no_match, slot, survey...
    (:class:`callbot.dialplan.actions.TurnOutcome`)."""
    latency_ms: float | None
    """End of caller speech to first bot audio, measured in the server."""
    asr_ms: float | None
    barged_in: bool
    hook_status: str | None
    slots: tuple[str, ...]
    """Names of the slots captured (values are never kept)."""
    bot_text: tuple[str, ...]
    """What the bot said, redacted (read-backs may carry caller data)."""
    answered: bool | None = None
    """The turn gave the caller the answer of ``intent``; None: recorded before turns
    said so."""

    @property
    def has_caller_input(self) -> bool:
        return self.caller_text is not None or self.dtmf is not None

    @property
    def gave_answer(self) -> bool:
        """Whether the caller got an answer in this turn; for a turn recorded before turns
        said so, an intent matched or confirmed (the old reading)."""
        if self.answered is not None:
            return self.answered
        return self.outcome in OLD_ANSWERED_TURNS


@dataclass(frozen=True, slots=True)
class StoredCall:
    call_id: str
    started_at: float
    """Unix time (s) the call reached callbot."""
    duration_s: float
    transport: str
    format: str
    dialplan: str
    dialplan_version: int
    voice: str
    greeting_ms: float | None
    """Call start to first greeting audio; None when the bot never spoke."""
    outcome: str
    """An :class:`~callbot.records.outcome.Outcome` (as stored: its string)."""
    outcome_detail: str
    """Why: hang-up reason or transfer reason (``intent X``, ``no match``, ``error``...)."""
    transfer_queue: str | None
    callback_queue: str | None
    survey_score: int | None
    caller_hash: str | None
    errors: tuple[str, ...]
    turns: tuple[StoredTurn, ...]
    duplicate_of: str | None = None
    """The id this call arrived with when another stored call already had it; it is then
    stored as ``<id>#<n>`` (a record never overwrites another call's)."""
    hung_up_by: str | None = None
    """Who ended the call: ``bot``, ``caller`` or ``asterisk`` (None: not known)."""
    state: str = FINAL
    """``in_progress`` while the call goes on (outcome ``in_progress``), else ``final``."""

    @property
    def answered_by_bot(self) -> bool:
        """The caller heard the bot (its greeting left for the line)."""
        return self.greeting_ms is not None

    @property
    def question_answered(self) -> bool:
        """A turn gave the caller the answer they asked for."""
        return any(turn.gave_answer for turn in self.turns)

    @property
    def contained(self) -> bool:
        """Resolved by the bot alone: a turn answered the caller's question, the bot ended
        the call once they were done, and no human is needed later (no transfer, no
        callback). A call hung up after silences, out of hours or on a back-office
        failure is not."""
        resolved = self.outcome == Outcome.ANSWERED and self.callback_queue is None
        return resolved and self.question_answered

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["turns"] = [asdict(turn) for turn in self.turns]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredCall:
        """The inverse of :meth:`to_dict` (text is taken as it is: already redacted)."""
        fields = dict(data)
        fields["errors"] = tuple(fields.get("errors") or ())
        fields["turns"] = tuple(
            StoredTurn(
                **{
                    **turn,
                    "slots": tuple(turn.get("slots") or ()),
                    "bot_text": tuple(turn.get("bot_text") or ()),
                }
            )
            for turn in fields.get("turns") or ()
        )
        return cls(**fields)


def from_journal(
    record: Mapping[str, Any], caller_hash: str | None, state: str = FINAL
) -> StoredCall:
    """A journal dict (``CallJournal.to_dict()``) as a redacted :class:`StoredCall`."""
    return StoredCall(
        state=state,
        call_id=str(record["call_id"]),
        started_at=float(record["started_at"]),
        duration_s=float(record.get("duration_s") or 0.0),
        transport=str(record.get("transport") or ""),
        format=str(record.get("format") or ""),
        dialplan=str(record.get("dialplan") or ""),
        dialplan_version=int(record.get("dialplan_version") or 0),
        voice=str(record.get("voice") or ""),
        greeting_ms=_float(record.get("greeting_ms")),
        outcome=str(record.get("outcome") or Outcome.FAILED),
        outcome_detail=redact_text(str(record.get("outcome_detail") or "")) or "",
        hung_up_by=_opt_str(record.get("hung_up_by")),
        transfer_queue=record.get("transfer_queue"),
        callback_queue=record.get("callback_queue"),
        survey_score=_int(record.get("survey_score")),
        caller_hash=caller_hash,
        errors=tuple(redact_text(str(e)) or "" for e in record.get("errors") or ()),
        turns=tuple(_turn(turn) for turn in record.get("turns") or ()),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _turn(turn: Mapping[str, Any]) -> StoredTurn:
    return StoredTurn(
        index=int(turn["index"]),
        caller_text=redact_text(turn.get("caller_text")),
        dtmf=_key(turn),
        intent=turn.get("intent"),
        confidence=_float(turn.get("confidence")),
        outcome=turn.get("outcome"),
        latency_ms=_float(turn.get("server_latency_ms", turn.get("latency_ms"))),
        asr_ms=_asr_ms(turn),
        barged_in=bool(turn.get("barged_in")),
        hook_status=turn.get("hook_status"),
        slots=tuple(str(s) for s in turn.get("slots") or ()),
        bot_text=_texts(turn.get("bot_text")),
        answered=None if turn.get("answered") is None else bool(turn["answered"]),
    )


def _key(turn: Mapping[str, Any]) -> str | None:
    """A key pressed; a digit typed into a slot (a NIR, a phone number, one key a turn)
    is part of a value: kept as ``<DTMF>``, never the digit."""
    key = turn.get("dtmf")
    if key is not None and turn.get("outcome") == "slot" and str(key).isdigit():
        return KEYED_VALUE
    return key


def _asr_ms(turn: Mapping[str, Any]) -> float | None:
    if "asr_ms" in turn:
        return _float(turn["asr_ms"])
    seconds = _float(turn.get("asr_s"))
    return None if seconds is None else round(seconds * 1000.0, 1)


def _texts(texts: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(redact_text(str(t)) or "" for t in texts or ())


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
