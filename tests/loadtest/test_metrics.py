"""Aggregate measures: percentiles, WER normalisation, accuracy, failures."""

from __future__ import annotations

import pytest

from callbot.loadtest.metrics import (
    CallResult,
    TurnResult,
    normalize_text,
    percentiles,
    summarize,
    word_error_rate,
)


def turn(
    n: int, expected: str | None, got: str | None, latency: float | None, **kw: object
) -> TurnResult:
    return TurnResult(
        n,
        kw.pop("kind", "speech"),
        kw.pop("ref", "au revoir"),
        kw.pop("heard", "au revoir"),
        expected,
        got,
        latency,
        **kw,
    )  # type: ignore[arg-type]


def call(turns: tuple[TurnResult, ...], failure: str = "", outcome: str = "answered") -> CallResult:
    return CallResult("c", "01-x", 1, 0.0, 10.0, "answered", outcome, failure, 120.0, 0, 0, turns)


def test_numbers_and_punctuation_normalise_to_words() -> None:
    assert normalize_text("Zéro-six, 12 ! L'attestation.") == "zéro six douze l attestation"
    assert normalize_text("06 75") == "zéro six soixante quinze"


def test_word_error_rate() -> None:
    assert word_error_rate([("au revoir", "Au revoir.")]) == 0.0
    assert word_error_rate([("mot de passe", "mou de passe"), ("au revoir", "")]) == pytest.approx(
        0.6
    )
    assert word_error_rate([]) is None


def test_percentiles() -> None:
    stats = percentiles([100.0, 200.0, 300.0, 400.0, 1000.0])
    assert stats["count"] == 5 and stats["p50"] == 300.0 and stats["max"] == 1000.0
    assert stats["p95"] == pytest.approx(880.0)
    assert percentiles([])["p95"] is None


def test_summary_counts_accuracy_and_failures() -> None:
    good = call((turn(1, "mot_de_passe", "mot_de_passe", 800.0), turn(2, None, None, 600.0)))
    wrong = call(
        (turn(1, "mot_de_passe", "numero", 900.0, barge_in=True, barge_in_ms=350.0),),
        outcome="transferred",
    )
    broken = call((turn(1, "mot_de_passe", None, None),), failure="no answer to turn 1")
    summary = summarize([good, wrong, broken])
    assert (summary["calls"], summary["failed_calls"], summary["error_rate"]) == (3, 1, 0.3333)
    assert summary["failures"] == ["no answer to turn 1"]
    assert summary["unanswered_turns"] == 1
    assert summary["voice_to_voice_ms"]["count"] == 3
    assert summary["intent_accuracy"] == pytest.approx(2 / 3, abs=1e-4)  # failed calls not judged
    assert summary["per_intent"]["mot_de_passe"] == {"turns": 2, "correct": 1, "accuracy": 0.5}
    assert summary["per_intent"]["(none)"]["accuracy"] == 1.0
    assert summary["outcome_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["barge_in_ms"]["p50"] == 350.0 and summary["barge_in_turns"] == 1
    assert summary["wer"] == 0.0
