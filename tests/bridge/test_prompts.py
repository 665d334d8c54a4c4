"""The warm transfer's prompts: the shipped file, the language choice, a bad file."""

from __future__ import annotations

import pytest

from callbot.bridge.prompts import parse_prompts, prompts_for, transfer_prompts
from callbot.errors import ConfigError

GOOD = """
[fr]
noanswer = "Personne."
callback = "Rappel."
"""


def test_shipped_prompts_cover_french_and_english() -> None:
    table = transfer_prompts()
    assert set(table) >= {"fr", "en"}
    assert "tapez 1" in table["fr"].noanswer
    assert "press 1" in table["en"].noanswer
    assert transfer_prompts() is table  # read once


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr-FR", "fr"), ("en-US", "en"), ("EN_gb", "en"), ("en", "en"), ("de-DE", "fr")],
)
def test_language_choice(language: str, expected: str) -> None:
    table = transfer_prompts()
    assert prompts_for(table, language) == table[expected]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[fr\n", r"x\.toml: "),
        ('fr = "oops"', r"\[fr\] must be a table"),
        ('[fr]\nnoanswer = "a"', r"\[fr\] needs exactly callback, noanswer \(missing callback\)$"),
        (GOOD + 'hello = "a"', r"\(unknown hello\)$"),
        ('[fr]\nnoanswer = " "\ncallback = "b"', r"\[fr\] noanswer must be a non-empty string"),
        ('[en]\nnoanswer = "a"\ncallback = "b"', r"no \[fr\] table"),
    ],
)
def test_bad_file_is_refused_with_its_name(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_prompts(text, "x.toml")


def test_good_file() -> None:
    assert parse_prompts(GOOD)["fr"].callback == "Rappel."
