"""Normalisation: the differences speech recognition and typing make, removed."""

from __future__ import annotations

from callbot.dialplan.normalize import (
    base_language,
    content_words,
    matching_words,
    normalize_words,
    weak_words,
)


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


def test_spelled_letters_are_one_word() -> None:
    assert normalize_words("je suis en a l d", "fr-FR") == ("je", "suis", "en", "ald")
    assert normalize_words("la C.S.S.", "fr-FR") == ("la", "css")
    assert normalize_words("a m e", "fr-FR") == ("ame",)  # "a" with two other letters
    assert normalize_words("the v p n", "en-US") == ("the", "vpn")


def test_letters_around_digits_stay_one_name() -> None:
    for said in ("C2S", "c 2 s", "c deux s"):
        assert normalize_words(said, "fr-FR") == ("c2s",), said
    assert normalize_words("la 4G", "fr-FR") == ("la", "quatre", "g")


def test_words_of_one_letter_are_not_spelled_letters() -> None:
    assert normalize_words("il y a", "fr-FR") == ("il", "y", "a")
    assert normalize_words("n'a pas", "fr-FR") == ("n", "a", "pas")
    assert normalize_words("vitamine c 2 fois", "fr-FR") == ("vitamine", "c", "deux", "fois")


def test_weak_words_kept_for_matching_only() -> None:
    assert matching_words("c'est tout merci", "fr-FR") == ("tout", "merci")
    assert content_words("c'est tout merci", "fr-FR") == ()
    assert "thanks" in weak_words("en-US")
    assert weak_words("de-DE") == frozenset()


def test_glued_elisions_are_stop_words() -> None:
    assert content_words("jai perdu cest ma carte", "fr-FR") == ("perdu", "carte")


def test_split_compounds_are_joined_when_known() -> None:
    known = frozenset({"password", "wifi"})
    assert matching_words("my pass word and the wi-fi", "en-US", known) == ("password", "wifi")
    assert matching_words("my pass word", "en-US") == ("pass", "word")
    assert content_words("mais mes relevés", "fr-FR") == ("releves",)


def test_elided_article_is_not_a_spelled_letter() -> None:
    assert normalize_words("l'a m e pour ma femme", "fr-FR")[:2] == ("l", "ame")
    assert normalize_words("l a m e", "fr-FR") == ("lame",)  # no apostrophe: letters
    assert normalize_words("aujourd'hui", "fr-FR") == ("aujourd", "hui")


def test_letter_hyphenated_to_a_word_is_one_word() -> None:
    assert normalize_words("mon adresse e-mail", "fr-FR") == ("mon", "adresse", "email")
    assert normalize_words("y a-t-il un e-mail", "fr-FR") == ("y", "a", "t", "il", "un", "email")


def test_two_small_words_are_not_joined_into_a_known_word() -> None:
    known = {"parle", "ame", "ameli"}
    assert matching_words("convoqué par le médecin", "fr-FR", known) == ("convoque", "medecin")
    said = "je n'arrive pas à me connecter"
    assert matching_words(said, "fr-FR", known) == ("arrive", "connecter")
    assert matching_words("le compte a meli", "fr-FR", known) == ("compte", "ameli")


def test_small_word_with_its_pronoun_glued_on_is_a_small_word() -> None:
    assert matching_words("jaimerais mes relevés", "fr-FR") == ("releves",)
    assert matching_words("jvoudrais ma carte", "fr-FR") == ("carte",)
    assert matching_words("mal à la tete", "fr-FR") == ("mal", "tete")  # not "t'ete"
    assert matching_words("jaimerais", "fr-FR", {"jaimerais"}) == ("jaimerais",)
