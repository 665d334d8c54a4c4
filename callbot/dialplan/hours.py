"""Whether agents are answering at a given instant: weekly hours, public holidays, closures.

Pure: the instant is a parameter (the engine gets it from an injectable clock), so
tests can call on 14 July or Easter Monday. Public holidays come from the
``holidays`` package (France: the 11 legal days, plus Good Friday and 26 December
for the Moselle subdivision ``"57"``), with their names in the dialplan's language
when the package has it ("Lundi de Pâques", "Easter Monday").

When no agent answers, :func:`closure` says why (a public holiday, a closed day, the
weekend, or outside the day's hours) and when they answer again, which is what the
caller hears (:mod:`callbot.dialplan.closed`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from callbot.dialplan.model import BusinessHours

ClosureCase = Literal["holiday", "closed_day", "weekend", "outside_hours"]

REOPENING_HORIZON_DAYS = 366
"""How far ahead the next opening is looked for (hours with no range at all never open)."""

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class Closure:
    """Why no agent answers at ``local``, and when they answer again."""

    case: ClosureCase
    """``holiday``, ``closed_day`` (a date of ``closed_dates``, or a weekday without
    hours), ``weekend`` (Saturday or Sunday without hours), ``outside_hours`` (before
    opening, between two ranges, after closing)."""
    local: dt.datetime
    """The instant, in the hours' time zone."""
    reopens: dt.datetime | None
    """Start of the next opening range (local); None when none comes within a year."""
    holiday: str | None = None
    """The public holiday's name (case ``holiday``)."""


@lru_cache(maxsize=64)
def _holiday_calendar(
    country: str, subdivision: str | None, year: int, language: str | None
) -> Mapping[dt.date, str]:
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return dict(found)


@lru_cache(maxsize=32)
def _holiday_language(country: str, language: str) -> str | None:
    """The ``holidays`` translation closest to ``language`` (``fr-FR`` -> ``fr``,
    ``en-GB`` -> ``en_US``); None: the package's default."""
    supported = tuple(holidays.country_holidays(country).supported_languages)
    tag = language.replace("-", "_")
    base = tag.split("_")[0]
    for candidate in (tag, base, *(s for s in supported if s.split("_")[0] == base)):
        if candidate in supported:
            return candidate
    return None


def local_time(hours: BusinessHours, now: dt.datetime) -> dt.datetime:
    """``now`` in the hours' time zone (a naive ``now`` is taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(ZoneInfo(hours.timezone))


def holiday_name(hours: BusinessHours, day: dt.date, language: str = "fr-FR") -> str | None:
    """The name of the public holiday ``day`` is, in ``language`` when known; else None."""
    if hours.public_holidays is None:
        return None
    lang = _holiday_language(hours.public_holidays, language)
    calendar = _holiday_calendar(hours.public_holidays, hours.subdivision, day.year, lang)
    return calendar.get(day)


def is_closed_day(hours: BusinessHours, day: dt.date) -> bool:
    """A public holiday or an extra closed date."""
    return day.isoformat() in hours.closed_dates or holiday_name(hours, day) is not None


def _spans(hours: BusinessHours, weekday: int) -> list[tuple[str, str]]:
    """Opening ranges of ``weekday`` as sorted ``("08:30", "12:00")`` pairs."""
    pairs = (span.split("-", 1) for span in hours.ranges(weekday))
    return sorted((start, end) for start, end in pairs)


def is_open(hours: BusinessHours, now: dt.datetime) -> bool:
    """Whether ``now`` falls in an opening range of a day that is not closed."""
    local = local_time(hours, now)
    if is_closed_day(hours, local.date()):
        return False
    clock = local.strftime("%H:%M")
    return any(start <= clock < end for start, end in _spans(hours, local.weekday()))


def next_opening(hours: BusinessHours, local: dt.datetime) -> dt.datetime | None:
    """The start of the first opening range after ``local`` (a local time), or None."""
    clock = local.strftime("%H:%M")
    for ahead in range(REOPENING_HORIZON_DAYS + 1):
        day = local.date() + dt.timedelta(days=ahead)
        if is_closed_day(hours, day):
            continue
        for start, _ in _spans(hours, day.weekday()):
            if ahead or start > clock:
                at = dt.time.fromisoformat(start)
                return dt.datetime.combine(day, at, tzinfo=local.tzinfo)
    return None


def closure(hours: BusinessHours, now: dt.datetime, language: str = "fr-FR") -> Closure | None:
    """Why agents do not answer at ``now`` (holiday name in ``language``); None when open."""
    if is_open(hours, now):
        return None
    local = local_time(hours, now)
    day = local.date()
    reopens = next_opening(hours, local)
    name = holiday_name(hours, day, language)
    if name is not None:
        return Closure("holiday", local, reopens, name)
    if day.isoformat() in hours.closed_dates:
        return Closure("closed_day", local, reopens)
    if not hours.ranges(day.weekday()):
        case: ClosureCase = "weekend" if day.weekday() >= SATURDAY else "closed_day"
        return Closure(case, local, reopens)
    return Closure("outside_hours", local, reopens)
