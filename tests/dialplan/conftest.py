"""Fixtures of the dialplan tests: the repo's dialplans and a small valid YAML to mutate."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.dialplan import Dialplan, load_dialplan
from callbot.dialplan.model import Matching

REPO = Path(__file__).resolve().parents[2]
DIALPLANS = REPO / "dialplans"
TEST_DIALPLANS = REPO / "tests" / "data" / "dialplans"

MINIMAL_YAML = """\
language: fr-FR
greeting: Bonjour, que puis-je faire pour vous ?
no_input:
  prompts: [Je ne vous entends pas.]
  max_count: 2
  end: Je raccroche.
no_match:
  prompts: [Je n'ai pas compris., Toujours pas compris.]
  max_count: 3
transfer:
  queue: agents
  handover: Je vous passe un conseiller.
goodbye: Au revoir.
error_apology: Désolé, un problème technique.
intents:
  - id: attestation
    examples: [j'ai besoin d'une attestation de droits]
    answer: Votre attestation est dans votre compte.
"""
"""The smallest valid dialplan; tests append or replace lines to break it."""


@pytest.fixture(scope="session")
def assurance() -> Dialplan:
    return load_dialplan(DIALPLANS / "assurance-maladie.yaml")


@pytest.fixture(scope="session")
def doubtful(assurance: Dialplan) -> Dialplan:
    """The health-insurance dialplan answering only near-certain matches and asking "did
    you mean...?" from 0.2: its held-out phrasings ask, however the matcher is tuned."""
    return assurance.model_copy(update={"matching": Matching(high=0.99, low=0.2)})


@pytest.fixture(scope="session")
def helpdesk() -> Dialplan:
    return load_dialplan(DIALPLANS / "helpdesk-en.yaml")
