"""Business hours, French public holidays, and what the engine does out of hours."""

from __future__ import annotations

import datetime as dt

import pytest

from callbot.dialplan import CallbackRequest, DialogEngine, Ending, Hangup, Transfer, TurnOutcome
from callbot.dialplan.hours import Closure, closure, is_closed_day, is_open, next_opening
from callbot.dialplan.model import BusinessHours
from tests.dialplan.flows import (
    BASTILLE_DAY,
    EASTER_MONDAY,
    NIGHT,
    OPEN,
    PARIS,
    engine_at,
    flows,
    texts,
)


@pytest.fixture(scope="module")
def hours() -> BusinessHours:
    found = flows().hours
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (OPEN, True),
        (dt.datetime(2025, 3, 12, 8, 29, tzinfo=PARIS), False),
        (dt.datetime(2025, 3, 12, 8, 30, tzinfo=PARIS), True),
        (dt.datetime(2025, 3, 12, 12, 30, tzinfo=PARIS), False),  # Wednesday lunch break
        (dt.datetime(2025, 3, 12, 17, 29, tzinfo=PARIS), True),
        (dt.datetime(2025, 3, 12, 17, 30, tzinfo=PARIS), False),
        (NIGHT, False),
        (dt.datetime(2025, 3, 15, 10, 0, tzinfo=PARIS), False),  # Saturday
        (BASTILLE_DAY, False),
        (EASTER_MONDAY, False),
        (dt.datetime(2025, 5, 29, 10, 0, tzinfo=PARIS), False),  # Ascension
        (dt.datetime(2025, 6, 9, 10, 0, tzinfo=PARIS), False),  # Pentecost Monday
        (dt.datetime(2025, 12, 24, 10, 0, tzinfo=PARIS), False),  # closed_dates
        (dt.datetime(2025, 12, 23, 10, 0, tzinfo=PARIS), True),
    ],
)
def test_is_open(hours: BusinessHours, when: dt.datetime, expected: bool) -> None:
    assert is_open(hours, when) is expected


def test_time_zone(hours: BusinessHours) -> None:
    # 07:45 UTC is 08:45 in Paris in winter and 09:45 in summer: open both times
    assert is_open(hours, dt.datetime(2025, 3, 12, 7, 45, tzinfo=dt.UTC))
    assert not is_open(hours, dt.datetime(2025, 3, 12, 7, 15, tzinfo=dt.UTC))
    assert is_open(hours, dt.datetime(2025, 3, 12, 7, 45))  # naive is UTC


def test_moselle_has_good_friday(hours: BusinessHours) -> None:
    good_friday = dt.date(2025, 4, 18)
    assert not is_closed_day(hours, good_friday)
    moselle = hours.model_copy(update={"subdivision": "57"})
    assert is_closed_day(moselle, good_friday)
    assert is_closed_day(moselle, dt.date(2025, 12, 26))


def test_no_public_holidays(hours: BusinessHours) -> None:
    assert not is_closed_day(
        hours.model_copy(update={"public_holidays": None}), BASTILLE_DAY.date()
    )


@pytest.mark.parametrize(
    ("when", "case", "holiday"),
    [
        (dt.datetime(2026, 4, 6, 10, 0, tzinfo=PARIS), "holiday", "Lundi de Pâques"),
        (dt.datetime(2025, 12, 24, 10, 0, tzinfo=PARIS), "closed_day", None),
        (dt.datetime(2026, 3, 14, 10, 0, tzinfo=PARIS), "weekend", None),
        (dt.datetime(2026, 3, 10, 7, 0, tzinfo=PARIS), "outside_hours", None),
        (dt.datetime(2026, 3, 10, 18, 0, tzinfo=PARIS), "outside_hours", None),
    ],
)
def test_closure_cases(
    hours: BusinessHours, when: dt.datetime, case: str, holiday: str | None
) -> None:
    found = closure(hours, when)
    assert found is not None and (found.case, found.holiday) == (case, holiday)


def test_no_closure_when_open(hours: BusinessHours) -> None:
    assert closure(hours, OPEN) is None


def test_holiday_names_follow_the_language(hours: BusinessHours) -> None:
    found = closure(hours, EASTER_MONDAY, "en-US")
    assert isinstance(found, Closure) and found.holiday == "Easter Monday"
    moselle = hours.model_copy(update={"subdivision": "57"})
    good_friday = closure(moselle, dt.datetime(2026, 4, 3, 10, 0, tzinfo=PARIS))
    assert good_friday is not None and good_friday.holiday == "Vendredi saint"


def test_next_opening_skips_weekends_and_holidays(hours: BusinessHours) -> None:
    friday_evening = dt.datetime(2026, 5, 22, 18, 0, tzinfo=PARIS)  # Whit Monday follows
    assert next_opening(hours, friday_evening) == dt.datetime(2026, 5, 26, 8, 30, tzinfo=PARIS)
    lunch = dt.datetime(2026, 3, 11, 12, 0, tzinfo=PARIS)
    assert next_opening(hours, lunch) == dt.datetime(2026, 3, 11, 13, 30, tzinfo=PARIS)


class TestEngine:
    def test_transfer_in_hours(self) -> None:
        turn = engine_at(OPEN).on_dtmf("0")
        assert isinstance(turn.actions[-1], Transfer)

    @pytest.mark.parametrize("when", [NIGHT, BASTILLE_DAY, EASTER_MONDAY])
    def test_out_of_hours_says_hours_and_offers_callback(self, when: dt.datetime) -> None:
        engine = engine_at(when)
        turn = engine.on_utterance("je veux parler à un conseiller")
        assert turn.outcome is TurnOutcome.CLOSED and not turn.ended
        assert turn.intent == "conseiller"
        assert texts(turn) == [
            "Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.",
            "Souhaitez-vous être rappelé ?",
        ]
        assert not any(isinstance(a, Transfer) for a in turn.actions)

    def test_callback_flow(self) -> None:
        engine = engine_at(NIGHT)
        engine.on_dtmf("0")
        ask = engine.on_utterance("oui")
        assert texts(ask) == ["À quel numéro ?"]
        engine.on_utterance("06 12 34 56 78")
        done = engine.on_dtmf("1")
        assert done.ended and done.outcome is TurnOutcome.CALLBACK
        request = CallbackRequest(
            "0612345678",
            "rappels",
            reason="intent conseiller",
            intent="conseiller",
            language="fr-FR",
        )
        assert request in done.actions
        assert texts(done)[0] == "Un conseiller vous rappellera au 06 12 34 56 78."
        assert done.actions[-1] == Hangup("callback requested", Ending.CALLBACK)

    @pytest.mark.parametrize(
        ("answer", "preferred"),
        [("demain matin vers dix heures", "demain matin vers dix heures"), (None, None)],
    )
    def test_callback_asks_when_to_call(self, answer: str | None, preferred: str | None) -> None:
        """With ``time_prompt``, the number is followed by "when?": what the caller says is
        kept for the agent; a silence means no preference."""
        plan = flows(
            **{
                "      queue: rappels\n": "      queue: rappels\n"
                "      time_prompt: Quand préférez-vous être rappelé ?\n"
            }
        )
        engine = engine_at(NIGHT, plan)
        engine.on_utterance("je veux parler à un conseiller")
        engine.on_dtmf("1")
        engine.on_utterance("06 12 34 56 78")
        when = engine.on_dtmf("1")
        assert texts(when) == ["Quand préférez-vous être rappelé ?"] and not when.ended
        assert when.slots == (("callback_number", "0612345678"),)
        done = engine.on_utterance(answer) if answer else engine.on_no_input()
        assert done.ended and done.actions[-1] == Hangup("callback requested", Ending.CALLBACK)
        [request] = [a for a in done.actions if isinstance(a, CallbackRequest)]
        assert (request.number, request.preferred_time) == ("0612345678", preferred)
        assert texts(done)[0] == "Un conseiller vous rappellera au 06 12 34 56 78."

    def test_callback_refused(self) -> None:
        engine = engine_at(NIGHT)
        engine.on_dtmf("0")
        turn = engine.on_dtmf("2")
        assert turn.ended and turn.actions[-1] == Hangup("out of hours", Ending.CLOSED)

    def test_hangup_instead_of_callback(self) -> None:
        text_plan = flows(
            **{
                "    then: callback\n": "    then: hangup\n",
                "    callback:\n      offer: Souhaitez-vous être rappelé ?\n"
                "      number_prompt: À quel numéro ?\n"
                "      done: Un conseiller vous rappellera au ${callback_number}.\n"
                "      queue: rappels\n": "",
            }
        )
        turn = engine_at(NIGHT, text_plan).on_utterance("je veux parler à un conseiller")
        assert turn.ended and turn.actions[-1] == Hangup("out of hours", Ending.CLOSED)

    def test_no_match_transfer_is_also_blocked(self) -> None:
        engine = engine_at(NIGHT)
        for _ in range(2):
            engine.on_utterance("pizza quatre fromages")
        assert engine.on_utterance("pizza quatre fromages").outcome is TurnOutcome.CLOSED

    def test_error_out_of_hours_hangs_up(self) -> None:
        turn = engine_at(NIGHT).on_error()
        assert turn.ended and turn.actions[-1] == Hangup("error", Ending.ERROR)
        assert "Nos conseillers répondent" in " ".join(texts(turn))

    def test_bot_still_answers_out_of_hours(self) -> None:
        turn = engine_at(NIGHT).on_utterance("j'ai besoin d'une attestation de droits")
        assert turn.outcome is TurnOutcome.MATCHED

    def test_scope_call_closes_at_greeting(self) -> None:
        plan = flows(**{"    then: callback\n": "    scope: call\n    then: callback\n"})
        closed = DialogEngine(plan, now=NIGHT).start()
        assert closed.outcome is TurnOutcome.CLOSED
        assert texts(closed)[-1] == "Souhaitez-vous être rappelé ?"
        opened = DialogEngine(plan, now=OPEN).start()
        assert opened.outcome is TurnOutcome.GREETING
