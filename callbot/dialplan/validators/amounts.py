"""Amounts in euros: "trente-deux euros cinquante", "1 234,50 €", "32,50", "32 € 50";
said back as "32 euros 50" (English "32.50 euros")."""

from __future__ import annotations

import re
from decimal import Decimal

from callbot.dialplan.validators.numbers import merge_thousands, number_tokens, plain_words, tokens

_DECIMAL = re.compile(r"(?<![\d,.])(\d+)[,.](\d{1,2})(?![\d])")
_CURRENCY = frozenset({"euro", "euros", "eur", "€"})
_CENTS = frozenset({"centime", "centimes", "cts"})


def parse_amount(text: str) -> Decimal | None:
    """The first amount said in ``text``, to the cent, or None."""
    plain = merge_thousands(plain_words(text).replace("€", " € "))
    decimal = _DECIMAL.search(plain)
    if decimal:
        return Decimal(f"{decimal.group(1)}.{decimal.group(2).ljust(2, '0')}")
    words = tokens(plain)
    numbers = number_tokens(words)
    if not numbers:
        return None
    first = numbers[0]
    if first.end < len(words) and words[first.end] in _CENTS:
        return Decimal(first.value) / 100
    j = first.end
    while j < len(words) and words[j] in _CURRENCY | {"et"}:
        j += 1
    cents = next((n for n in numbers[1:] if n.start == j), None)
    if cents is not None and cents.value < 100:
        return Decimal(first.value) + Decimal(cents.value) / 100
    return Decimal(first.value)


def parse_keyed_amount(digits: str) -> Decimal | None:
    """Keypad amount: euros, then optionally ``*`` and cents ("32*50")."""
    euros, _, cents = digits.partition("*")
    if not euros.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        return None
    return Decimal(euros) + (Decimal(cents.ljust(2, "0")) / 100 if cents else 0)


def spoken_amount(amount: Decimal, language: str = "fr-FR") -> str:
    """ "32 euros 50", "1234 euros", "50 centimes": how French people say an amount, which
    speech synthesis reads "trente-deux euros cinquante"; in English "32.50 euros",
    "50 cents"."""
    euros, cents = divmod(int((amount * 100).to_integral_value()), 100)
    unit = "euro" if euros == 1 else "euros"
    if not language.lower().startswith("fr"):
        if euros == 0:
            return f"{cents} cent" + ("" if cents == 1 else "s")
        return f"{euros}.{cents:02d} {unit}" if cents else f"{euros} {unit}"
    if euros == 0:
        return f"{cents} centime" + ("" if cents == 1 else "s")
    return f"{euros} {unit} {cents:02d}" if cents else f"{euros} {unit}"
