"""KPIs on a small, hand-counted set of calls."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from callbot.records.callbacks import Callback
from callbot.records.kpi import compute_kpis, percentile, transfer_reason, understood
from callbot.records.model import StoredCall, from_journal
from tests.records.seed import journal, turn
from tests.records.test_callbacks import a_callback

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DAY = dt.datetime(2026, 11, 3, tzinfo=PARIS)


def at(hour: int) -> float:
    return (DAY + dt.timedelta(hours=hour)).timestamp()


def calls() -> list[StoredCall]:
    records = [
        # 09h: resolved with one re-prompt, survey 5
        journal(
            "a",
            at(9),
            turns=[
                turn(1, "euh truc", "no_match", latency_ms=500.0),
                turn(2, "attestation", "matched", "attestation_droits", 0.9, 700.0),
                turn(3, "5", "survey", latency_ms=900.0),
            ],
            survey_score=5,
        ),
        # 09h: transferred after a clarify, then confirmed
        journal(
            "b",
            at(9),
            "transferred",
            "intent conseiller",
            [
                turn(1, "carte", "clarify", "carte_vitale_perdue", 0.5, 600.0),
                turn(2, "oui", "confirmed", "carte_vitale_perdue", 1.0, 800.0),
            ],
            transfer_queue="conseillers",
        ),
        # 03h: the caller hangs up during the greeting
        journal("c", at(3), "hung_up_by_caller", "", []),
        # 03h: the bot never spoke
        journal("d", at(3), "failed", "asr overloaded", [], greeting_ms=None),
        # 14h: resolved, but a callback is owed; keypad slot turn; survey 2
        journal(
            "e",
            at(14),
            "answered",
            "callback requested",
            [
                turn(1, None, "slot", dtmf="1", slots=["nir"], latency_ms=None),
                turn(2, "2", "survey", latency_ms=1000.0),
                turn(3, None, "no_input", latency_ms=None),
            ],
            callback_queue="rappels",
            survey_score=2,
        ),
        # 14h: transfer failed after an error
        journal(
            "f",
            at(14),
            "transfer_failed",
            "failure: asr timeout",
            [
                turn(1, "bonjour", "matched", "attestation_droits", 0.95, 400.0),
            ],
        ),
    ]
    return [from_journal(r, None) for r in records]


def test_rates() -> None:
    k = compute_kpis(calls(), at(0), at(24), PARIS)
    assert (k.offered, k.answered, k.answer_rate) == (6, 5, round(5 / 6, 4))
    # understood: matched a, survey a, confirmed b, slot e, survey e, matched f = 6
    # not understood: no_match a, clarify b = 2; no_input e counts for neither
    assert (k.turns_understood, k.turns_interpreted, k.understanding_rate) == (6, 8, 0.75)
    assert (k.contained, k.containment_rate) == (1, 0.2)  # only "a"; "e" owes a callback
    assert (k.transferred, k.transfer_rate) == (2, 0.4)
    assert k.transfer_reasons == {"failure": 1, "intent conseiller": 1}
    assert (k.abandoned, k.abandonment_rate) == (1, round(1 / 6, 4))
    assert k.failed == 2  # failed + transfer_failed
    assert k.outcomes["transferred"] == 1 and sum(k.outcomes.values()) == 6


def test_satisfaction_intents_and_latency() -> None:
    k = compute_kpis(calls(), at(0), at(24), PARIS)
    s = k.satisfaction
    assert (s.responses, s.mean, s.csat) == (2, 3.5, 0.5)
    assert s.scores == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert k.intents == {"attestation_droits": 2, "carte_vitale_perdue": 1}
    # latencies: 500 700 900 600 800 1000 400 -> p50 700, p95 970
    assert (k.latency.count, k.latency.p50_ms, k.latency.p95_ms) == (7, 700.0, 970.0)
    assert k.greeting.count == 5


def test_hours_are_local_and_cover_the_whole_day() -> None:
    k = compute_kpis(calls(), at(0), at(24), PARIS)
    assert len(k.by_hour) == 24
    volumes = {h.hour: (h.offered, h.answered) for h in k.by_hour if h.offered}
    assert volumes == {3: (2, 1), 9: (2, 2), 14: (2, 2)}
    assert k.by_hour[3].answer_rate == 0.5
    assert [(d.day, d.offered, d.answered, d.contained) for d in k.by_day] == [
        ("2026-11-03", 6, 5, 1)
    ]
    utc = compute_kpis(calls(), at(0), at(24), dt.UTC)
    assert {h.hour for h in utc.by_hour if h.offered} == {2, 8, 13}


def test_empty_period_has_no_rates() -> None:
    k = compute_kpis([], 0.0, 1.0)
    assert k.offered == 0 and k.answer_rate is None and k.understanding_rate is None
    assert k.latency.p50_ms is None and k.satisfaction.mean is None
    assert k.to_dict()["by_hour"][0] == {
        "hour": 0,
        "offered": 0,
        "answered": 0,
        "answer_rate": None,
    }


def test_helpers() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert transfer_reason("failure: boom") == "failure" and transfer_reason("") == "unspecified"
    [call] = [c for c in calls() if c.call_id == "e"]
    assert [understood(t) for t in call.turns] == [True, True, None]


def honest_calls() -> list[StoredCall]:
    """Calls as the bot records them now: each turn says whether it gave an answer."""
    answered = {"answered": True}
    records = [
        # resolved: the answer, then "anything else?" no
        journal(
            "resolved",
            at(10),
            turns=[
                turn(1, "attestation", "matched", "attestation_droits", 0.9, **answered),
                turn(2, "non merci", "follow_up", answered=False),
            ],
        ),
        # three silences: the bot hangs up, nobody got anything
        journal(
            "silent",
            at(10),
            "no_input",
            "no input",
            [turn(n, None, "no_input", latency_ms=None, answered=False) for n in (1, 2, 3)],
        ),
        # a back-office reply missing its fields: the fallback, then goodbye
        journal(
            "hook-down",
            at(11),
            turns=[
                turn(1, "mon remboursement", "matched", "suivi_remboursement", 0.9, answered=False),
                turn(
                    2,
                    "le 3 mars 1985",
                    "hook",
                    "suivi_remboursement",
                    answered=False,
                    hook_status="malformed",
                ),
                turn(3, "non", "follow_up", answered=False),
            ],
        ),
        # said goodbye straight away: resolved by the bot, but no question answered
        journal(
            "bye", at(11), turns=[turn(1, "au revoir", "matched", "au_revoir", 0.9, answered=False)]
        ),
        # out of hours: a callback is owed
        journal(
            "callback",
            at(22),
            "callback_requested",
            "callback requested",
            [turn(1, "conseiller", "closed", "conseiller", 0.9, answered=False)],
            callback_queue="rappels",
        ),
    ]
    return [from_journal(r, None) for r in records]


def test_containment_counts_only_calls_whose_question_was_answered() -> None:
    """Before, every call the bot hung up counted as resolved by the bot (4 of 5 here)."""
    k = compute_kpis(honest_calls(), at(0), at(24), PARIS)
    assert (k.contained, k.containment_rate) == (1, 0.2)
    assert (k.resolved, k.no_input) == (3, 1)
    assert k.outcomes == {"answered": 3, "callback_requested": 1, "no_input": 1}
    assert k.intents == {"attestation_droits": 1}  # the hook's fallback answered nothing
    assert [d.contained for d in k.by_day] == [1]


def test_callbacks_requested_closed_and_reached() -> None:
    def item(callback_id: str, status: str, result: str | None = None) -> Callback:
        return a_callback(callback_id, status=status, result=result)

    callbacks = [
        item("a", "closed", "reached"),
        item("b", "closed", "no_answer"),
        item("c", "expired"),
        item("d", "claimed"),
        item("e", "open"),
    ]
    k = compute_kpis([], at(0), at(24), PARIS, callbacks)
    c = k.callbacks
    assert (c.requested, c.closed, c.reached, c.expired, c.pending) == (5, 2, 1, 1, 2)
    assert k.to_dict()["callbacks"]["reach_rate"] == 0.2
    assert compute_kpis([], 0.0, 1.0).to_dict()["callbacks"]["reach_rate"] is None


def test_a_reply_to_more_details_is_understood_and_the_intent_counted_once() -> None:
    """The short answer's turn answered; yes or no to "more details?" was understood; a
    silence there is a no-input turn, understood or not by nobody."""
    turns = [
        turn(1, "le congé de paternité", "matched", "paternite", 0.9, answered=True),
        turn(2, "oui", "details", "paternite", answered=False),
        turn(3, None, "no_input", "paternite", answered=False),
    ]
    call = from_journal(journal("d", at(10), turns=turns), None)
    assert [understood(t) for t in call.turns] == [True, True, None]
    assert compute_kpis([call], at(0), at(24), PARIS).intents == {"paternite": 1}
