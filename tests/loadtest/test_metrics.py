"""Aggregate measures: percentiles, WER normalisation, accuracy, failures."""

from __future__ import annotations

import pytest

from callbot.loadtest.corpus import CallSpec, TurnSpec
from callbot.loadtest.metrics import (
    CallResult,
    TurnResult,
    call_result,
    explain,
    failed_call,
    normalize_text,
    percentiles,
    summarize,
    word_error_rate,
)
from callbot.simulator.script import CallTrace, TurnTrace


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


class _Recording:
    dropped_frames = 0
    underruns = 0


class _Peer:
    recording = _Recording()


def spec(outcome: str = "transferred") -> CallSpec:
    return CallSpec(
        id="02-conseiller",
        outcome=outcome,  # type: ignore[arg-type]
        turns=(TurnSpec(dtmf="0", intent="conseiller"), TurnSpec(text="merci")),
    )


def trace(turns: int) -> CallTrace:
    done = [TurnTrace("turn 1", "dtmf", 1.0, 1.5, answered=True)][:turns]
    return CallTrace("c", 0.0, greeting_at_s=0.4, turns=done, hung_up_by="bot")


def result(record: dict[str, object] | None, turns: int = 1) -> CallResult:
    return call_result(
        spec(), trace(turns), record, _Peer(), concurrency=1, started_s=0.0, duration_s=5.0
    )  # type: ignore[arg-type]


def test_a_transfer_without_call_control_is_explained_not_failed() -> None:
    """Issue 10, item 5: the call counted as failed ("call ended after 1 of 2 turns")
    without saying that the server simply has no ARI to transfer with."""
    unavailable = result({"outcome": "transfer_unavailable", "turns": []})
    assert not unavailable.failed and unavailable.failure_kind == ""
    summary = summarize([unavailable])
    assert summary["failed_calls"] == 0 and summary["outcome_accuracy"] == 1.0
    assert summary["outcomes"] == {"transfer_unavailable": 1}
    assert "no call control (ARI)" in summary["notes"]["transfer_unavailable"]


def test_failed_calls_are_counted_by_kind() -> None:
    calls = [
        result({"outcome": "media_timeout", "outcome_detail": "no media for 20 s"}),
        result({"outcome": "media_timeout", "outcome_detail": "no media for 20 s"}),
        result({"outcome": "protocol_error", "outcome_detail": "close 1009"}),
        result({"outcome": "capacity", "outcome_detail": "refused at the limit"}),
        result({"outcome": "hung_up_by_caller", "turns": []}, turns=0),
        result(None),
        failed_call(
            spec(), "c9", "ConnectionRefusedError", concurrency=1, started_s=0, duration_s=0
        ),
        result({"outcome": "transfer_unavailable", "turns": []}),
    ]
    assert calls[0].failure == "server: media_timeout: no media for 20 s"
    summary = summarize(calls)
    assert summary["failed_calls"] == 7
    assert summary["failures_by_kind"] == {
        "media_timeout": 2,
        "protocol_error": 1,
        "capacity": 1,
        "ended_early": 1,
        "no_record": 1,
        "caller_error": 1,
    }
    assert summary["outcomes"]["transfer_unavailable"] == 1
    for kind in summary["failures_by_kind"]:
        assert explain(kind)


def test_a_keypad_entry_is_one_turn_and_the_next_turn_keeps_its_own_intent() -> None:
    """Issue 15, item 7: each key of ``dtmf:0612`` is a server turn of its own; the load
    tester took them one per caller turn, so the speech turn after it was scored against
    the entry's second key."""
    keyed = CallSpec(
        id="keyed",
        outcome="answered",
        turns=(TurnSpec(dtmf="0612", intent=None), TurnSpec(text="au revoir", intent="au_revoir")),
    )
    turns = [
        TurnTrace("dtmf:0612", "dtmf", 1.0, 1.4, answered=True, keys=4),
        TurnTrace("turn 2", "speech", 3.0, 3.6, answered=True),
    ]
    record = {
        "outcome": "answered",
        "turns": [
            *({"dtmf": key, "bot_text": []} for key in "061"),
            {"dtmf": "2", "intent": None, "bot_text": ["C'est noté."]},
            {"caller_text": "au revoir", "intent": "au_revoir", "bot_text": ["Au revoir."]},
        ],
    }
    call = CallTrace("c", 0.0, greeting_at_s=0.4, turns=turns, hung_up_by="bot")
    scored = call_result(keyed, call, record, _Peer(), concurrency=1, started_s=0.0, duration_s=5.0)  # type: ignore[arg-type]
    assert [(t.kind, t.heard, t.intent) for t in scored.turns] == [
        ("dtmf", None, None),
        ("speech", "au revoir", "au_revoir"),
    ]


def test_a_cluster_run_is_summed_up_per_worker() -> None:
    import dataclasses

    calls = [
        dataclasses.replace(call((turn(1, "a", "a", 800.0),)), worker="callbot-w1"),
        dataclasses.replace(call((turn(1, "a", "a", 1200.0),)), worker="callbot-w1"),
        dataclasses.replace(call((turn(1, "a", None, None),), failure="x"), worker="callbot-w2"),
    ]
    per_worker = summarize(calls)["per_worker"]
    assert list(per_worker) == ["callbot-w1", "callbot-w2"]
    assert per_worker["callbot-w1"]["calls"] == 2
    assert per_worker["callbot-w1"]["voice_to_voice_ms"]["max"] == 1200.0
    assert per_worker["callbot-w2"]["failed_calls"] == 1
    assert summarize([call((turn(1, "a", "a", 800.0),))])["per_worker"] == {}
