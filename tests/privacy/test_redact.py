import itertools
import logging

import pytest

from callbot.privacy.evaluate import default_paths, load, parse_line, score
from callbot.privacy.redact import Kind, RedactingFilter, find, iban_valid, nir_like, redact

MIN_RECALL = 0.93
MIN_PRECISION = 0.97


class TestTestSet:
    def test_recall_and_precision_on_the_test_set(self) -> None:
        items = load(default_paths())
        assert len(items) >= 200
        result = score(items)
        assert result.recall >= MIN_RECALL, result.misses
        assert result.precision >= MIN_PRECISION, result.false_alarms

    def test_every_kind_is_in_the_test_set(self) -> None:
        kinds = {k for item in load(default_paths()) for k, _, _ in item.gold}
        assert kinds == {k.value for k in Kind}

    def test_annotation_parsing(self) -> None:
        item = parse_line("appelez le [TEL:06 12 34 56 78] merci")
        assert item.text == "appelez le 06 12 34 56 78 merci"
        assert item.gold == (("TEL", 11, 25),)


class TestPhone:
    @pytest.mark.parametrize(
        "text",
        [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "+33 6 12 34 56 78",
            "0033 6 12 34 56 78",
            "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
            "zéro six, soixante, douze, treize, quatorze",
        ],
    )
    def test_forms(self, text: str) -> None:
        assert redact(f"mon numéro c'est le {text}.") == "mon numéro c'est le <TEL>."

    def test_plus_prefix_is_masked_too(self) -> None:
        assert redact("rappelez le plus 33 6 44 55 66 77") == "rappelez le <TEL>"

    @pytest.mark.parametrize(
        "text",
        ["J'ai payé 1 250,50 euros.", "J'appelle le 36 46.", "J'habite au 75011 Paris."],
    )
    def test_numbers_that_are_not_phones(self, text: str) -> None:
        assert redact(text) == text


class TestNir:
    def test_valid_key_without_context(self) -> None:
        assert redact("c'est 2 49 07 75 075 841 61 voilà") == "c'est <NIR> voilà"

    def test_spoken_in_words(self) -> None:
        text = (
            "un soixante-trois dix soixante-quinze neuf cent trente-deux "
            "cinq cent vingt quatre-vingts"
        )
        assert redact(f"mon numéro de sécu {text}") == "mon numéro de sécu <NIR>"

    def test_thirteen_digits_need_a_cue(self) -> None:
        assert redact("numéro de sécu 1 62 12 33 063 214") == "numéro de sécu <NIR>"
        assert redact("la facture 1 234 567 891 234") == "la facture 1 234 567 891 234"

    def test_structure(self) -> None:
        assert nir_like("249077507584161", cue=False)
        assert not nir_like("549077507584161", cue=True)  # sex digit 5 does not exist
        assert not nir_like("249137507584161", cue=True)  # month 13


class TestOthers:
    def test_email_written_and_dictated(self) -> None:
        assert redact("mail jean.dupont@gmail.com. Merci") == "mail <EMAIL>. Merci"
        assert redact("c'est jean point dupont arobase free point fr") == "c'est <EMAIL>"

    def test_iban_checksum(self) -> None:
        assert iban_valid("FR7630006000011234567890189")
        assert not iban_valid("FR7630006000011234567890188")
        text = "IBAN FR29 3000 6671 0023 2706 6032 896 et voilà"
        assert redact(text) == "IBAN <IBAN> et voilà"

    def test_birth_date_needs_its_cue(self) -> None:
        assert redact("je suis né le 3 mars 1985") == "je suis né le <DATE_NAISSANCE>"
        assert redact("rendez-vous le 3 mars 1985") == "rendez-vous le 3 mars 1985"
        assert (
            redact("née le trois mars mille neuf cent quatre-vingt-cinq et voilà")
            == "née le <DATE_NAISSANCE> et voilà"
        )

    def test_findings_do_not_overlap(self) -> None:
        found = find("né le 03/03/1985, tel 06 12 34 56 78, sécu 1 85 03 75 123 456 78")
        assert [f.kind for f in found] == [Kind.BIRTH_DATE, Kind.TEL, Kind.NIR]
        assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_logging_filter_redacts_formatted_messages(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    handler = caplog.handler
    handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("caller said %r", "mon numéro c'est le 06 12 34 56 78")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "06 12" not in caplog.text
    assert "<TEL>" in caplog.text
