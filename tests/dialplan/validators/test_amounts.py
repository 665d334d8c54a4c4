"""Amounts in euros, spoken or written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from callbot.dialplan.validators.amounts import parse_amount, parse_keyed_amount, spoken_amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("trente-deux euros cinquante", "32.50"),
        ("trente-deux euros et cinquante centimes", "32.50"),
        ("trente-deux cinquante", "32.50"),
        ("32,50", "32.50"),
        ("32.5 €", "32.50"),
        ("32 € 50", "32.50"),
        ("1 234,50 €", "1234.50"),
        ("1234,50 euros", "1234.50"),
        ("1.234,50 €", "1234.50"),
        ("mille deux cent trente-quatre euros", "1234.00"),
        ("cent euros", "100.00"),
        ("j'ai payé 25 euros", "25.00"),
        ("quatre-vingt-dix-neuf centimes", "0.99"),
        ("deux mille euros", "2000.00"),
    ],
)
def test_parse(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


def test_no_amount() -> None:
    assert parse_amount("je ne sais pas combien") is None


def test_keyed() -> None:
    assert parse_keyed_amount("32*50") == Decimal("32.50")
    assert parse_keyed_amount("32*5") == Decimal("32.50")
    assert parse_keyed_amount("32") == Decimal(32)
    assert parse_keyed_amount("32*505") is None
    assert parse_keyed_amount("*5") is None


def test_spoken() -> None:
    assert spoken_amount(Decimal("32.50")) == "32 euros 50"
    assert spoken_amount(Decimal("1.05")) == "1 euro 05"
    assert spoken_amount(Decimal("40")) == "40 euros"
    assert spoken_amount(Decimal("0.99")) == "99 centimes"


def test_spoken_in_english() -> None:
    assert spoken_amount(Decimal("12.50"), "en-US") == "12.50 euros"
    assert spoken_amount(Decimal("1"), "en-GB") == "1 euro"
    assert spoken_amount(Decimal("0.01"), "en-US") == "1 cent"
    assert spoken_amount(Decimal("0.01"), "fr-FR") == "1 centime"
