"""Digit strings: French phone numbers, postcodes, and plain digit codes."""

from __future__ import annotations

from callbot.dialplan.validators.numbers import digit_string, first_number, tokens

_POSTCODE_PREFIXES = frozenset(
    [f"{d:02d}" for d in range(1, 96)] + ["97", "98"]
)  # 20 is Corsica (20000-20999); 97x overseas; 98x Monaco and the Pacific
_OVERSEAS = frozenset({"971", "972", "973", "974", "975", "976", "977", "978"})
_PACIFIC = frozenset({"980", "986", "987", "988"})


def parse_phone(text: str) -> str | None:
    """A French phone number as 10 digits ("0612345678"); "+33 6..." becomes "06..."."""
    digits = digit_string(text)
    if digits.startswith("0033"):
        digits = "0" + digits[4:]
    elif digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) == 10 and digits[0] == "0" and digits[1] != "0":
        return digits
    return None


def spoken_phone(digits: str) -> str:
    """ "06 12 34 56 78"."""
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def parse_postcode(text: str) -> str | None:
    """A French postcode: "75015", "soixante-quinze zéro quinze", "trente et un mille"."""
    digits = digit_string(text)
    if len(digits) != 5 and "mille" in tokens(text):
        value = first_number(text)
        digits = f"{value:05d}" if value is not None and value < 100_000 else digits
    if len(digits) != 5 or not digits.isdigit() or digits[:2] not in _POSTCODE_PREFIXES:
        return None
    if digits[:2] == "97" and digits[:3] not in _OVERSEAS:
        return None
    if digits[:2] == "98" and digits[:3] not in _PACIFIC:
        return None
    return digits


def parse_digits(text: str, min_digits: int, max_digits: int) -> str | None:
    """Any digit code (file, contract, invoice number) of an allowed length."""
    digits = digit_string(text)
    return digits if digits and min_digits <= len(digits) <= max_digits else None


def spoken_digits(digits: str) -> str:
    """Digits read in pairs, as French people read codes: "12 34 5"."""
    return spoken_phone(digits)
