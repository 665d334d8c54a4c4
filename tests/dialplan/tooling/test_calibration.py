"""Thresholds suggested from a held-out set: no confident wrong answer, few lost phrasings."""

from __future__ import annotations

from callbot.dialplan import Decision
from callbot.dialplan.tooling.accuracy import AccuracyReport, CaseResult, Targets
from callbot.dialplan.tooling.calibration import MARGIN, calibrate
from callbot.dialplan.tooling.testset import Case


def _result(expected: str | None, got: str, confidence: float) -> CaseResult:
    return CaseResult(Case("x", expected, 1, 1), got, confidence, Decision.REJECT, 0.0)


def _report(*results: CaseResult, variant: str = "clean") -> AccuracyReport:
    return AccuracyReport("plan", variant, 2, results, 0.0)


def test_high_sits_above_the_most_confident_wrong_answer() -> None:
    clean = _report(
        _result("a", "a", 0.9),
        _result("a", "a", 0.7),
        _result("a", "b", 0.6),  # wrong: must not be answered
        _result("b", "b", 0.5),
        _result("b", "b", 0.4),
        _result("b", "b", 0.35),
        _result("b", "a", 0.2),
    )
    noisy = _report(_result("a", "a", 0.65), _result(None, "a", 0.62), variant="noisy")
    calibration = calibrate([clean, noisy], Targets(max_wrong=0.0))
    assert calibration.high == round(0.63 + MARGIN, 2)  # above the out-of-scope 0.62
    # asking from 0.35 recovers three right ones for two wrong questions (0.6, 0.62)
    assert calibration.low == 0.35
    (_, clean_shares), (_, noisy_shares) = calibration.shares
    assert (clean_shares.wrong, clean_shares.right, clean_shares.confirm) == (0.0, 2 / 7, 4 / 7)
    assert noisy_shares.right == 1.0
    assert str(calibration).startswith("suggested matching: high 0.65, low 0.35 (clean: right")
    assert calibration.to_json()["high"] == 0.65


def test_a_wrong_answer_within_the_target_is_tolerated() -> None:
    results = [_result("a", "a", 0.8) for _ in range(99)] + [_result("a", "b", 0.8)]
    calibration = calibrate([_report(*results)], Targets(max_wrong=0.01))
    assert calibration.high == round(0.30 + MARGIN, 2)
