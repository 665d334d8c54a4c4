"""Normalisation: the differences speech recognition and typing make, removed."""

from __future__ import annotations

from callbot.dialplan.normalize import base_language, content_words, normalize_words


def test_case_accents_punctuation() -> None:
    assert normalize_words("Médecin TRAITANT, s’il vous plaît !", "fr-FR") == (
        "medecin",
        "traitant",
        "s",
        "il",
        "vous",
        "plait",
    )


def test_french_elision_splits_article() -> None:
    assert normalize_words("l'attestation d'assuré", "fr-FR") == ("l", "attestation", "d", "assure")
    assert content_words("l'attestation d'assuré", "fr-FR") == ("attestation", "assure")


def test_ligature() -> None:
    assert normalize_words("sœur", "fr-FR") == ("soeur",)


def test_small_numbers_spelled_in_the_language() -> None:
    assert normalize_words("3 jours", "fr-FR") == ("trois", "jours")
    assert normalize_words("21", "fr-FR") == ("vingt", "et", "un")
    assert normalize_words("15h30", "fr-FR") == ("quinze", "h", "trente")
    assert normalize_words("2 days", "en-US") == ("two", "days")


def test_long_digit_runs_stay_digits() -> None:
    assert normalize_words("0612345678", "fr-FR") == ("0612345678",)


def test_content_words_drop_fillers_and_repeats() -> None:
    words = content_words("Euh oui bonjour, je voudrais ma carte, ma carte Vitale", "fr-FR")
    assert words == ("carte", "vitale")
    assert content_words("um hi I need to reset my password", "en-US") == ("reset", "password")


def test_unknown_language_keeps_words() -> None:
    assert content_words("der Ausweis 3", "xx-XX") == ("der", "ausweis", "3")


def test_base_language() -> None:
    assert [base_language(t) for t in ("fr-FR", "en_US", "EN")] == ["fr", "en", "en"]
