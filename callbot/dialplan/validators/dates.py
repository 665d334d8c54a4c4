"""Dates as French callers say them, relative to a given day.

"hier", "avant-hier", "le 3 mars", "le premier juin 2024", "lundi dernier",
"il y a trois jours", "15/03/1985", or "15031985" typed on the keypad. The caller's
"today" is a parameter, so the same words always give the same date in tests.

Hand-written instead of ``dateparser``: that library is large, slow to import, and
still needs the "past or future?" decision that a slot knows and it does not.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from callbot.dialplan.validators.numbers import number_tokens, plain_words, tokens

When = Literal["past", "future", "any"]
"""Which way an incomplete date ("le 3 mars", "lundi") is read: the last such day on or
before today, the next one on or after today, or this year / this week."""

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
}  # fmt: skip
MONTH_NAMES = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip
WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6
}  # fmt: skip
_RELATIVE = (
    (("avant", "hier"), -2),
    (("apres", "demain"), 2),
    (("aujourd", "hui"), 0),
    (("hier",), -1),
    (("demain",), 1),
)
_UNIT_DAYS = {"jour": 1, "jours": 1, "semaine": 7, "semaines": 7}
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{2}|\d{4})(?!\d)")


def parse_date(text: str, today: dt.date, when: When = "any") -> dt.date | None:
    """The date ``text`` names, or None when it names none (or an impossible one)."""
    numeric = _NUMERIC.search(plain_words(text))
    if numeric:
        day, month, year = (int(g) for g in numeric.groups())
        return _make(_full_year(year, numeric.group(3), today), month, day)
    words = tokens(text)
    for parse in (_relative, _ago, _weekday, _day_month):
        found = parse(words, today, when)
        if found is not None:
            return found
    return None


def parse_keyed_date(digits: str, today: dt.date) -> dt.date | None:
    """A date typed on the keypad: DDMMYYYY or DDMMYY."""
    if not digits.isdigit() or len(digits) not in (6, 8):
        return None
    day, month, year = int(digits[:2]), int(digits[2:4]), digits[4:]
    return _make(_full_year(int(year), year, today), month, day)


def spoken_date(date: dt.date) -> str:
    """ "3 mars 2025", "1er juin 2024": how the bot reads a date back."""
    day = "1er" if date.day == 1 else str(date.day)
    return f"{day} {MONTH_NAMES[date.month - 1]} {date.year}"


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _full_year(year: int, written: str, today: dt.date) -> int:
    """Two-digit years: "85" is 1985, "24" is 2024 (the latest not after this year)."""
    if len(written) > 2:
        return year
    century = today.year - today.year % 100
    return century + year if century + year <= today.year else century - 100 + year


def _has(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def _relative(words: list[str], today: dt.date, when: When) -> dt.date | None:
    for phrase, days in _RELATIVE:
        if _has(words, phrase):
            return today + dt.timedelta(days=days)
    return None


def _ago(words: list[str], today: dt.date, when: When) -> dt.date | None:
    """ "il y a trois jours", "dans deux semaines"."""
    for number in number_tokens(words):
        unit = words[number.end] if number.end < len(words) else ""
        if unit not in _UNIT_DAYS:
            continue
        days = number.value * _UNIT_DAYS[unit]
        before = words[max(0, number.start - 2) : number.start]
        if before == ["il", "y"] or before[-1:] == ["a"]:
            return today - dt.timedelta(days=days)
        if before[-1:] == ["dans"]:
            return today + dt.timedelta(days=days)
    return None


def _weekday(words: list[str], today: dt.date, when: When) -> dt.date | None:
    """ "lundi dernier", "mardi prochain", "jeudi" (read per ``when``)."""
    for i, word in enumerate(words):
        if word not in WEEKDAYS or _followed_by_day_number(words, i):
            continue
        after = words[i + 1] if i + 1 < len(words) else ""
        ahead = (WEEKDAYS[word] - today.weekday()) % 7
        if after == "dernier" or (after != "prochain" and when != "future"):
            return today - dt.timedelta(days=(7 - ahead) % 7 or (7 if after == "dernier" else 0))
        return today + dt.timedelta(days=ahead or (7 if after == "prochain" else 0))
    return None


def _followed_by_day_number(words: list[str], i: int) -> bool:
    """ "lundi 3 mars" is a day of a month, read by :func:`_day_month`."""
    return i + 1 < len(words) and (words[i + 1].isdigit() or words[i + 1] in ("premier", "er"))


def _day_month(words: list[str], today: dt.date, when: When) -> dt.date | None:
    """ "le 3 mars", "premier juin 2024", "le trois mars deux mille vingt"."""
    numbers = number_tokens(words)
    for k, word in enumerate(words):
        if word not in MONTHS:
            continue
        day = _day_before(words, k)
        if day is None:
            continue
        year_token = next((n for n in numbers if n.start == k + 1), None)
        month = MONTHS[word]
        if year_token is not None and (year_token.value >= 1900 or len(year_token.digits) == 2):
            year = _full_year(year_token.value, year_token.digits, today)
            return _make(year, month, day)
        return _nearest(today, month, day, when)
    return None


def _day_before(words: list[str], k: int) -> int | None:
    before = words[k - 1] if k >= 1 else ""
    if before == "premier" or (before == "er" and k >= 2 and words[k - 2] == "1"):
        return 1
    for n in number_tokens(words[:k]):
        if n.end == k and 1 <= n.value <= 31:
            return n.value
    return None


def _nearest(today: dt.date, month: int, day: int, when: When) -> dt.date | None:
    this_year = _make(today.year, month, day)
    if when == "past" and (this_year is None or this_year > today):
        return _make(today.year - 1, month, day) if this_year is not None else None
    if when == "future" and this_year is not None and this_year < today:
        return _make(today.year + 1, month, day)
    return this_year
