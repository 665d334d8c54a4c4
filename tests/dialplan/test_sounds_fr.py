"""The sounds-fr test dialplan against what Whisper base really heard in the recordings.

The end-to-end audio test (tests/data/dialplans/README.md) needs these mappings to
hold; pinning the transcripts here catches a matcher or dialplan change that would
break it, without running a model.
"""

from __future__ import annotations

import pytest

from callbot.dialplan import DialogEngine, Dialplan, TurnOutcome, load_dialplan
from tests.dialplan.conftest import TEST_DIALPLANS

ANSWERED = [
    (
        "vm-newpassword",
        "Veuillez composer votre nouveau mot de passe suivi du diètre.",
        "mot_de_passe",
    ),
    (
        "vm-reenterpassword",
        "Composez votre mot de passe de nouveau suivi du diètre.",
        "mot_de_passe",
    ),
    ("queue-callswaiting", "On attendent pour parler à un préposé.", "conseiller"),
    ("queue-callswaiting", "On attendre pour parler à un proposer.", "conseiller"),
    ("queue-quantity2", "Appelant en attente pour parler un représentant.", "conseiller"),
    ("telephone-number", "Numéro de téléphone.", "numero_telephone"),
    ("vm-incorrect", "Accès refusé.", "acces_compte"),
    ("vm-goodbye", "au revoir.", "au_revoir"),
]
BEST_CANDIDATE = [
    ("vm-password", "Moude passe.", "mot_de_passe"),
    ("vm-password", "Mou de passe.", "mot_de_passe"),
    ("vm-passchanged", "Votre mode passe a été changé.", "mot_de_passe"),
    (
        "vm-mailboxfull",
        "Désolé, mais cette boîte vacale peut recevoir de nouveaux messages.",
        "messagerie_pleine",
    ),
    (
        "privacy-prompt",
        "Veuillez entre votre numéro de téléphone en commençant par l'indicatif régional.",
        "numero_telephone",
    ),
]
NOT_UNDERSTOOD = ["Salut tout le monde !", "Allô !", "Un moment s'il vous plaît."]


@pytest.fixture(scope="module")
def sounds() -> Dialplan:
    return load_dialplan(TEST_DIALPLANS / "sounds-fr.yaml")


@pytest.mark.parametrize(("wav", "heard", "intent"), ANSWERED)
def test_answered(sounds: Dialplan, wav: str, heard: str, intent: str) -> None:
    engine = DialogEngine(sounds)
    engine.start()
    turn = engine.on_utterance(heard)
    assert (turn.outcome, turn.intent) == (TurnOutcome.MATCHED, intent), wav


@pytest.mark.parametrize(("wav", "heard", "intent"), BEST_CANDIDATE)
def test_best_candidate(sounds: Dialplan, wav: str, heard: str, intent: str) -> None:
    turn = DialogEngine(sounds).on_utterance(heard)
    assert turn.outcome in (TurnOutcome.MATCHED, TurnOutcome.CLARIFY), wav
    assert turn.intent == intent, wav


@pytest.mark.parametrize("heard", NOT_UNDERSTOOD)
def test_not_understood(sounds: Dialplan, heard: str) -> None:
    turn = DialogEngine(sounds).on_utterance(heard)
    assert (turn.outcome, turn.intent, turn.confidence) == (TurnOutcome.NO_MATCH, None, 0.0)


def test_examples_are_paraphrases_not_transcripts(sounds: Dialplan) -> None:
    heard = {h.lower().rstrip(".!") for _, h, _ in ANSWERED + BEST_CANDIDATE}
    examples = {e.lower() for intent in sounds.intents for e in intent.examples}
    assert not heard & examples
