"""Which queue a transfer goes to: the intent's own queue, else a route, else the default."""

from __future__ import annotations

from dataclasses import dataclass

from callbot.dialplan.intents import IntentTransfer
from callbot.dialplan.model import Dialplan


@dataclass(frozen=True, slots=True)
class Target:
    queue: str
    skill: str | None
    language: str


def choose_target(dialplan: Dialplan, spec: IntentTransfer | None = None) -> Target:
    """The first of: ``spec.queue``; the first route whose skill and language fit (a
    route without a skill fits any skill, likewise for language); the default queue."""
    skill = spec.skill if spec else None
    language = (spec.language if spec else None) or dialplan.language
    if spec is not None and spec.queue is not None:
        return Target(spec.queue, skill, language)
    for route in dialplan.transfer.routes:
        if route.skill not in (None, skill) or route.language not in (None, language):
            continue
        return Target(route.queue, skill, language)
    return Target(dialplan.transfer.queue, skill, language)
