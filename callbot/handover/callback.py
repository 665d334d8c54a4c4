"""A callback request as the agents' work item, and how it is announced.

Built when the call that asked for it ends (:meth:`callbot.pipeline.control.CallHandover.callback`):
the same summary and reason an agent would get from a transfer to the callback queue
(:func:`~callbot.handover.build.build_context`), plus the number, the preferred time and
the language. The records store keeps it (:mod:`callbot.records.callbacks`); the hub
pushes each change to the consoles and the webhook (:func:`callback_event`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from callbot.calls.journal import CallJournal
from callbot.dialplan import CallbackRequest, Transfer
from callbot.handover.build import build_context
from callbot.records.callbacks import Callback

EVENTS = ("requested", "claimed", "released", "closed")
"""What happens to a callback, as the consoles and the webhook (``callback.<event>``) hear
it. Expiry happens in the records writer and is not announced (the KPIs count it)."""


def build_callback(
    journal: CallJournal,
    request: CallbackRequest,
    *,
    intent_labels: Mapping[str, str] | None = None,
    language: str | None = None,
    now_unix: float | None = None,
) -> Callback:
    """The work item of ``request``, asked in ``journal``'s call (``language``: the
    dialplan's, when the request names none)."""
    transfer = Transfer(request.queue, request.reason, language=request.language)
    context = build_context(
        journal,
        transfer,
        journal.info,
        intent_labels=intent_labels,
        language=language,
        now_unix=now_unix,
    )
    return Callback(
        callback_id=uuid.uuid4().hex,
        call_id=journal.info.call_id,
        created_at=context.created_at,
        number=request.number,
        queue=request.queue,
        reason=context.reason,
        intent=request.intent,
        summary=context.summary,
        language=context.language,
        preferred_time=request.preferred_time,
    )


def callback_event(event: str, callback: Callback) -> dict[str, Any]:
    """The console's live message for ``event`` (one of :data:`EVENTS`)."""
    if event not in EVENTS:
        raise ValueError(f"unknown callback event {event!r}")
    return {"type": "callback", "event": event, "callback": callback.for_agents()}
