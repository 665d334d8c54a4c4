"""The clarification question reads right in French; what ``dialplan check`` flags."""

from __future__ import annotations

import pytest

from callbot.dialplan import DialogEngine, load_dialplan, parse_dialplan
from callbot.dialplan.model import BUILTIN_CLARIFY
from callbot.dialplan.wording import (
    clarify_sentence,
    french_junction,
    label_problem,
    wording_problems,
)
from tests.dialplan.conftest import DIALPLANS, MINIMAL_YAML

PROMPT = BUILTIN_CLARIFY["fr"].prompt


@pytest.mark.parametrize(
    ("label", "question"),
    [
        ("le suivi de vos remboursements", "parler du suivi de vos remboursements"),
        ("les bilans de prévention", "parler des bilans de prévention"),
        ("la pension d'invalidité", "parler de la pension d'invalidité"),
        ("l'application carte Vitale", "parler de l'application carte Vitale"),
        ("une réclamation", "parler d'une réclamation"),
        ("votre attestation de droits", "parler de votre attestation de droits"),
    ],
)
def test_label_joins_the_preposition(label: str, question: str) -> None:
    text = clarify_sentence(PROMPT, label, {}, "fr-FR")
    assert text == f"Vous voulez {question}, c'est bien ça ?"
    assert wording_problems(text, "fr-FR") == []


@pytest.mark.parametrize(
    ("preposition", "phrase", "joined"),
    [
        ("à", "le guichet", "au guichet"),
        ("à", "les indemnités", "aux indemnités"),
        ("De", "le suivi", "Du suivi"),
        ("de", "le", "de le"),  # a lone word: nothing to contract
        ("à", "une amie", "à une amie"),
    ],
)
def test_french_junction(preposition: str, phrase: str, joined: str) -> None:
    assert french_junction(preposition, phrase) == joined


def test_only_the_junction_is_rewritten() -> None:
    prompt = "Pensez à le signaler : il s'agit de ${intent_label} ?"
    text = clarify_sentence(prompt, "le vol de votre carte", {"caller_number": "06"}, "fr")
    assert text == "Pensez à le signaler : il s'agit du vol de votre carte ?"


def test_english_is_left_alone() -> None:
    text = clarify_sentence("Did you mean ${intent_label}?", "le suivi", {}, "en-US")
    assert text == "Did you mean le suivi?"
    assert label_problem("resetting your password", "en-US") is None
    assert wording_problems("de le", "en-US") == []


def test_engine_asks_with_the_contraction() -> None:
    text = MINIMAL_YAML.replace(
        "    answer: Votre attestation",
        "    label: le suivi de votre attestation\n    answer: Votre attestation",
    )
    engine = DialogEngine(parse_dialplan(text + "matching: {high: 0.99, low: 0.01}\n"))
    turn = engine.on_utterance("une attestation pour mon employeur")
    assert [a.text for a in turn.actions] == [  # type: ignore[attr-defined]
        "Vous voulez parler du suivi de votre attestation, c'est bien ça ?"
    ]


@pytest.mark.parametrize(
    "label", ["le suivi", "l'envoi", "votre compte", "la fin de l'appel", "d'autres soins"]
)
def test_noun_phrases(label: str) -> None:
    assert label_problem(label, "fr-FR") is None


@pytest.mark.parametrize("label", ["parler à un conseiller", "terminer l'appel", "j'ai perdu"])
def test_not_noun_phrases(label: str) -> None:
    problem = label_problem(label, "fr-FR")
    assert problem is not None and f"'de {label}'" in problem


def test_wording_problems() -> None:
    text = "Il faut de le faire, la attestation, si il faut, que on dise, Faites-le une fois."
    assert wording_problems(text, "fr") == [
        "'de le' is said 'du' (unless 'le' is a pronoun)",
        "'la attestation' is said 'l'attestation'",
        "'que on' is said 'qu'on'",
        "'si il' is said 's'il'",
    ]


@pytest.mark.parametrize("path", sorted(DIALPLANS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_question_reads_right(path: object) -> None:
    dialplan = load_dialplan(path)  # type: ignore[arg-type]
    clarify = dialplan.clarify or BUILTIN_CLARIFY["fr"]
    for intent in dialplan.intents:
        assert intent.label is not None, intent.id
        assert label_problem(intent.label, dialplan.language) is None
        question = clarify_sentence(clarify.prompt, intent.label, {}, dialplan.language)
        assert wording_problems(question, dialplan.language) == [], question
        assert " de le " not in question and " de parler" not in question
