"""PostgreSQL specifics, on the real server of ``conftest.py``: migrations, reconnection."""

from __future__ import annotations

import threading

import psycopg
import pytest

from callbot.errors import ConfigError
from callbot.records.postgres import PostgresStore
from callbot.records.schema import SCHEMA_VERSION
from tests.records.seed import journal

T0 = 1_793_000_000.0


def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(PostgresStore(postgres_url, "salt"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(stores) == 4
    assert {s.schema_version for s in stores} == {SCHEMA_VERSION}
    stores[0].save(journal("c1", T0), None)
    assert [c.call_id for c in stores[3].calls(0)] == ["c1"]
    for store in stores:
        store.close()


def test_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE callbot_schema SET version = version + 1")
    with pytest.raises(ConfigError, match="newer than this callbot"):
        PostgresStore(postgres_url)


def test_store_reconnects_after_the_server_drops_it(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, "salt")
    store.save(journal("c1", T0), None)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(psycopg.OperationalError):
        store.save(journal("c2", T0 + 1), None)  # this one is lost (the writer logs it)
    store.save(journal("c3", T0 + 2), None)
    assert [c.call_id for c in store.calls(0)] == ["c1", "c3"]
    store.close()
