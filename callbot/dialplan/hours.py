"""Whether agents are answering at a given instant: weekly hours, public holidays, closures.

Pure: the instant is a parameter (the engine gets it from an injectable clock), so
tests can call on 14 July or Easter Monday. Public holidays come from the
``holidays`` package (France: the 11 legal days, plus Good Friday and 26 December
for the Moselle subdivision ``"57"``).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from callbot.dialplan.model import BusinessHours


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def local_time(hours: BusinessHours, now: dt.datetime) -> dt.datetime:
    """``now`` in the hours' time zone (a naive ``now`` is taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(ZoneInfo(hours.timezone))


def is_closed_day(hours: BusinessHours, day: dt.date) -> bool:
    """A public holiday or an extra closed date."""
    if day.isoformat() in hours.closed_dates:
        return True
    if hours.public_holidays is None:
        return False
    return day in _holiday_calendar(hours.public_holidays, hours.subdivision, day.year)


def is_open(hours: BusinessHours, now: dt.datetime) -> bool:
    """Whether ``now`` falls in an opening range of a day that is not closed."""
    local = local_time(hours, now)
    if is_closed_day(hours, local.date()):
        return False
    clock = local.strftime("%H:%M")
    for span in hours.ranges(local.weekday()):
        start, end = span.split("-")
        if start <= clock < end:
            return True
    return False
