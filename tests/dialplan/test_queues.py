"""Which queues a dialplan can send a caller to, and where it names them."""

from __future__ import annotations

from callbot.dialplan import Dialplan, parse_dialplan
from callbot.dialplan.queues import queue_names, queue_uses
from tests.dialplan.conftest import MINIMAL_YAML

ROUTED = MINIMAL_YAML.replace(
    "  handover: Je vous passe un conseiller.\n",
    "  handover: Je vous passe un conseiller.\n"
    "  routes:\n"
    "    - {queue: agents-en, language: en-GB}\n"
    "    - {queue: indemnites, skill: indemnites}\n",
) + (
    "  - id: fraude\n"
    "    examples: [on a volé ma carte]\n"
    "    then: transfer\n"
    "    transfer: {queue: fraude}\n"
    "  - id: arret\n"
    "    examples: [mon arrêt de travail]\n"
    "    then: transfer\n"
    "    transfer: {skill: indemnites}\n"
)


def test_default_routes_and_intents_in_order() -> None:
    uses = queue_uses(parse_dialplan(ROUTED))
    assert [(u.queue, u.where) for u in uses] == [
        ("agents", "transfer.queue"),
        ("agents-en", "transfer.routes.0.queue"),
        ("indemnites", "transfer.routes.1.queue"),
        ("fraude", "intents.1.transfer.queue"),
    ]


def test_names_are_distinct() -> None:
    text = ROUTED.replace("{queue: fraude}", "{queue: agents}")
    assert queue_names(parse_dialplan(text)) == ("agents", "agents-en", "indemnites")


def test_shipped_plan_queues(assurance: Dialplan) -> None:
    assert queue_names(assurance) == ("conseillers", "fraude", "reclamations")
