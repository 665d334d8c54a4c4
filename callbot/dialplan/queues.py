"""Every Asterisk queue a dialplan can send a caller to, and where the file names it.

:func:`~callbot.dialplan.routing.choose_target` picks one queue per transfer; the Asterisk
side must define all of them. A dialplan names queues in three places:

* ``transfer.queue``: the default queue: no match after ``no_match.max_count`` tries,
  ``on_error: transfer``, a slot or hook that fails with ``on_failure: transfer``, and any
  ``then: transfer`` intent with neither its own queue nor a fitting route;
* ``transfer.routes[].queue``: chosen by an intent's ``skill`` and ``language`` (a route
  without skill and language also catches the default transfers);
* ``intents[].transfer.queue``: the intent's own queue.

Not a queue: ``hours.out_of_hours.callback.queue`` names where a callback *request* is
recorded (the call record), while the caller hangs up; Asterisk never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbot.dialplan.model import Dialplan

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class QueueUse:
    queue: str
    path: YamlPath
    """Where the name is in the file, as :func:`callbot.dialplan.yamlpos.position` takes it."""

    @property
    def where(self) -> str:
        """``intents.3.transfer.queue``: the path as the loader's messages print it."""
        return ".".join(str(p) for p in self.path)


def queue_uses(dialplan: Dialplan) -> tuple[QueueUse, ...]:
    """Each place ``dialplan`` names a queue: the default, the routes, then the intents."""
    uses = [QueueUse(dialplan.transfer.queue, ("transfer", "queue"))]
    uses += [
        QueueUse(route.queue, ("transfer", "routes", i, "queue"))
        for i, route in enumerate(dialplan.transfer.routes)
    ]
    uses += [
        QueueUse(intent.transfer.queue, ("intents", i, "transfer", "queue"))
        for i, intent in enumerate(dialplan.intents)
        if intent.transfer is not None and intent.transfer.queue is not None
    ]
    return tuple(uses)


def queue_names(dialplan: Dialplan) -> tuple[str, ...]:
    """The distinct queues of :func:`queue_uses`, first use first."""
    return tuple(dict.fromkeys(use.queue for use in queue_uses(dialplan)))
