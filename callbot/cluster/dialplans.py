"""One dialplan version on every worker (``cluster_dialplans``).

Each worker still watches its own file (:class:`~callbot.dialplan.store.DialplanStore`):
a version it accepts from its file is published here, and a version another worker
published is served by every other one, validated again (a file one worker refuses is
never published, so it reaches none). The newest accepted version wins: a worker that
starts with a file newer than the published version (a new deployment) publishes it;
one that starts with an older file takes the published one.

The table is read every ``cluster.heartbeat_s`` and on ``NOTIFY callbot_dialplans``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from callbot.cluster import db
from callbot.cluster.schema import DIALPLANS_CHANNEL
from callbot.dialplan.store import DialplanStore, LoadedDialplan

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Published:
    digest: str
    text: str
    published_by: str
    published_at: float


class DialplanSync:
    def __init__(
        self,
        url: str,
        store: DialplanStore,
        node: str,
        *,
        interval_s: float,
        on_reload: Callable[[LoadedDialplan], None] | None = None,
    ) -> None:
        self._url = url
        self._store = store
        self._node = node
        self._interval_s = interval_s
        self._on_reload = on_reload
        self._conn: db.Connection | None = None

    async def published(self, conn: db.Connection, name: str) -> Published | None:
        cur = await conn.execute(
            "SELECT digest, text, published_by, published_at FROM cluster_dialplans "
            "WHERE name = %s",
            (name,),
        )
        row = await cur.fetchone()
        return Published(*row) if row is not None else None

    async def sync(self) -> str:
        """One round: publish or take a version; returns what happened (``published``,
        ``taken``, ``refused`` or ``same``). UNAVAILABLE errors when the database is down."""
        if not db.usable(self._conn):
            self._conn = await db.connect(self._url)
        conn = self._conn
        assert conn is not None
        current = self._store.current()
        row = await self.published(conn, current.name)
        if row is not None and row.digest == current.digest:
            return "same"
        if row is None or (current.origin == "file" and current.loaded_at > row.published_at):
            await conn.execute(
                "INSERT INTO cluster_dialplans AS d (name, digest, text, published_by, "
                "published_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                "digest = EXCLUDED.digest, text = EXCLUDED.text, published_by = "
                "EXCLUDED.published_by, published_at = EXCLUDED.published_at "
                "WHERE d.published_at < EXCLUDED.published_at",
                (current.name, current.digest, current.text, self._node, current.loaded_at),
            )
            await conn.execute("SELECT pg_notify(%s, %s)", (DIALPLANS_CHANNEL, current.name))
            logger.info(
                "dialplan %s version %d published to the cluster", current.name, current.version
            )
            return "published"
        if row.published_at <= current.loaded_at:
            return "same"  # ours is newer but not from our file: someone else publishes
        taken = await asyncio.to_thread(self._store.accept_published, row.text, row.published_at)
        if not taken:
            return "refused"
        logger.info("dialplan %s from %s served", current.name, row.published_by)
        if self._on_reload is not None:
            await asyncio.to_thread(self._on_reload, self._store.current())
        return "taken"

    async def run(self) -> None:
        """Sync every ``interval_s`` and on each notification, until cancelled."""

        async def sync(_: db.Connection) -> None:
            await self.sync()

        await db.serve_notifications(
            self._url, DIALPLANS_CHANNEL, self._interval_s, sync, "dialplan sync"
        )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
