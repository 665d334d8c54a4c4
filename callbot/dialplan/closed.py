"""What the caller hears when no agent answers: why, and when agents answer again.

On Easter Monday a caller must not hear "du lundi au vendredi de 8 h 30 à 17 h 30" as
if it were an ordinary Monday. :func:`closed_notice` picks the sentence of the case
(:func:`~callbot.dialplan.hours.closure`): the dialplan's own, else its ``message``,
else the built-in one, and the values of ``${holiday}`` and ``${reopens}``::

    Nous sommes fermés aujourd'hui, jour férié : Lundi de Pâques. Nous rouvrons demain à 8 h 30.
    Nous sommes fermés le week-end. Nous rouvrons lundi à 8 h 30.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from callbot.dialplan.hours import Closure, ClosureCase, closure, local_time
from callbot.dialplan.model import BusinessHours
from callbot.dialplan.normalize import base_language
from callbot.dialplan.templates import HOLIDAY, REOPENS
from callbot.dialplan.validators.dates import MONTH_NAMES

WEEK_AHEAD_DAYS = 6
"""Up to this many days ahead a reopening is named by its weekday alone ("lundi")."""

BUILTIN_CLOSED: Mapping[str, Mapping[ClosureCase | str, str]] = {
    "fr": {
        "holiday": "Nous sommes fermés aujourd'hui, jour férié : ${holiday}.",
        "closed_day": "Nous sommes exceptionnellement fermés aujourd'hui.",
        "weekend": "Nous sommes fermés le week-end.",
        "outside_hours": "Nos conseillers ne répondent pas à cette heure-ci.",
        REOPENS: "Nous rouvrons ${reopens}.",
    },
    "en": {
        "holiday": "We are closed today for a public holiday, ${holiday}.",
        "closed_day": "We are closed today.",
        "weekend": "We are closed at the weekend.",
        "outside_hours": "Our advisers are not available at this time.",
        REOPENS: "We reopen ${reopens}.",
    },
}
"""Sentences of each case, and the reopening sentence added when a reopening is known."""

_FR_NEAR = ("aujourd'hui", "demain")
_EN_NEAR = ("today", "tomorrow")
_FR_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClosedNotice:
    text: str
    """The sentence template to say."""
    values: Mapping[str, str]
    """``holiday`` and ``reopens``, for the template."""


def closed_notice(hours: BusinessHours, now: dt.datetime, language: str) -> ClosedNotice:
    """What to say at ``now`` when no agent answers (``outside_hours`` if they do)."""
    found = closure(hours, now, language)
    if found is None:  # the system clock moved past an opening since the caller checked
        found = Closure("outside_hours", local_time(hours, now), None)
    reopens = spoken_reopening(found.local, found.reopens, language) if found.reopens else ""
    values = {HOLIDAY: found.holiday or "", REOPENS: reopens}
    out = hours.out_of_hours
    own = getattr(out, found.case)
    if own is not None:
        return ClosedNotice(own, values)
    if out.message is not None:
        return ClosedNotice(out.message, values)
    wording = BUILTIN_CLOSED.get(base_language(language), BUILTIN_CLOSED["en"])
    text = wording[found.case] + (f" {wording[REOPENS]}" if reopens else "")
    return ClosedNotice(text, values)


def spoken_reopening(local: dt.datetime, reopens: dt.datetime, language: str) -> str:
    """ "aujourd'hui à 13 h 30", "demain à 8 h 30", "lundi à 8 h 30", "le mardi 6 janvier
    à 9 h" (English: "tomorrow at 8:30 am", "on Monday at 9 am"...)."""
    ahead = (reopens.date() - local.date()).days
    day = reopens.date()
    if base_language(language) == "fr":
        at = f"{reopens.hour} h" + (f" {reopens.minute:02d}" if reopens.minute else "")
        if ahead <= 1:
            return f"{_FR_NEAR[ahead]} à {at}"
        weekday = _FR_WEEKDAYS[day.weekday()]
        if ahead <= WEEK_AHEAD_DAYS:
            return f"{weekday} à {at}"
        first = "1er" if day.day == 1 else str(day.day)
        return f"le {weekday} {first} {MONTH_NAMES[day.month - 1]} à {at}"
    at = _english_time(reopens)
    if ahead <= 1:
        return f"{'today' if ahead == 0 else 'tomorrow'} at {at}"
    weekday = _EN_WEEKDAYS[day.weekday()]
    if ahead <= WEEK_AHEAD_DAYS:
        return f"on {weekday} at {at}"
    return f"on {weekday} {day.day} {_EN_MONTHS[day.month - 1]} at {at}"


def _english_time(when: dt.datetime) -> str:
    """ "8:30 am", "9 am", "12 pm"."""
    hour = when.hour % 12 or 12
    suffix = "am" if when.hour < 12 else "pm"
    return f"{hour}:{when.minute:02d} {suffix}" if when.minute else f"{hour} {suffix}"
