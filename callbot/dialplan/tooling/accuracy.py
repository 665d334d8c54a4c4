"""``callbot dialplan accuracy``: intent accuracy and matching latency on a held-out set.

Each phrasing goes through the dialplan's own matcher and thresholds
(:func:`~callbot.dialplan.matcher_for`, :func:`~callbot.dialplan.decide`), the way a
call would see it:

* **top-1**: the best intent is the expected one, whatever the confidence;
* **answered**: expected intent *and* confidence at or above ``matching.high``: the
  caller gets the answer without a clarification question;
* **wrong answers**: another intent at or above ``high`` (the worst case: a wrong
  answer said with confidence);
* **out of scope rejected**: off-topic phrasings that were not answered.

Latency is the wall time of one ``match`` call, index already built (it is built once
per dialplan version and shared by calls).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from callbot.dialplan import Decision, Dialplan, decide, matcher_for
from callbot.dialplan.tooling.testset import Case, TestSet


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    intent: str | None
    confidence: float
    decision: Decision
    latency_ms: float

    @property
    def correct(self) -> bool:
        return self.intent == self.case.expected


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    name: str
    intents: int
    results: tuple[CaseResult, ...]
    index_build_ms: float

    @property
    def in_scope(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if r.case.expected is not None)

    @property
    def out_of_scope(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if r.case.expected is None)

    @property
    def top1(self) -> float:
        return _share(r.correct for r in self.in_scope)

    @property
    def answered(self) -> float:
        return _share(r.correct and r.decision is Decision.ACCEPT for r in self.in_scope)

    @property
    def clarified(self) -> float:
        return _share(r.decision is Decision.CLARIFY for r in self.in_scope)

    @property
    def wrong_answers(self) -> float:
        return _share(not r.correct and r.decision is Decision.ACCEPT for r in self.in_scope)

    @property
    def out_of_scope_rejected(self) -> float:
        return _share(r.decision is not Decision.ACCEPT for r in self.out_of_scope)

    def latency_ms(self, quantile: float) -> float:
        values = sorted(r.latency_ms for r in self.results)
        if not values:
            return 0.0
        return values[min(len(values) - 1, round(quantile * (len(values) - 1)))]

    def confusions(self) -> list[tuple[str, str, int]]:
        """(expected, got, count) for every wrong top-1, most frequent first."""
        counts = Counter(
            (r.case.expected or "-", r.intent or "(none)") for r in self.in_scope if not r.correct
        )
        return [(e, g, n) for (e, g), n in counts.most_common()]

    def to_json(self) -> dict[str, Any]:
        return {
            "dialplan": self.name,
            "intents": self.intents,
            "phrasings": len(self.in_scope),
            "out_of_scope_phrasings": len(self.out_of_scope),
            "top1_accuracy": round(self.top1, 4),
            "answered_directly": round(self.answered, 4),
            "clarified": round(self.clarified, 4),
            "wrong_answers": round(self.wrong_answers, 4),
            "out_of_scope_rejected": round(self.out_of_scope_rejected, 4),
            "latency_ms": {
                "p50": round(self.latency_ms(0.5), 3),
                "p95": round(self.latency_ms(0.95), 3),
                "max": round(self.latency_ms(1.0), 3),
            },
            "index_build_ms": round(self.index_build_ms, 1),
            "confusions": [{"expected": e, "got": g, "count": n} for e, g, n in self.confusions()],
        }


def measure(
    dialplan: Dialplan, testset: TestSet, name: str = "", repeats: int = 3
) -> AccuracyReport:
    """Match every phrasing of ``testset``; latency is the best of ``repeats`` runs."""
    started = time.perf_counter()
    matcher = matcher_for(dialplan)
    build_ms = (time.perf_counter() - started) * 1000
    thresholds = dialplan.matching
    results = []
    for case in testset.cases:
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            match = matcher.match(case.text)
            best = min(best, (time.perf_counter() - t0) * 1000)
        decision = decide(match.confidence, high=thresholds.high, low=thresholds.low)
        results.append(CaseResult(case, match.intent, match.confidence, decision, best))
    return AccuracyReport(name, len(dialplan.intents), tuple(results), build_ms)


def format_table(reports: list[AccuracyReport]) -> str:
    """One line per dialplan: the figures an ops person and the issue report need."""
    header = (
        f"{'dialplan':<22} {'intents':>7} {'phrases':>7} {'top-1':>7} {'answered':>8} "
        f"{'clarify':>7} {'wrong':>6} {'oos-rej':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in reports:
        lines.append(
            f"{r.name:<22} {r.intents:>7} {len(r.in_scope):>7} {r.top1:>7.1%} "
            f"{r.answered:>8.1%} {r.clarified:>7.1%} {r.wrong_answers:>6.1%} "
            f"{r.out_of_scope_rejected:>7.1%} {r.latency_ms(0.5):>7.2f} "
            f"{r.latency_ms(0.95):>7.2f} {r.latency_ms(1.0):>7.2f}"
        )
    return "\n".join(lines)


def format_misses(report: AccuracyReport) -> str:
    """Every wrong top-1 with its position in the test set, then the confusion counts."""
    lines = []
    for r in report.in_scope:
        if not r.correct:
            lines.append(
                f"{r.case.line}: {r.case.text!r}: expected {r.case.expected}, "
                f"got {r.intent or '(none)'} ({r.confidence:.2f} {r.decision})"
            )
    for r in report.out_of_scope:
        if r.decision is Decision.ACCEPT:
            lines.append(f"{r.case.line}: {r.case.text!r}: out of scope, answered {r.intent}")
    confusions = report.confusions()
    if confusions:
        lines.append("confusions (expected -> got: count):")
        lines += [f"  {e} -> {g}: {n}" for e, g, n in confusions]
    return "\n".join(lines)


def _share(flags: Any) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0
