"""What the other nodes do, pushed to this node's consoles (a store shared in PostgreSQL).

Each node's store announces its changes (:mod:`callbot.handover.postgres_listen`); the
relay hears the others', reads each changed context from the shared table (a callback
from the records) and pushes it to the consoles of this process, never to the webhook:
the node that made a change sends that one. When it was deaf for a while (connection
lost), it reads the table again and sends every console a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from callbot.handover.callback import EVENTS, callback_event
from callbot.handover.fanout import Event, Fanout, context_event
from callbot.handover.recent import RecentContexts
from callbot.handover.table import ERASED, HandoverTable
from callbot.records.store import RecordStore

if TYPE_CHECKING:
    from callbot.handover.postgres_listen import Change, ChangeListener

logger = logging.getLogger(__name__)

CALLBACK = "callback"
CALLBACK_READS_S = (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0)
"""Waits before each read of a callback another node announced: one just asked for may
still be on its way to the records table (the records writer's thread)."""


class NodeRelay:
    """Hears the other nodes once :meth:`start`ed; tells them of this node's callbacks."""

    def __init__(
        self,
        store: HandoverTable,
        recent: RecentContexts,
        fanout: Fanout,
        snapshot: Callable[[RecordStore | None], Awaitable[Event]],
    ) -> None:
        self._store = store
        self._recent = recent
        self._fanout = fanout
        self._snapshot = snapshot
        self.records: RecordStore | None = None
        """Where the callbacks the other nodes announce are read (None: not relayed)."""
        self.listener: ChangeListener | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        if self.listener is None:
            self.listener = self._store.listener(self._on_change, self._resync)
            if self.listener is not None:
                self.listener.start()

    def announce_callback(self, callback_id: str, event: str) -> None:
        """Tell the other nodes (the records have the callback already)."""
        if self._store.shared:
            self._spawn(self._announce(callback_id, event))

    async def aclose(self) -> None:
        if self.listener is not None:
            await self.listener.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_change(self, change: Change) -> None:
        if change.kind == CALLBACK:  # its own task: the read may have to wait
            self._spawn(self._relay_callback(change.ref, change.event))
        elif change.kind == ERASED:
            self._recent.forget(change.ref)
        else:
            found = await asyncio.to_thread(self._store.load, change.ref)
            if found is None:  # erased meanwhile
                self._recent.forget(change.ref)
                return
            self._recent.remember(*found)
            self._fanout.push(context_event(change.kind, *found), f"hand-over {change.ref}")

    async def _relay_callback(self, callback_id: str, event: str) -> None:
        if self.records is None or event not in EVENTS:
            return
        for wait_s in CALLBACK_READS_S:
            await asyncio.sleep(wait_s)
            try:
                found = await asyncio.to_thread(self.records.callback, callback_id)
            except self.records.unavailable_errors:
                return  # the consoles get it with their next snapshot
            if found is not None:
                self._fanout.push(callback_event(event, found), f"callback {callback_id}")
                return

    async def _resync(self) -> None:
        self._recent.replace(await asyncio.to_thread(self._store.newest, self._recent.limit))
        if len(self._fanout):
            self._fanout.push(await self._snapshot(self.records), "snapshot")

    async def _announce(self, callback_id: str, event: str) -> None:
        try:
            await asyncio.to_thread(self._store.announce, CALLBACK, callback_id, event)
        except self._store.errors as exc:
            logger.warning(
                "callback %s %s not announced to the other nodes (%s)",
                callback_id,
                event,
                type(exc).__name__,
            )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
