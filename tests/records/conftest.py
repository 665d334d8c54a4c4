"""A real PostgreSQL server for the store tests, started once per session
(:class:`callbot.loadtest.postgres.ThrowawayPostgres`: ``initdb`` + ``pg_ctl`` in a temp
dir, loopback, trust authentication, fsync off), then removed. Skipped, saying why, only
when it cannot run here (Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from callbot.loadtest.postgres import ThrowawayPostgres, unavailable_reason


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL (no database name) of a running throw-away PostgreSQL server."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    server = ThrowawayPostgres()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"records_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
