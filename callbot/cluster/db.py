"""Asynchronous connections to the cluster's PostgreSQL (psycopg 3, autocommit).

Each long-lived role gets its own connections: the leader's lock lives on one (the lock
is released when that connection drops, which is the point), ``LISTEN`` on another.
Connections use TCP keepalives, so a database host that vanished is noticed in about
25 s instead of the kernel's hours, and a statement time-out.
"""

from __future__ import annotations

import logging
from typing import Any

from callbot.cluster.schema import DDL, SCHEMA_LOCK
from callbot.errors import MissingExtra, StartupError

try:
    import psycopg
except ModuleNotFoundError as exc:  # the cluster roles need the postgres extra
    raise MissingExtra("psycopg", "postgres") from exc

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)
"""Database down, restarting, unreachable, connection lost: try again later."""

Connection = psycopg.AsyncConnection[tuple[Any, ...]]


async def connect(url: str) -> Connection:
    """An autocommit connection to ``url`` (UNAVAILABLE errors when it cannot)."""
    extra: dict[str, Any] = dict(KEEPALIVES)
    if "options=" not in url:
        extra["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return await psycopg.AsyncConnection.connect(
        url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, **extra
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


def usable(conn: Connection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken
