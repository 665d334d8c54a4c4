"""Typed slot validators: what the caller said (or typed) -> a checked value, or None.

Pure functions of the text and a few :class:`Rules`; each type lives in its own
module. A valid value has a canonical form (sent to back-offices, recorded) and a
spoken form (read back in the confirmation and in answer templates)::

    validate("phone", "zéro six douze trente-quatre 56 78 90", rules)
    -> SlotValue(value="0612345678", spoken="06 12 34 56 78 90")
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from callbot.dialplan.validators.amounts import parse_amount, parse_keyed_amount, spoken_amount
from callbot.dialplan.validators.codes import (
    parse_digits,
    parse_phone,
    parse_postcode,
    spoken_digits,
    spoken_phone,
)
from callbot.dialplan.validators.dates import When, parse_date, parse_keyed_date, spoken_date
from callbot.dialplan.validators.nir import nir_key_mismatch, parse_nir, spoken_nir
from callbot.dialplan.validators.numbers import first_number
from callbot.dialplan.yesno import yes_or_no

Refusal = Literal["nir_key"]
"""Why a value was refused, when the caller can be told better than "not understood"."""

SlotType = Literal["number", "digits", "phone", "date", "amount", "nir", "postcode", "yesno"]
SLOT_TYPES: tuple[str, ...] = SlotType.__args__  # type: ignore[attr-defined]

KEYED_LENGTH = {"phone": 10, "postcode": 5, "nir": 15}
"""Types whose keypad entry is complete at this many digits, without ``#``."""


@dataclass(frozen=True, slots=True)
class SlotValue:
    value: str
    """Canonical form: "0612345678", "2025-03-03", "32.50", "yes"."""
    spoken: str
    """What the bot says: "06 12 34 56 78", "3 mars 2025", "32 euros 50", "oui"."""


@dataclass(frozen=True, slots=True)
class Rules:
    """What a slot accepts besides its type."""

    today: dt.date
    """The caller's today, for "hier" and "le 3 mars"."""
    language: str = "fr-FR"
    when: When = "any"
    min_digits: int = 1
    max_digits: int = 20
    min_value: int | None = None
    max_value: int | None = None


def validate(kind: str, text: str, rules: Rules) -> SlotValue | None:
    """The value of type ``kind`` said in ``text``, or None when there is none."""
    if kind == "date":
        date = parse_date(text, rules.today, rules.when)
        return _date(date, rules)
    if kind == "amount":
        amount = parse_amount(text)
        if amount is None or not _in_range(int(amount), rules):
            return None
        return SlotValue(f"{amount:.2f}", spoken_amount(amount, rules.language))
    if kind == "number":
        number = first_number(text)
        if number is None or not _in_range(number, rules):
            return None
        return SlotValue(str(number), str(number))
    if kind == "yesno":
        answer = yes_or_no(text, rules.language).answer
        return None if answer is None else _yes_no(answer, rules.language)
    return _code(kind, text, rules)


def validate_keyed(kind: str, digits: str, rules: Rules) -> SlotValue | None:
    """The value typed on the keypad (``#`` already removed), or None."""
    if kind == "date":
        return _date(parse_keyed_date(digits, rules.today), rules)
    if kind == "amount":
        amount = parse_keyed_amount(digits)
        if amount is None or not _in_range(int(amount), rules):
            return None
        return SlotValue(f"{amount:.2f}", spoken_amount(amount, rules.language))
    if kind == "yesno":
        return _yes_no(digits == "1", rules.language) if digits in ("1", "2") else None
    if "*" in digits:
        return None
    return validate(kind, digits, rules)


def refusal(kind: str, text: str) -> Refusal | None:
    """Why ``text`` (said, or keyed without ``#``) holds no valid value of type ``kind``,
    when it is worth saying: ``nir_key``, a NIR whose key does not fit its digits."""
    if kind == "nir" and nir_key_mismatch(text):
        return "nir_key"
    return None


def _code(kind: str, text: str, rules: Rules) -> SlotValue | None:
    if kind == "phone":
        phone = parse_phone(text)
        return None if phone is None else SlotValue(phone, spoken_phone(phone))
    if kind == "postcode":
        code = parse_postcode(text)
        return None if code is None else SlotValue(code, code)
    if kind == "nir":
        nir = parse_nir(text)
        return None if nir is None else SlotValue(nir, spoken_nir(nir))
    if kind == "digits":
        digits = parse_digits(text, rules.min_digits, rules.max_digits)
        return None if digits is None else SlotValue(digits, spoken_digits(digits))
    raise ValueError(f"unknown slot type {kind!r}")


def _date(date: dt.date | None, rules: Rules) -> SlotValue | None:
    if date is None:
        return None
    if (rules.when == "past" and date > rules.today) or (
        rules.when == "future" and date < rules.today
    ):
        return None
    return SlotValue(date.isoformat(), spoken_date(date))


def _yes_no(answer: bool, language: str) -> SlotValue:
    french = language.lower().startswith("fr")
    spoken = ("oui" if answer else "non") if french else ("yes" if answer else "no")
    return SlotValue("yes" if answer else "no", spoken)


def _in_range(value: int, rules: Rules) -> bool:
    low, high = rules.min_value, rules.max_value
    return (low is None or value >= low) and (high is None or value <= high)


__all__ = [
    "KEYED_LENGTH",
    "SLOT_TYPES",
    "Refusal",
    "Rules",
    "SlotType",
    "SlotValue",
    "refusal",
    "validate",
]
