"""The control role's view of the workers, and the placement of calls on them.

Refreshed from ``cluster_nodes`` every ``cluster.heartbeat_s``; :meth:`choose` runs on
the cached rows (no database round trip while a caller waits), with the calls this
process placed and has not seen end counted on top of what each worker last reported.
It is the :class:`~callbot.bridge.placing.Placement` of the control role's Stasis app.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Collection

from callbot.cluster import commands, db
from callbot.cluster.nodes import NodeRow, list_nodes
from callbot.cluster.placement import MediaTarget, choose
from callbot.cluster.settings import ClusterSettings
from callbot.protocols import ari

logger = logging.getLogger(__name__)

FailedOver = Callable[[str, str, str, str], None]
"""(call id, caller number, lost node, ``worker``/``fallback``): for the call's record."""


class WorkerDirectory:
    def __init__(
        self,
        url: str,
        settings: ClusterSettings,
        *,
        audiosocket: bool,
        on_failed_over: FailedOver | None = None,
    ) -> None:
        self._url = url
        self._settings = settings
        self._audiosocket = audiosocket
        self._on_failed_over = on_failed_over
        self._conn: db.Connection | None = None
        self._nodes: list[NodeRow] = []
        self._read_at = 0.0
        self._calls: dict[str, str] = {}
        """call id -> the worker this process placed it on (until its media leg ends)."""
        self.failovers = 0

    @property
    def nodes(self) -> list[NodeRow]:
        return list(self._nodes)

    def calls_on(self, node: str) -> int:
        return sum(1 for n in self._calls.values() if n == node)

    async def refresh(self) -> None:
        """Read the workers' rows now (UNAVAILABLE errors when the database is down)."""
        if not db.usable(self._conn):
            self._conn = await db.connect(self._url)
        assert self._conn is not None
        self._nodes = await list_nodes(self._conn)
        self._read_at = time.monotonic()

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.refresh()
                failing = False
            except db.UNAVAILABLE as exc:
                if not failing:
                    logger.error(
                        "cluster database unavailable (%s): placing on the last known "
                        "workers until their heartbeats are too old",
                        type(exc).__name__,
                    )
                failing = True
            await asyncio.sleep(self._settings.heartbeat_s)

    # ------------------------------------------------------------ Placement protocol

    def choose(self, call_id: str, exclude: Collection[str] = ()) -> MediaTarget | None:
        elapsed = time.monotonic() - self._read_at
        target = choose(
            self._nodes,
            collections.Counter(self._calls.values()),
            audiosocket=self._audiosocket,
            timeout_s=self._settings.worker_timeout_s - elapsed,
            exclude=exclude,
        )
        if target is None:
            ready = sum(1 for n in self._nodes if n.role == "worker" and n.ready)
            logger.warning("no worker free (%d worker(s) ready, all full or excluded)", ready)
        return target

    def placed(self, call_id: str, target: MediaTarget) -> None:
        self._calls[call_id] = target.node

    def adopted(self, call_id: str, media: ari.Channel) -> str | None:
        for n in self._nodes:
            names = []
            if n.websocket_connection:
                names.append(f"WebSocket/{n.websocket_connection}/")
            if n.audiosocket_address:
                names.append(f"AudioSocket/{n.audiosocket_address}")
            if names and media.name.startswith(tuple(names)):
                self._calls[call_id] = n.node
                return n.node
        return None

    def released(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    async def bot_ended(self, call_id: str) -> bool:
        """Unknown (database down) counts as not ended: the caller is moved or handed to a
        human rather than hung up on."""
        try:
            if not db.usable(self._conn):
                self._conn = await db.connect(self._url)
            assert self._conn is not None
            return await commands.bot_ended(self._conn, call_id)
        except db.UNAVAILABLE as exc:
            logger.error("cannot tell whether the bot ended the call (%s)", type(exc).__name__)
            return False

    def failed_over(self, call_id: str, caller_number: str, node: str, to: str) -> None:
        self.failovers += 1
        if self._on_failed_over is not None:
            self._on_failed_over(call_id, caller_number, node, to)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
