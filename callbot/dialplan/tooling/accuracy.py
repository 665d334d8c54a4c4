"""``callbot dialplan accuracy``: what callers would hear, measured on a held-out set.

Each phrasing goes through the dialplan's own matcher and thresholds
(:func:`~callbot.dialplan.matcher_for`, :func:`~callbot.dialplan.decide`), the way a
call would see it, and ends in one of four :class:`Outcome`:

* **right**: the expected intent, at or above ``matching.high``: answered directly;
* **wrong**: another intent at or above ``high``: a confident answer to another
  question, the worst case (the caller hangs up misinformed);
* **confirm**: between ``low`` and ``high``: "did you mean...?";
* **fallback**: under ``low``: "I did not understand", and at the dialplan's limit a
  transfer.

**top-1** is the share whose best intent is the expected one, whatever the confidence.
Out-of-scope phrasings must never be answered. Every set is measured twice: as written
(*clean*) and through :mod:`~callbot.dialplan.tooling.asr_noise` (*noisy*).

Latency is the wall time of one ``match`` call, index already built (it is built once
per dialplan version and shared by calls); the 300-intent figure is
``benchmarks/matcher.py``'s.
"""

from __future__ import annotations

import enum
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from callbot.dialplan import Decision, Dialplan, decide, matcher_for
from callbot.dialplan.tooling.asr_noise import DEFAULT_SEED, noisy
from callbot.dialplan.tooling.testset import Case, TestSet


@dataclass(frozen=True, slots=True)
class Targets:
    """What a shipped dialplan must reach on its held-out set, clean and noisy."""

    max_wrong: float = 0.01
    min_right: float = 0.85
    max_confirm: float = 0.10
    min_top1: float = 0.95


TARGETS = Targets()


class Outcome(enum.StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    CONFIRM = "confirm"
    FALLBACK = "fallback"


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

    @property
    def outcome(self) -> Outcome:
        if self.decision is Decision.ACCEPT:
            return Outcome.RIGHT if self.correct else Outcome.WRONG
        return Outcome.CONFIRM if self.decision is Decision.CLARIFY else Outcome.FALLBACK


@dataclass(frozen=True, slots=True)
class Shares:
    """Outcome shares of some in-scope phrasings."""

    count: int
    top1: float
    right: float
    wrong: float
    confirm: float
    fallback: float

    @classmethod
    def of(cls, results: Iterable[CaseResult]) -> Shares:
        done = list(results)
        outcomes = Counter(r.outcome for r in done)
        n = len(done) or 1
        return cls(
            len(done),
            sum(r.correct for r in done) / n,
            *(outcomes[o] / n for o in Outcome),
        )

    def misses(self, targets: Targets = TARGETS) -> list[str]:
        """The targets these shares miss, in words ("wrong 1.6 % > 1 %")."""
        checks = [
            ("wrong", self.wrong, targets.max_wrong, False),
            ("right", self.right, targets.min_right, True),
            ("confirm", self.confirm, targets.max_confirm, False),
            ("top-1", self.top1, targets.min_top1, True),
        ]
        return [
            f"{name} {value:.1%} {'<' if least else '>'} {bound:.0%}"
            for name, value, bound, least in checks
            if (value < bound if least else value > bound)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "phrasings": self.count,
            "top1": round(self.top1, 4),
            **{o.value: round(getattr(self, o.value), 4) for o in Outcome},
        }


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    name: str
    variant: str
    """``clean`` (the set as written) or ``noisy`` (through the ASR-noise generator)."""
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
    def shares(self) -> Shares:
        return Shares.of(self.in_scope)

    def per_intent(self) -> dict[str, Shares]:
        """Shares of each expected intent, in test-set order."""
        by_intent: dict[str, list[CaseResult]] = {}
        for r in self.in_scope:
            by_intent.setdefault(r.case.expected or "", []).append(r)
        return {intent: Shares.of(results) for intent, results in by_intent.items()}

    @property
    def out_of_scope_rejected(self) -> float:
        results = self.out_of_scope
        return sum(r.decision is not Decision.ACCEPT for r in results) / (len(results) or 1)

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
            "variant": self.variant,
            "intents": self.intents,
            **self.shares.to_json(),
            "out_of_scope_phrasings": len(self.out_of_scope),
            "out_of_scope_rejected": round(self.out_of_scope_rejected, 4),
            "target_misses": self.shares.misses(),
            "latency_ms": {
                "p50": round(self.latency_ms(0.5), 3),
                "p95": round(self.latency_ms(0.95), 3),
                "max": round(self.latency_ms(1.0), 3),
            },
            "index_build_ms": round(self.index_build_ms, 1),
            "per_intent": {i: s.to_json() for i, s in self.per_intent().items()},
            "confusions": [{"expected": e, "got": g, "count": n} for e, g, n in self.confusions()],
        }


def noisy_testset(testset: TestSet, language: str, seed: int = DEFAULT_SEED) -> TestSet:
    """``testset`` with every phrasing through the ASR-noise generator."""
    cases = tuple(replace(c, text=noisy(c.text, language, seed)) for c in testset.cases)
    return replace(testset, cases=cases)


def measure(
    dialplan: Dialplan,
    testset: TestSet,
    name: str = "",
    repeats: int = 3,
    variant: str = "clean",
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
    return AccuracyReport(name, variant, len(dialplan.intents), tuple(results), build_ms)


def measure_both(
    dialplan: Dialplan, testset: TestSet, name: str = "", repeats: int = 3
) -> tuple[AccuracyReport, AccuracyReport]:
    """The clean and the noisy report of one dialplan."""
    noisy_set = noisy_testset(testset, dialplan.language)
    return (
        measure(dialplan, testset, name, repeats),
        measure(dialplan, noisy_set, name, repeats, variant="noisy"),
    )


def dialplan_json(clean: AccuracyReport, noisy: AccuracyReport) -> dict[str, Any]:
    """The JSON of one dialplan: its clean and its noisy figures."""
    return {
        "dialplan": clean.name,
        "intents": clean.intents,
        "phrasings": len(clean.in_scope),
        "clean": clean.to_json(),
        "noisy": noisy.to_json(),
    }
