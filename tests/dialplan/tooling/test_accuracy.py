"""Held-out accuracy of the shipped dialplans, clean and noisy, and how outcomes are counted.

Only accuracy is asserted here; matching speed is ``benchmarks/matcher.py``'s (a timed
assertion fails on a loaded machine and proves nothing on an idle one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.dialplan import Decision, load_dialplan
from callbot.dialplan.tooling.accuracy import (
    TARGETS,
    AccuracyReport,
    CaseResult,
    Outcome,
    Shares,
    dialplan_json,
    measure,
    measure_both,
    noisy_testset,
)
from callbot.dialplan.tooling.accuracy_table import format_intents, format_misses, format_table
from callbot.dialplan.tooling.testset import Case, TestSet, default_testset_path, load_testset
from tests.dialplan.tooling.conftest import SHIPPED

MIN_TOP1 = 0.85
"""Measured 0.87-0.93 clean and noisy on the shipped sets (issue 12's closing note has
the tables); a drop below this is a regression. The issue's target is 0.95."""


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.stem)
def reports(request: pytest.FixtureRequest) -> tuple[AccuracyReport, AccuracyReport]:
    path: Path = request.param
    dialplan = load_dialplan(path)
    testset = load_testset(default_testset_path(path))
    counts = testset.counts()
    assert {i.id for i in dialplan.intents} == set(counts)
    assert min(counts.values()) >= 10
    return measure_both(dialplan, testset, path.stem, repeats=1)


def test_shipped_accuracy(reports: tuple[AccuracyReport, AccuracyReport]) -> None:
    for report in reports:
        shares = report.shares
        assert shares.top1 >= MIN_TOP1, format_misses(report)
        assert shares.wrong <= TARGETS.max_wrong, format_misses(report)
        assert report.out_of_scope_rejected == 1.0, format_misses(report)


def test_noisy_set_differs_but_keeps_positions() -> None:
    path = SHIPPED[0]
    testset = load_testset(default_testset_path(path))
    noisy = noisy_testset(testset, "fr-FR")
    assert [(c.expected, c.line) for c in noisy.cases] == [
        (c.expected, c.line) for c in testset.cases
    ]
    changed = sum(a.text != b.text for a, b in zip(testset.cases, noisy.cases, strict=True))
    assert changed > 0.9 * len(testset.cases)
    assert noisy_testset(testset, "fr-FR") == noisy  # deterministic


def _result(expected: str | None, got: str | None, decision: Decision) -> CaseResult:
    return CaseResult(Case("x", expected, 1, 1), got, 0.5, decision, 0.1)


@pytest.mark.parametrize(
    ("expected", "got", "decision", "outcome"),
    [
        ("a", "a", Decision.ACCEPT, Outcome.RIGHT),
        ("a", "b", Decision.ACCEPT, Outcome.WRONG),
        ("a", "a", Decision.CLARIFY, Outcome.CONFIRM),
        ("a", "b", Decision.CLARIFY, Outcome.CONFIRM),
        ("a", None, Decision.REJECT, Outcome.FALLBACK),
    ],
)
def test_outcome(expected: str, got: str | None, decision: Decision, outcome: Outcome) -> None:
    assert _result(expected, got, decision).outcome is outcome


def test_shares_and_target_misses() -> None:
    results = [
        _result("a", "a", Decision.ACCEPT),
        _result("a", "b", Decision.ACCEPT),
        _result("a", "a", Decision.CLARIFY),
        _result("a", None, Decision.REJECT),
    ]
    shares = Shares.of(results)
    assert (shares.count, shares.top1) == (4, 0.5)
    assert (shares.right, shares.wrong, shares.confirm, shares.fallback) == (0.25,) * 4
    assert shares.misses() == [
        "wrong 25.0% > 1%",
        "right 25.0% < 85%",
        "confirm 25.0% > 10%",
        "top-1 50.0% < 95%",
    ]
    assert Shares.of([_result("a", "a", Decision.ACCEPT)]).misses() == []


def test_per_intent_and_out_of_scope() -> None:
    results = (
        _result("a", "a", Decision.ACCEPT),
        _result("b", "a", Decision.ACCEPT),
        _result(None, "a", Decision.ACCEPT),
        _result(None, None, Decision.REJECT),
    )
    report = AccuracyReport("x", "clean", 2, results, 1.0)
    assert {i: s.right for i, s in report.per_intent().items()} == {"a": 1.0, "b": 0.0}
    assert report.out_of_scope_rejected == 0.5
    assert report.confusions() == [("b", "a", 1)]
    assert "out of scope, answered a" in format_misses(report)


def test_report_json_and_tables() -> None:
    path = SHIPPED[0]
    dialplan = load_dialplan(path)
    testset = load_testset(default_testset_path(path))
    clean, noisy = measure_both(dialplan, testset, path.stem, repeats=1)
    data = dialplan_json(clean, noisy)
    assert data["phrasings"] == len(clean.in_scope)
    assert set(data["clean"]) >= {"top1", "right", "wrong", "confirm", "fallback", "per_intent"}
    assert data["noisy"]["variant"] == "noisy"
    assert set(data["clean"]["per_intent"]) == {i.id for i in dialplan.intents}
    assert set(data["clean"]["latency_ms"]) == {"p50", "p95", "max"}
    lines = format_table([clean, noisy]).splitlines()
    assert lines[2].startswith(path.stem) and " clean " in lines[2]
    assert " noisy " in lines[3] and lines[-1].startswith("targets:")
    intents = format_intents(clean).splitlines()
    assert len(intents) == 3 + len(dialplan.intents)


def test_measure_uses_the_dialplans_thresholds() -> None:
    dialplan = load_dialplan(SHIPPED[0])
    example = dialplan.intents[0].examples[0]
    testset = TestSet(Path("t.yaml"), None, (Case(example, dialplan.intents[0].id, 1, 1),))
    (result,) = measure(dialplan, testset, repeats=1).results
    assert result.outcome is Outcome.RIGHT
