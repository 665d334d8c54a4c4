"""Requests from workers to the control role, through PostgreSQL (``cluster_commands``).

A worker's call may need Asterisk (transfer the caller to a queue); only the control
leader talks to Asterisk. The worker commits a row, then ``NOTIFY``; the leader claims
pending rows (``pending`` -> ``running``, one claimer wins), carries them out and
records the outcome in the row, which the worker polls (every 0.1 s while it waits).
Rows, not bare notifications: a leader that takes over carries out what its predecessor
left pending. A worker that gives up (``cluster.command_timeout_s``) withdraws a
row still pending, so the caller is never transferred after being told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from callbot.cluster import db
from callbot.cluster.schema import COMMANDS_CHANNEL, COMMANDS_KEPT_S, NOW

logger = logging.getLogger(__name__)

POLL_S = 0.5
"""Rows are read this often too: a notification lost with a connection loses nothing."""


@dataclass(frozen=True, slots=True)
class Command:
    id: int
    call_id: str
    node: str
    kind: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str = ""


Handler = Callable[[Command], Awaitable[Outcome]]


class CommandClient:
    """A worker's side: write a command, wait for its outcome (bounded)."""

    def __init__(self, url: str, node: str, *, timeout_s: float) -> None:
        self._url = url
        self._node = node
        self._timeout_s = timeout_s
        self._conn: db.Connection | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> db.Connection:
        if not db.usable(self._conn):
            self._conn = await db.connect(self._url)
        assert self._conn is not None
        return self._conn

    async def note_ended(self, call_id: str) -> bool:
        """Tell the control role the bot ends ``call_id`` itself (a media leg that drops
        next is no failure); False when the database did not answer."""
        try:
            async with self._lock, asyncio.timeout(self._timeout_s):
                conn = await self._connection()
                await conn.execute(
                    "INSERT INTO cluster_commands (call_id, node, kind, payload, created_at, "
                    f"status, done_at) VALUES (%s, %s, 'ended', '{{}}', {NOW}, 'done', {NOW})",
                    (call_id, self._node),
                )
            return True
        except (*db.UNAVAILABLE, TimeoutError) as exc:
            logger.error("could not tell the control role the call ends (%s)", exc or "timeout")
            return False

    async def request(self, call_id: str, kind: str, payload: Mapping[str, Any]) -> Outcome:
        """Have the control leader carry out ``kind``; a failed Outcome when it did not in
        time (the row is then withdrawn if nobody had started on it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        try:
            async with self._lock, asyncio.timeout(self._timeout_s):
                conn = await self._connection()
                async with conn.transaction():
                    cur = await conn.execute(
                        "INSERT INTO cluster_commands (call_id, node, kind, payload, created_at)"
                        f" VALUES (%s, %s, %s, %s, {NOW}) RETURNING id",
                        (call_id, self._node, kind, json.dumps(payload)),
                    )
                    row = await cur.fetchone()
                    assert row is not None
                    command_id = int(row[0])
                    await conn.execute("SELECT pg_notify(%s, %s)", (COMMANDS_CHANNEL, str(row[0])))
        except (*db.UNAVAILABLE, TimeoutError) as exc:
            return Outcome(False, f"cluster database unavailable ({exc or 'timeout'})")
        while True:
            outcome = await self._read(command_id)
            if outcome is not None:
                return outcome
            if loop.time() >= deadline:
                return await self._withdraw(command_id)
            await asyncio.sleep(min(POLL_S / 5, max(0.0, deadline - loop.time())))

    async def _read(self, command_id: int) -> Outcome | None:
        try:
            async with self._lock:
                conn = await self._connection()
                cur = await conn.execute(
                    "SELECT status, result FROM cluster_commands WHERE id = %s", (command_id,)
                )
                row = await cur.fetchone()
        except db.UNAVAILABLE:
            return None
        if row is None or row[0] in ("pending", "running"):
            return None
        return Outcome(row[0] == "done", row[1])

    async def _withdraw(self, command_id: int) -> Outcome:
        with contextlib.suppress(*db.UNAVAILABLE):
            async with self._lock:
                conn = await self._connection()
                await conn.execute(
                    "UPDATE cluster_commands SET status = 'failed', result = 'withdrawn: no "
                    f"control leader in time', payload = '{{}}', done_at = {NOW} "
                    "WHERE id = %s AND status = 'pending'",
                    (command_id,),
                )
        outcome = await self._read(command_id)
        return outcome or Outcome(False, "the control role did not answer in time")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class CommandServer:
    """The leader's side: carry out every pending command, oldest first, until cancelled."""

    def __init__(self, url: str, handlers: Mapping[str, Handler]) -> None:
        self._url = url
        self._handlers = dict(handlers)
        self.carried_out = 0

    async def run(self) -> None:
        await db.serve_notifications(
            self._url, COMMANDS_CHANNEL, POLL_S, self._round, "cluster commands"
        )

    async def _round(self, conn: db.Connection) -> None:
        await conn.execute(
            f"DELETE FROM cluster_commands WHERE done_at < {NOW} - %s", (COMMANDS_KEPT_S,)
        )
        while (command := await self._claim(conn)) is not None:
            await self._carry_out(conn, command)

    async def _claim(self, conn: db.Connection) -> Command | None:
        cur = await conn.execute(
            "UPDATE cluster_commands SET status = 'running' WHERE id = ("
            "SELECT id FROM cluster_commands WHERE status = 'pending' ORDER BY id "
            "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, call_id, node, kind, payload"
        )
        row = await cur.fetchone()
        if row is None:
            return None
        payload = row[4] if isinstance(row[4], dict) else json.loads(row[4])
        return Command(int(row[0]), row[1], row[2], row[3], payload)

    async def _carry_out(self, conn: db.Connection, command: Command) -> None:
        try:
            outcome = await self._handlers[command.kind](command)
        except Exception as exc:
            logger.exception("command %s for call %s failed", command.kind, command.call_id)
            outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
        self.carried_out += 1
        await conn.execute(
            "UPDATE cluster_commands SET status = %s, result = %s, payload = '{}', "
            f"done_at = {NOW} WHERE id = %s",
            ("done" if outcome.ok else "failed", outcome.detail[:500], command.id),
        )


async def bot_ended(conn: db.Connection, call_id: str) -> bool:
    """Whether a worker said the bot ends ``call_id`` itself (see :meth:`note_ended`)."""
    cur = await conn.execute(
        "SELECT 1 FROM cluster_commands WHERE call_id = %s AND kind = 'ended' LIMIT 1",
        (call_id,),
    )
    return await cur.fetchone() is not None
