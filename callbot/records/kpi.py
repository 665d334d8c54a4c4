"""Hotline KPIs as pure functions over stored calls (no I/O, no clock).

Definitions (each rate is None when its denominator is 0):

* **answer rate**: calls the bot answered (its greeting reached the line) / calls offered;
  also per hour of the day, in the hotline's time zone, to show the 24/7 service.
* **understanding rate**: caller turns understood at once / caller turns the dialplan had
  to interpret. Understood: ``matched``, ``confirmed``, ``follow_up``, ``details``,
  ``hook``, ``callback``, ``survey``, and ``slot`` turns that captured a slot. Not understood (the
  bot had to re-prompt): ``no_match`` and ``clarify``. Other turns (greeting, no input,
  errors, slot questions) count for neither.
* **containment**: calls the bot resolved alone / calls it answered. Resolved alone: a
  turn gave the caller the answer they asked for (an intent's answer, with the
  back-office's fields when it has a hook: not its fallback), the bot ended the call once
  the caller was done (outcome ``answered``), and no human is needed (no transfer, no
  callback). Calls hung up after silences (``no_input``), out of hours, or without the
  value the bot needed (``unresolved``) are not contained.
* **resolved / no input**: calls of outcome ``answered`` and ``no_input``.
* **transfer rate**: calls handed to a human (even if the hand-over failed) / calls the
  bot answered, with the breakdown by reason.
* **abandonment**: calls where the caller hung up first / calls offered.
* **callbacks**: callbacks asked for in the period (out of hours), and of those how many
  are closed, reached (closed with ``reached``), expired, still owed.
* **satisfaction**: survey scores (1-5): mean, share of 4-5 (CSAT), distribution.
* **latency**: p50 / p95 of end of caller speech to first bot audio, of the greeting,
  and of speech recognition.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from callbot.records.callbacks import CLOSED, EXPIRED, REACHED, Callback
from callbot.records.model import ABANDONED, FAILED, TRANSFERRED, StoredCall, StoredTurn
from callbot.records.outcome import Outcome

UNDERSTOOD = frozenset(
    {"matched", "confirmed", "follow_up", "details", "hook", "callback", "survey"}
)
NOT_UNDERSTOOD = frozenset({"no_match", "clarify"})


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 100]), as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 1)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50_ms: float | None
    p95_ms: float | None

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Latency:
        known = [v for v in values if v is not None]
        return cls(len(known), percentile(known, 50), percentile(known, 95))


@dataclass(frozen=True, slots=True)
class HourVolume:
    hour: int
    """Hour of the day (0-23) in the report's time zone."""
    offered: int
    answered: int

    @property
    def answer_rate(self) -> float | None:
        return rate(self.answered, self.offered)


@dataclass(frozen=True, slots=True)
class DayVolume:
    day: str
    """ISO date in the report's time zone."""
    offered: int
    answered: int
    contained: int


@dataclass(frozen=True, slots=True)
class Satisfaction:
    responses: int
    mean: float | None
    csat: float | None
    """Share of 4 and 5 scores."""
    scores: dict[int, int]
    """Count per score 1-5."""


@dataclass(frozen=True, slots=True)
class CallbackCounts:
    requested: int
    """Callbacks asked for in the period."""
    closed: int
    reached: int
    """Closed with the caller reached."""
    expired: int
    """Not closed in time: a promise not kept."""
    pending: int
    """Still owed (open or claimed)."""

    @property
    def reach_rate(self) -> float | None:
        """Reached / requested: how many promises were kept."""
        return rate(self.reached, self.requested)

    @classmethod
    def of(cls, callbacks: Sequence[Callback]) -> CallbackCounts:
        return cls(
            requested=len(callbacks),
            closed=sum(c.status == CLOSED for c in callbacks),
            reached=sum(c.result == REACHED for c in callbacks),
            expired=sum(c.status == EXPIRED for c in callbacks),
            pending=sum(c.pending for c in callbacks),
        )


@dataclass(frozen=True, slots=True)
class KpiReport:
    since: float
    until: float
    timezone: str
    offered: int
    answered: int
    answer_rate: float | None
    turns_interpreted: int
    turns_understood: int
    understanding_rate: float | None
    contained: int
    containment_rate: float | None
    resolved: int
    """Calls the bot ended once the caller was done (outcome ``answered``)."""
    no_input: int
    """Calls the bot hung up after too many silences."""
    transferred: int
    transfer_rate: float | None
    transfer_reasons: dict[str, int]
    abandoned: int
    abandonment_rate: float | None
    failed: int
    callbacks: CallbackCounts
    outcomes: dict[str, int]
    satisfaction: Satisfaction
    intents: dict[str, int]
    """Intents answered (turns), most frequent first."""
    by_hour: tuple[HourVolume, ...]
    by_day: tuple[DayVolume, ...]
    latency: Latency
    greeting: Latency
    asr: Latency

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_hour"] = [{**asdict(h), "answer_rate": h.answer_rate} for h in self.by_hour]
        data["callbacks"]["reach_rate"] = self.callbacks.reach_rate
        return data


def compute_kpis(
    calls: Sequence[StoredCall],
    since: float,
    until: float,
    tz: dt.tzinfo = dt.UTC,
    callbacks: Sequence[Callback] = (),
) -> KpiReport:
    """The KPIs of ``calls`` and ``callbacks`` (already restricted to ``[since, until)``)."""
    answered = [c for c in calls if c.answered_by_bot]
    turns = [t for c in calls for t in c.turns if t.has_caller_input]
    verdicts = [v for v in map(understood, turns) if v is not None]
    transfers = [c for c in calls if c.outcome in TRANSFERRED]
    contained = sum(c.contained for c in answered)
    abandoned = sum(c.outcome in ABANDONED for c in calls)
    return KpiReport(
        since=since,
        until=until,
        timezone=str(tz),
        offered=len(calls),
        answered=len(answered),
        answer_rate=rate(len(answered), len(calls)),
        turns_interpreted=len(verdicts),
        turns_understood=sum(verdicts),
        understanding_rate=rate(sum(verdicts), len(verdicts)),
        contained=contained,
        containment_rate=rate(contained, len(answered)),
        resolved=sum(c.outcome == Outcome.ANSWERED for c in calls),
        no_input=sum(c.outcome == Outcome.NO_INPUT for c in calls),
        transferred=len(transfers),
        transfer_rate=rate(len(transfers), len(answered)),
        transfer_reasons=_ranked(transfer_reason(c.outcome_detail) for c in transfers),
        abandoned=abandoned,
        abandonment_rate=rate(abandoned, len(calls)),
        failed=sum(c.outcome in FAILED for c in calls),
        callbacks=CallbackCounts.of(callbacks),
        outcomes=_ranked(c.outcome for c in calls),
        satisfaction=satisfaction(calls),
        intents=_ranked(t.intent for t in turns if t.gave_answer and t.intent),
        by_hour=by_hour(calls, tz),
        by_day=by_day(calls, tz),
        latency=Latency.of(t.latency_ms for c in calls for t in c.turns),
        greeting=Latency.of(c.greeting_ms for c in calls),
        asr=Latency.of(t.asr_ms for c in calls for t in c.turns),
    )


def understood(turn: StoredTurn) -> bool | None:
    """Whether the bot understood this caller turn at once (None: not a question of it)."""
    if turn.outcome in NOT_UNDERSTOOD:
        return False
    if turn.outcome in UNDERSTOOD or (turn.outcome == "slot" and turn.slots):
        return True
    return None


def transfer_reason(detail: str) -> str:
    """The reason of a transfer without its variable tail (``failure: asr timeout``)."""
    reason = detail.split(":", 1)[0].strip()
    return reason or "unspecified"


def satisfaction(calls: Sequence[StoredCall]) -> Satisfaction:
    scores = [c.survey_score for c in calls if c.survey_score is not None]
    counts = Counter(scores)
    mean = round(sum(scores) / len(scores), 2) if scores else None
    return Satisfaction(
        responses=len(scores),
        mean=mean,
        csat=rate(sum(1 for s in scores if s >= 4), len(scores)),
        scores={score: counts.get(score, 0) for score in range(1, 6)},
    )


def by_hour(calls: Sequence[StoredCall], tz: dt.tzinfo) -> tuple[HourVolume, ...]:
    offered: Counter[int] = Counter()
    answered: Counter[int] = Counter()
    for call in calls:
        hour = dt.datetime.fromtimestamp(call.started_at, tz).hour
        offered[hour] += 1
        answered[hour] += call.answered_by_bot
    return tuple(HourVolume(h, offered[h], answered[h]) for h in range(24))


def by_day(calls: Sequence[StoredCall], tz: dt.tzinfo) -> tuple[DayVolume, ...]:
    days: dict[str, list[StoredCall]] = {}
    for call in calls:
        day = dt.datetime.fromtimestamp(call.started_at, tz).date().isoformat()
        days.setdefault(day, []).append(call)
    return tuple(
        DayVolume(
            day,
            len(group),
            sum(c.answered_by_bot for c in group),
            sum(c.contained and c.answered_by_bot for c in group),
        )
        for day, group in sorted(days.items())
    )


def _ranked(items: Iterable[str | None]) -> dict[str, int]:
    counts = Counter(item for item in items if item)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
