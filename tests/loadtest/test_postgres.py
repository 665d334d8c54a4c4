"""The throw-away PostgreSQL of the soak and the records tests."""

from __future__ import annotations

import psycopg
import pytest

from callbot.loadtest.postgres import ThrowawayPostgres, unavailable_reason


@pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
def test_a_throwaway_postgres_can_be_stopped_and_started_again() -> None:
    database = ThrowawayPostgres()
    try:
        database.start()
        with psycopg.connect(f"{database.url}/postgres") as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        database.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"{database.url}/postgres", connect_timeout=2)
        database.start()
        with psycopg.connect(f"{database.url}/postgres") as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        database.remove()
