"""Clustering of not-understood utterances into candidate intents."""

from __future__ import annotations

from callbot.records.clusters import cluster_utterances, not_understood, words
from callbot.records.model import from_journal
from tests.records.seed import journal, turn

ADDRESS = [
    "je voudrais changer mon adresse",
    "changement d'adresse",
    "changer d'adresse postale",
    "mon adresse a changé",
    "je voudrais changer mon adresse",
]
APPOINTMENT = [
    "je veux un rendez-vous avec un médecin",
    "prendre rendez-vous médecin",
    "rendez-vous médecin traitant",
]
SPA = ["c'est pour une cure thermale", "remboursement cure thermale"]
NOISE = ["euh", "il fait beau", "bonjour"]


def test_themes_become_separate_clusters_with_counts_and_examples() -> None:
    clusters = cluster_utterances(ADDRESS + APPOINTMENT + SPA + NOISE)
    assert [c.count for c in clusters] == [5, 3, 2]
    address, appointment, spa = clusters
    assert "adresse" in address.label.split()
    assert "medecin" in appointment.label.split() and "rendez" in appointment.label.split()
    assert "cure" in spa.label.split() and "thermale" in spa.label.split()
    assert address.examples[0] == "je voudrais changer mon adresse"  # the most repeated first
    assert set(address.examples) <= set(ADDRESS) and len(address.examples) == 3
    assert address.share == round(5 / 13, 4)


def test_singletons_and_stop_words_only_are_left_out() -> None:
    assert cluster_utterances(NOISE) == []
    assert [c.count for c in cluster_utterances(NOISE, min_count=1)] == [1]  # "beau"
    assert cluster_utterances([]) == []


def test_words_drop_accents_stop_words_and_redaction_placeholders() -> None:
    assert words("Mon numéro est <TEL>, j'ai changé d'ADRESSE") == ["numero", "change", "adresse"]


def test_not_understood_takes_no_match_and_clarify_text_only() -> None:
    record = journal(
        "c1",
        0.0,
        turns=[
            turn(1, "cure thermale", "no_match"),
            turn(2, "carte", "clarify", "carte_vitale_perdue", 0.5),
            turn(3, "attestation", "matched", "attestation_droits", 0.9),
            turn(4, None, "no_match", dtmf="9"),
            turn(5, "  ", "no_match"),
        ],
    )
    assert not_understood([from_journal(record, None)]) == ["cure thermale", "carte"]
