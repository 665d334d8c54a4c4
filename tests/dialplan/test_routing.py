"""Transfer targets: the intent's queue, a route by skill or language, the default."""

from __future__ import annotations

from callbot.dialplan import Transfer
from callbot.dialplan.intents import IntentTransfer
from callbot.dialplan.routing import Target, choose_target
from tests.dialplan.flows import OPEN, engine_at, flows


def test_choice() -> None:
    plan = flows()
    assert choose_target(plan) == Target("agents", None, "fr-FR")
    assert choose_target(plan, IntentTransfer(skill="indemnites")) == Target(
        "agents-ij", "indemnites", "fr-FR"
    )
    assert choose_target(plan, IntentTransfer(language="en-US")) == Target(
        "agents-en", None, "en-US"
    )
    explicit = IntentTransfer(queue="vip", skill="indemnites")
    assert choose_target(plan, explicit) == Target("vip", "indemnites", "fr-FR")


def test_engine_transfer_carries_skill_language_and_reason() -> None:
    turn = engine_at(OPEN).on_utterance("mes indemnités journalières ne sont pas payées")
    transfer = turn.actions[-1]
    assert isinstance(transfer, Transfer)
    assert (transfer.queue, transfer.skill, transfer.language, transfer.reason) == (
        "agents-ij",
        "indemnites",
        "fr-FR",
        "indemnités journalières",
    )
    english = engine_at(OPEN).on_utterance("do you speak english").actions[-1]
    assert isinstance(english, Transfer) and english.queue == "agents-en"
