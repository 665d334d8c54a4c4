"""What a caller hears when no agent answers: the case, the holiday's name, the reopening."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from callbot.dialplan import DialogEngine, Ending, Hangup, TurnOutcome
from callbot.dialplan.closed import closed_notice, spoken_reopening
from callbot.dialplan.model import BusinessHours
from callbot.dialplan.templates import render
from tests.dialplan.flows import PARIS, flows, texts

HOURS_MESSAGE = "    message: Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.\n"
NO_CALLBACK = {
    "    then: callback\n": "    then: hangup\n",
    "    callback:\n      offer: Souhaitez-vous être rappelé ?\n"
    "      number_prompt: À quel numéro ?\n"
    "      done: Un conseiller vous rappellera au ${callback_number}.\n"
    "      queue: rappels\n": "",
}


def built_in(language: str = "fr-FR") -> BusinessHours:
    """The flows hours without ``message``: the built-in sentence of each case."""
    plan = flows(**{HOURS_MESSAGE: "", "language: fr-FR": f"language: {language}"})
    assert plan.hours is not None
    return plan.hours


def said(hours: BusinessHours, when: dt.datetime, language: str = "fr-FR") -> str:
    notice = closed_notice(hours, when, language)
    return render(notice.text, notice.values)


def at(day: dt.date | str, clock: str = "10:00") -> dt.datetime:
    date = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime.combine(date, dt.time.fromisoformat(clock), tzinfo=PARIS)


FRENCH_HOLIDAYS = sorted(holidays.country_holidays("FR", years=[2026, 2027], language="fr").items())


@pytest.mark.parametrize(("day", "name"), FRENCH_HOLIDAYS, ids=lambda v: str(v))
def test_every_french_public_holiday_is_named(day: dt.date, name: str) -> None:
    text = said(built_in(), at(day))
    assert text.startswith(f"Nous sommes fermés aujourd'hui, jour férié : {name}.")
    assert "du lundi au vendredi" not in text


def test_the_holidays_of_the_year_include_the_moving_ones() -> None:
    names = {day.isoformat(): name for day, name in FRENCH_HOLIDAYS}
    assert names["2026-04-06"] == "Lundi de Pâques"
    assert names["2026-05-14"] == "Ascension"
    assert names["2026-05-25"] == "Lundi de Pentecôte"
    assert names["2027-03-29"] == "Lundi de Pâques"
    assert names["2027-05-06"] == "Ascension"
    assert names["2027-05-17"] == "Lundi de Pentecôte"
    assert len(FRENCH_HOLIDAYS) == 22  # the 11 legal holidays, twice


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # Easter Monday 2026, then Tuesday
        (at("2026-04-06"), "jour férié : Lundi de Pâques. Nous rouvrons demain à 8 h 30."),
        # Ascension 2026 is a Thursday: open on Friday
        (at("2026-05-14"), "jour férié : Ascension. Nous rouvrons demain à 8 h 30."),
        # Whit Monday 2027
        (at("2027-05-17"), "jour férié : Lundi de Pentecôte. Nous rouvrons demain à 8 h 30."),
        # 1 May 2026 is a Friday: back on Monday
        (at("2026-05-01"), "jour férié : Fête du Travail. Nous rouvrons lundi à 8 h 30."),
        # 1 May 2027 is a Saturday: the holiday is named, not the weekend
        (at("2027-05-01"), "jour férié : Fête du Travail. Nous rouvrons lundi à 8 h 30."),
    ],
)
def test_holiday_says_when_agents_are_back(when: dt.datetime, expected: str) -> None:
    assert said(built_in(), when).endswith(expected)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at("2026-03-14"), "Nous sommes fermés le week-end. Nous rouvrons lundi à 8 h 30."),
        (
            at("2026-03-15", "23:00"),
            "Nous sommes fermés le week-end. Nous rouvrons demain à 8 h 30.",
        ),
        # the weekend before Easter Monday: Tuesday
        (at("2026-04-04"), "Nous sommes fermés le week-end. Nous rouvrons mardi à 8 h 30."),
    ],
)
def test_weekend(when: dt.datetime, expected: str) -> None:
    assert said(built_in(), when) == expected


OUTSIDE = "Nos conseillers ne répondent pas à cette heure-ci."


@pytest.mark.parametrize(
    ("when", "reopens"),
    [
        (at("2026-03-10", "07:45"), "aujourd'hui à 8 h 30"),  # before opening
        (at("2026-03-11", "12:30"), "aujourd'hui à 13 h 30"),  # Wednesday lunch break
        (at("2026-03-10", "17:30"), "demain à 8 h 30"),  # closing time
        (at("2026-03-10", "23:59"), "demain à 8 h 30"),
        (at("2026-03-13", "18:00"), "lundi à 8 h 30"),  # Friday evening
        # Friday evening before Whit Monday (25 May 2026): Tuesday
        (at("2026-05-22", "18:00"), "mardi à 8 h 30"),
        # Thursday evening before 1 May 2026 (a Friday): Monday
        (at("2026-04-30", "19:00"), "lundi à 8 h 30"),
        # the evening before Ascension 2026 (Thursday 14 May): Friday
        (at("2026-05-13", "18:00"), "vendredi à 8 h 30"),
    ],
)
def test_outside_hours_says_the_reopening(when: dt.datetime, reopens: str) -> None:
    assert said(built_in(), when) == f"{OUTSIDE} Nous rouvrons {reopens}."


def test_closed_date() -> None:
    text = said(built_in(), at("2025-12-24"))
    assert text == (
        "Nous sommes exceptionnellement fermés aujourd'hui. Nous rouvrons vendredi à 8 h 30."
    )  # 25 December is Christmas


def test_english_built_in_sentences() -> None:
    hours = built_in("en-US")
    assert said(hours, at("2026-04-06"), "en-US") == (
        "We are closed today for a public holiday, Easter Monday. We reopen tomorrow at 8:30 am."
    )
    assert said(hours, at("2026-03-14"), "en-US") == (
        "We are closed at the weekend. We reopen on Monday at 8:30 am."
    )
    assert said(hours, at("2026-03-11", "12:30"), "en-US") == (
        "Our advisers are not available at this time. We reopen today at 1:30 pm."
    )


def test_a_reopening_weeks_away_names_the_date() -> None:
    local = at("2026-07-31", "18:00")
    assert spoken_reopening(local, at("2026-08-24", "09:00"), "fr-FR") == ("le lundi 24 août à 9 h")
    assert spoken_reopening(local, at("2026-09-01", "14:15"), "en-US") == (
        "on Tuesday 1 September at 2:15 pm"
    )


def test_hours_that_never_open_say_no_reopening() -> None:
    never = built_in().model_copy(
        update={day: () for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    )
    assert said(never, at("2026-03-10")) == "Nous sommes exceptionnellement fermés aujourd'hui."


class TestOwnSentences:
    def test_the_single_message_is_still_said_in_every_case(self) -> None:
        hours = flows().hours
        assert hours is not None
        for when in (at("2026-04-06"), at("2026-03-14"), at("2026-03-10", "20:00")):
            assert said(hours, when) == (
                "Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30."
            )

    def test_a_case_sentence_wins_over_the_message(self) -> None:
        plan = flows(
            **{
                HOURS_MESSAGE: HOURS_MESSAGE
                + "    holiday: Joyeux ${holiday} ! Retour ${reopens}.\n"
                + "    weekend: Bon week-end, à ${reopens}.\n"
            }
        )
        assert plan.hours is not None
        assert said(plan.hours, at("2026-05-14")) == "Joyeux Ascension ! Retour demain à 8 h 30."
        assert said(plan.hours, at("2026-03-14")) == "Bon week-end, à lundi à 8 h 30."
        assert said(plan.hours, at("2026-03-10", "20:00")).startswith("Nos conseillers répondent")


class TestEngine:
    def test_the_caller_hears_the_holiday_not_the_weekly_hours(self) -> None:
        plan = flows(**{HOURS_MESSAGE: "", **NO_CALLBACK})
        engine = DialogEngine(plan, now=at("2026-05-25"))
        engine.start()
        turn = engine.on_dtmf("0")
        assert turn.outcome is TurnOutcome.CLOSED and turn.actions[-1] == Hangup(
            "out of hours", Ending.CLOSED
        )
        assert texts(turn) == [
            "Nous sommes fermés aujourd'hui, jour férié : Lundi de Pentecôte. "
            "Nous rouvrons demain à 8 h 30.",
            "Au revoir.",
        ]

    def test_a_naive_instant_is_the_dialplan_local_time(self) -> None:
        plan = flows(**{HOURS_MESSAGE: "", **NO_CALLBACK})
        # 08:15 in Paris is before opening; read as UTC it would be 09:15, open
        early = DialogEngine(plan, now=dt.datetime(2026, 3, 10, 8, 15))
        early.start()
        assert texts(early.on_dtmf("0"))[0].endswith("Nous rouvrons aujourd'hui à 8 h 30.")
        opened = DialogEngine(plan, now=dt.datetime(2026, 3, 10, 8, 45))
        opened.start()
        assert opened.on_dtmf("0").outcome is not TurnOutcome.CLOSED

    def test_an_error_out_of_hours_says_why(self) -> None:
        plan = flows(**{HOURS_MESSAGE: ""})
        engine = DialogEngine(plan, now=at("2026-04-06"))
        engine.start()
        turn = engine.on_error()
        assert turn.actions[-1] == Hangup("error", Ending.ERROR)
        assert "Lundi de Pâques" in " ".join(texts(turn))
