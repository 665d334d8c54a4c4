"""Each process's row in ``cluster_nodes``: published by a heartbeat, read for placement.

A worker says every ``cluster.heartbeat_s`` whether it is ready, draining, how many calls
it carries and how many it may take; the control role reads the rows of the workers
whose heartbeat is fresh (ages on the database's clock). Draining is sticky: an operator
(``callbot cluster drain``) sets it in the row and the worker's next heartbeat reads it
back and stops taking calls; a restarted process (another ``started_at``) starts fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from callbot.cluster import db
from callbot.cluster.schema import NODES_CHANNEL, NOW

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a process says of itself at each heartbeat."""

    ready: bool
    draining: bool = False
    active_calls: int = 0
    capacity: int = 0
    leader: bool = False
    dialplan_version: str = ""


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A node as the cluster sees it."""

    node: str
    role: str
    websocket_connection: str
    audiosocket_address: str
    ready: bool
    draining: bool
    leader: bool
    active_calls: int
    capacity: int
    dialplan_version: str
    started_at: float
    heartbeat_age_s: float


_UPSERT = f"""
INSERT INTO cluster_nodes AS n (node, role, websocket_connection, audiosocket_address, ready,
    draining, leader, active_calls, capacity, dialplan_version, started_at, heartbeat_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {NOW})
ON CONFLICT (node) DO UPDATE SET role = EXCLUDED.role,
    websocket_connection = EXCLUDED.websocket_connection,
    audiosocket_address = EXCLUDED.audiosocket_address, ready = EXCLUDED.ready,
    draining = CASE WHEN n.started_at = EXCLUDED.started_at
        THEN n.draining OR EXCLUDED.draining ELSE EXCLUDED.draining END,
    leader = EXCLUDED.leader, active_calls = EXCLUDED.active_calls,
    capacity = EXCLUDED.capacity, dialplan_version = EXCLUDED.dialplan_version,
    started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at
RETURNING draining
"""
_SELECT = f"""
SELECT node, role, websocket_connection, audiosocket_address, ready, draining, leader,
    active_calls, capacity, dialplan_version, started_at, {NOW} - heartbeat_at
FROM cluster_nodes ORDER BY role, node
"""


async def list_nodes(conn: db.Connection) -> list[NodeRow]:
    """Every node's row, heartbeat ages on the database's clock."""
    cur = await conn.execute(_SELECT)
    return [NodeRow(*row) for row in await cur.fetchall()]


async def mark_draining(conn: db.Connection, node: str) -> bool:
    """Ask ``node`` to take no new call (False: no such node)."""
    cur = await conn.execute(
        "UPDATE cluster_nodes SET draining = TRUE WHERE node = %s RETURNING node", (node,)
    )
    found = await cur.fetchone() is not None
    if found:
        await conn.execute("SELECT pg_notify(%s, %s)", (NODES_CHANNEL, node))
    return found


class NodeHeartbeat:
    """Publishes this process's row until cancelled; tells it when ops ask it to drain."""

    def __init__(
        self,
        url: str,
        node: str,
        role: str,
        status: Callable[[], NodeStatus],
        *,
        interval_s: float,
        websocket_connection: str = "",
        audiosocket_address: str = "",
        on_drain: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self.node = node
        self._role = role
        self._status = status
        self._interval_s = interval_s
        self._media = (websocket_connection, audiosocket_address)
        self._on_drain = on_drain
        self._started_at = time.time()
        self._conn: db.Connection | None = None
        self._drain_told = False
        self.beats = 0
        """Heartbeats written (the first one registers the node)."""

    async def beat(self) -> None:
        """One heartbeat now (UNAVAILABLE errors when the database does not answer)."""
        if not db.usable(self._conn):
            self._conn = await db.connect(self._url)
        assert self._conn is not None
        s = self._status()
        cur = await self._conn.execute(
            _UPSERT,
            (
                self.node,
                self._role,
                *self._media,
                s.ready,
                s.draining,
                s.leader,
                s.active_calls,
                s.capacity,
                s.dialplan_version,
                self._started_at,
            ),
        )
        row = await cur.fetchone()
        self.beats += 1
        if row is not None and row[0] and not s.draining and not self._drain_told:
            self._drain_told = True
            logger.warning("asked to drain (callbot cluster drain): taking no new call")
            if self._on_drain is not None:
                self._on_drain()

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.beat()
                if failing:
                    logger.info("cluster database back: heartbeat resumed")
                failing = False
            except db.UNAVAILABLE as exc:
                if not failing:
                    logger.error("cluster heartbeat failed (%s): retrying", type(exc).__name__)
                failing = True
            await asyncio.sleep(self._interval_s)

    async def leave(self) -> None:
        """At a clean stop: remove the row (placement stops at once, not after a time-out)."""
        with contextlib.suppress(*db.UNAVAILABLE):
            if not db.usable(self._conn):
                self._conn = await db.connect(self._url)
            assert self._conn is not None
            await self._conn.execute(
                "DELETE FROM cluster_nodes WHERE node = %s AND started_at = %s",
                (self.node, self._started_at),
            )
        await self.close()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
