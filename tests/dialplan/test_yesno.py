"""Yes/no answers in French and English, with what follows them."""

from __future__ import annotations

import pytest

from callbot.dialplan.yesno import YesNo, yes_or_no


@pytest.mark.parametrize(
    "text",
    [
        "oui",
        "Ouais !",
        "exactement",
        "euh oui oui",
        "tout à fait",
        "c'est ça",
        "yes",
        "Yeah.",
        "merci oui",
        "je veux bien",
        "allez-y",
        "vas-y",
        "pourquoi pas",
        "avec plaisir",
        "go ahead",
    ],
)
def test_yes(text: str) -> None:
    assert yes_or_no(text, "fr-FR") == YesNo(True, "")


@pytest.mark.parametrize(
    "text",
    [
        "non",
        "Non.",
        "pas du tout",
        "nan",
        "no",
        "not at all",
        "non non",
        "absolument pas",
        "c'est tout",
        "thanks, that's all",
    ],
)
def test_no(text: str) -> None:
    assert yes_or_no(text, "fr-FR") == YesNo(False, "")


def test_rest_is_kept() -> None:
    assert yes_or_no("Non, c'est pour ma carte Vitale", "fr-FR") == YesNo(
        False, "c est pour ma carte vitale"
    )


def test_neither() -> None:
    assert yes_or_no("je voudrais une attestation", "fr-FR").answer is None
    assert yes_or_no("nonobstant", "fr-FR").answer is None
    assert yes_or_no("", "en-US") == YesNo(None, "")
