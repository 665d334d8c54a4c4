"""Background work of the bridge: fire-and-forget tasks and cleanup requests.

An event handler cannot await (the event stream must go on), and a cleanup request may
find its channel already gone: both are routine, and both are done the same way by the
Stasis app and the warm transfer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from callbot.bridge.ari_client import AriHttpError

logger = logging.getLogger(__name__)


class BackgroundTasks:
    """Tasks nobody awaits: held until done (so they are not garbage-collected), their
    failures logged, all cancelled at stop."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Awaitable[None]) -> None:
        async def wrapper() -> None:
            try:
                await coro
            except Exception:
                logger.exception("%s task failed", self._what)

        task = asyncio.create_task(wrapper())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


async def quietly(action: Awaitable[object], what: str) -> None:
    """Run a cleanup request; a channel, bridge or playback already gone is not an error
    (another failure is logged, not raised)."""
    try:
        await action
    except AriHttpError as exc:
        if not exc.gone:
            logger.warning("%s failed: %s", what, exc)
