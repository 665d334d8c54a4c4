"""Asynchronous connections to the cluster's PostgreSQL (psycopg 3, autocommit).

Each long-lived role gets its own connections: the leader's lock lives on one (the lock
is released when that connection drops, which is the point), ``LISTEN`` on another.
Connections are opened as every PostgreSQL connection of callbot
(:func:`callbot.records.postgres.connection_options`: TCP keepalives, so a database host
that vanished is noticed in about 25 s instead of the kernel's hours, and a statement
time-out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from callbot.cluster.schema import DDL, SCHEMA_LOCK
from callbot.errors import MissingExtra, StartupError
from callbot.records.postgres import connection_options

try:
    import psycopg
except ModuleNotFoundError as exc:  # the cluster roles need the postgres extra
    raise MissingExtra("psycopg", "postgres") from exc

logger = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 10_000
"""Cluster statements are short: one that hangs is a database in trouble."""
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)
"""Database down, restarting, unreachable, connection lost: try again later."""

Connection = psycopg.AsyncConnection[tuple[Any, ...]]


async def connect(url: str) -> Connection:
    """An autocommit connection to ``url`` (UNAVAILABLE errors when it cannot)."""
    return await psycopg.AsyncConnection.connect(
        url, autocommit=True, **connection_options(url, STATEMENT_TIMEOUT_MS)
    )


async def create_schema(conn: Connection) -> None:
    """The cluster tables, created once even when processes start together."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in DDL:
            await conn.execute(statement)


async def prepare(url: str) -> None:
    """At start-up: the cluster tables, or one clear line when the database cannot be
    reached (the supervisor restarts the process)."""
    try:
        conn = await connect(url)
    except UNAVAILABLE as exc:
        raise StartupError(f"cluster database unavailable at start-up: {exc}") from None
    async with conn:
        await create_schema(conn)


async def serve_notifications(
    url: str,
    channel: str,
    every_s: float,
    work: Callable[[Connection], Awaitable[object]],
    what: str,
) -> None:
    """Run ``work`` with a connection that ``LISTEN``s on ``channel``: at once, on every
    notification and at least every ``every_s`` (a notification lost with a connection
    loses nothing). Reconnects through outages, logging once each, until cancelled."""
    failing = False
    while True:
        try:
            conn = await connect(url)
            async with conn:
                await conn.execute(f"LISTEN {channel}")
                if failing:
                    logger.info("%s: database back", what)
                failing = False
                while True:
                    await work(conn)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(every_s):
                            async for _ in conn.notifies():
                                break
        except UNAVAILABLE as exc:
            if not failing:
                logger.error("%s: database unavailable (%s)", what, type(exc).__name__)
            failing = True
            await asyncio.sleep(every_s)


def usable(conn: Connection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken
