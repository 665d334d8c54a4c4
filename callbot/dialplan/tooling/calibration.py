"""``callbot dialplan accuracy --calibrate``: the thresholds a dialplan's test set supports.

The matcher's confidence means the same in every dialplan only roughly: a dialplan of
confusable intents needs a higher ``matching.high`` than one of distinct topics. From
the held-out set, clean and noisy, this suggests:

* ``high``: the lowest that keeps confident wrong answers within the target on both
  variants and never answers an out-of-scope phrasing, plus :data:`MARGIN` (the set is
  small; a threshold sitting exactly on it would not hold on the next callers);
* ``low``: the one that best separates, under ``high``, phrasings worth a "did you
  mean...?" (the best intent is the expected one) from those that are better
  re-prompted (another intent, or out of scope).

The engine reads the thresholds from the dialplan (``matching``); ops copy the
suggestion there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callbot.dialplan import decide
from callbot.dialplan.tooling.accuracy import (
    TARGETS,
    AccuracyReport,
    CaseResult,
    Shares,
    Targets,
)

MARGIN = 0.02
"""Added to the lowest safe ``high``."""

GRID = tuple(round(0.30 + k / 100, 2) for k in range(70))
"""Thresholds tried: 0.30 to 0.99."""


@dataclass(frozen=True, slots=True)
class Calibration:
    high: float
    low: float
    shares: tuple[tuple[str, Shares], ...]
    """(variant, shares) with these thresholds."""

    def __str__(self) -> str:
        figures = "; ".join(
            f"{variant}: right {s.right:.1%}, wrong {s.wrong:.1%}, confirm {s.confirm:.1%}"
            for variant, s in self.shares
        )
        return f"suggested matching: high {self.high:.2f}, low {self.low:.2f} ({figures})"

    def to_json(self) -> dict[str, Any]:
        return {
            "high": self.high,
            "low": self.low,
            **{variant: shares.to_json() for variant, shares in self.shares},
        }


def calibrate(reports: Sequence[AccuracyReport], targets: Targets = TARGETS) -> Calibration:
    """Thresholds for the dialplan measured by ``reports`` (its clean and noisy sets)."""
    high = next((h for h in GRID if _safe(reports, h, targets)), GRID[-1])
    high = min(round(high + MARGIN, 2), 1.0)
    low = _best_low(reports, high)
    shares = tuple((r.variant, _rescored(r.in_scope, high, low)) for r in reports)
    return Calibration(high, low, shares)


def _safe(reports: Sequence[AccuracyReport], high: float, targets: Targets) -> bool:
    for report in reports:
        if any(r.confidence >= high for r in report.out_of_scope):
            return False
        in_scope = report.in_scope
        wrong = sum(not r.correct and r.confidence >= high for r in in_scope)
        if wrong > targets.max_wrong * len(in_scope):
            return False
    return True


def _best_low(reports: Sequence[AccuracyReport], high: float) -> float:
    """The ``low`` with the fewest bad questions plus lost phrasings under ``high``."""
    under = [r for report in reports for r in report.results if r.confidence < high]

    def cost(low: float) -> int:
        asked_wrongly = sum(not r.correct and r.confidence >= low for r in under)
        lost = sum(r.correct and r.confidence < low for r in under)
        return asked_wrongly + lost

    candidates = [low for low in GRID if low <= high]
    return min(candidates, key=lambda low: (cost(low), -low)) if candidates else high


def _rescored(results: Sequence[CaseResult], high: float, low: float) -> Shares:
    return Shares.of(
        CaseResult(r.case, r.intent, r.confidence, decide(r.confidence, high=high, low=low), 0.0)
        for r in results
    )
