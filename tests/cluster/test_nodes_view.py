"""What ops read of a cluster, on a database where nothing ran yet (a real PostgreSQL:
the ``postgres_url`` fixture): no table is no error, only nothing to show (the reads
with data: tests/web/test_app.py)."""

from __future__ import annotations

from callbot.cluster import nodes_view


async def test_a_database_where_nothing_ran_yet(postgres_url: str) -> None:
    assert await nodes_view.nodes(postgres_url) == []
    assert await nodes_view.calls_in_progress(postgres_url) == []
