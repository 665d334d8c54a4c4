"""One control leader per Asterisk: a PostgreSQL advisory lock, held on a connection.

The lock is the session's: PostgreSQL releases it the moment the leader's connection
ends, which ``kill -9`` of the leader does at once (its kernel closes the socket) and a
lost host does within the TCP keepalive. Standbys try every ``cluster.leader_retry_s``.
A leader that loses its connection cannot know whether a standby already leads: it
stops at once (exit; systemd or Kubernetes restarts it as a standby), never two
processes driving one Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from callbot.cluster import db
from callbot.cluster.schema import LEADER_LOCK

logger = logging.getLogger(__name__)


def lock_key(asterisk_id: str, app: str) -> int:
    """The advisory lock of one Asterisk's Stasis app (several Asterisk, several leaders).
    ``asterisk_id``: its ``entity_id`` (``GET /asterisk/info``), not the URL: two control
    processes reaching one Asterisk by different addresses must share the lock."""
    digest = hashlib.sha256(f"{LEADER_LOCK}|{asterisk_id}|{app}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LostLeadership(Exception):
    """The connection holding the lock broke: this process may no longer lead."""


class LeaderLock:
    """Waits for the lock, then watches the connection holding it."""

    def __init__(self, url: str, key: int, *, retry_s: float) -> None:
        self._url = url
        self._key = key
        self._retry_s = retry_s
        self._conn: db.Connection | None = None

    @property
    def held(self) -> bool:
        return db.usable(self._conn)

    async def acquire(self) -> None:
        """Return once this process leads (retries through database outages)."""
        waiting_logged = False
        while True:
            try:
                if not db.usable(self._conn):
                    self._conn = await db.connect(self._url)
                assert self._conn is not None
                cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
                row = await cur.fetchone()
                if row is not None and row[0]:
                    logger.warning("leader: this process now drives Asterisk")
                    return
                if not waiting_logged:
                    logger.info("standby: another control process leads; waiting")
                    waiting_logged = True
            except db.UNAVAILABLE as exc:
                logger.error("leader election: database unavailable (%s)", type(exc).__name__)
                self._conn = None
            await asyncio.sleep(self._retry_s)

    async def watch(self) -> None:
        """Raise :class:`LostLeadership` when the lock's connection fails (runs forever)."""
        while True:
            await asyncio.sleep(self._retry_s)
            try:
                assert self._conn is not None
                await self._conn.execute("SELECT 1")
            except (*db.UNAVAILABLE, AssertionError) as exc:
                raise LostLeadership(f"lock connection lost ({type(exc).__name__})") from None

    async def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(*db.UNAVAILABLE):
                await conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            await conn.close()
