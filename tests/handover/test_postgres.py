"""The PostgreSQL hand-over store's own: its tables beside the records', migrated once by
nodes starting together, and a database down at start-up (behaviour shared with the
SQLite store: tests/handover/test_table.py)."""

from __future__ import annotations

import threading

import psycopg
import pytest

from callbot.handover.postgres import PostgresHandoverStore
from callbot.loadtest.postgres import free_port
from callbot.records.postgres import PostgresStore
from tests.handover.test_hub import sample_context


def test_its_own_tables_beside_the_records(postgres_url: str) -> None:
    records = PostgresStore(postgres_url, "salt")
    handovers = PostgresHandoverStore(postgres_url)
    records.close()
    handovers.close()
    with psycopg.connect(postgres_url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        (version,) = conn.execute("SELECT version FROM handover_schema").fetchone() or (None,)
    assert {t for t in tables if t.startswith("handover")} == {
        "handover_contexts",
        "handover_schema",
    }
    assert version == 1


def test_nodes_starting_together_migrate_once(postgres_url: str) -> None:
    opened: list[PostgresHandoverStore] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        opened.append(PostgresHandoverStore(postgres_url))

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 4
    ctx = sample_context()
    opened[0].save(ctx)
    assert all(store.load(ctx.context_id) == (ctx, "") for store in opened)
    for store in opened:
        store.close()


def test_a_database_down_at_start_up_is_no_error() -> None:
    """The store opens; each operation fails with one of its errors (the hub logs it and
    the transfer goes on) until the database answers."""
    store = PostgresHandoverStore(f"postgresql://callbot@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(store.errors):
            store.save(sample_context())
    finally:
        store.close()
