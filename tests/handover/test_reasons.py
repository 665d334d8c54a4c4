"""Transfer reasons for the agent: every engine code in French and in English."""

from __future__ import annotations

import pytest

from callbot.handover.reasons import (
    FIXED,
    HOOK_FAILURES,
    SLOT_FAILURES,
    reason_text,
    slot_label,
)

CODES = [
    *FIXED,
    *(f"slot nir {failure}" for failure in SLOT_FAILURES),
    *(f"hook dossier {status}" for status in HOOK_FAILURES),
    "intent carte_vitale",
]
"""Every reason code the dialog engine gives (callbot/dialplan: requests, filling, endings)."""

ENGLISH_WORDS = {"not", "understood", "input", "no", "slot", "hook", "intent", "timeout"}


@pytest.mark.parametrize("code", CODES)
def test_every_engine_code_reads_french_in_a_french_call(code: str) -> None:
    text = reason_text(code, "fr-FR")
    assert text != code
    assert not ENGLISH_WORDS & set(text.lower().replace("_", " ").split()), text


@pytest.mark.parametrize("code", CODES)
def test_every_engine_code_reads_english_in_an_english_call(code: str) -> None:
    text = reason_text(code, "en-US")
    assert text != code and text.isascii()
    assert reason_text(code, "fr-FR") != text


def test_words_of_the_dialplan_pass_unchanged() -> None:
    assert reason_text("le demandeur veut un conseiller", "fr-FR") == (
        "le demandeur veut un conseiller"
    )
    assert reason_text("  slot  x  ", "fr-FR") == "slot x"  # not a code: kept (spaces folded)


def test_slot_and_hook_names() -> None:
    assert (
        reason_text("slot code_postal not understood", "fr-FR")
        == "code postal : réponse non comprise"
    )
    assert reason_text("hook suivi_dossier timeout", "fr-FR") == (
        "le service « suivi dossier » n'a pas répondu à temps"
    )
    assert slot_label("date_naissance", "en-GB") == "date of birth"
    assert reason_text("intent carte_vitale", "fr-FR", {"carte_vitale": "la carte Vitale"}) == (
        "demande : la carte Vitale"
    )
