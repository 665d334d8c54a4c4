"""Live push of hand-over events to the agent consoles connected to this process.

Each console gets a bounded queue: a slow one is dropped (it reconnects and resyncs), it
never holds the transfer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from callbot.handover.context import HandoverContext

logger = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 64
"""Events a console may lag behind before it is dropped (it then reconnects and resyncs)."""

Event = dict[str, Any]


def context_event(kind: str, ctx: HandoverContext, detail: str) -> Event:
    """A new context (``kind`` ``handover``) or a status change (``status``) as consoles
    get it."""
    return {"type": kind, "context": ctx.to_json(), "detail": detail}


class Subscription:
    """Events for one console, in order; ends when the console lagged too far or the
    fan-out closed. Registered when created, so nothing sent afterwards is missed."""

    def __init__(self, maxsize: int, on_end: Callable[[Subscription], None]) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self._on_end = on_end
        self.dropped = False
        """True when this console fell behind and was cut off (it should resync)."""
        self._ended = False

    def offer(self, event: Event) -> bool:
        """Queue ``event``; False (and the subscription ends) when the console is too slow."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.end()
            return False
        return True

    def end(self) -> None:
        self._ended = True
        self._on_end(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wakes a waiting reader; a full queue has none

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._ended and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.end()


class Fanout:
    """The live subscriptions; :meth:`send` never waits on any of them."""

    def __init__(self, queue_size: int = SUBSCRIBER_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._closed = False

    def subscribe(self) -> Subscription:
        """A new subscription (already ended once the fan-out is closed)."""
        sub = Subscription(self._queue_size, self._subscribers.discard)
        if self._closed:
            sub.end()
        else:
            self._subscribers.add(sub)
        return sub

    def send(self, event: Event) -> int:
        """Offer ``event`` to every subscription; how many were dropped as too slow."""
        return sum(not sub.offer(event) for sub in list(self._subscribers))

    def push(self, event: Event, about: str) -> None:
        """:meth:`send`, logging each console dropped as too slow (``about``: what)."""
        for _ in range(self.send(event)):
            logger.warning("agent console too slow, dropped (%s)", about)

    def close(self) -> None:
        """End every subscription, and every later one at once."""
        self._closed = True
        for sub in list(self._subscribers):
            sub.end()

    def __len__(self) -> int:
        return len(self._subscribers)
