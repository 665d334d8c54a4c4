"""Heartbeats, the cluster view and drain requests, on a real PostgreSQL."""

from __future__ import annotations

import pytest

from callbot.cluster import db
from callbot.cluster.nodes import NodeHeartbeat, NodeStatus, list_nodes, mark_draining


@pytest.fixture
async def conn(postgres_url: str):  # type: ignore[no-untyped-def]
    c = await db.connect(postgres_url)
    await db.create_schema(c)
    await db.create_schema(c)  # idempotent: every process runs it at start
    yield c
    await c.close()


async def test_a_heartbeat_registers_the_node_and_refreshes_its_load(
    conn: db.Connection, postgres_url: str
) -> None:
    load = {"n": 1}
    beat = NodeHeartbeat(
        postgres_url,
        "worker-1",
        "worker",
        lambda: NodeStatus(ready=True, active_calls=load["n"], capacity=4),
        interval_s=1.0,
        websocket_connection="callbot-worker-1",
    )
    await beat.beat()
    (row,) = await list_nodes(conn)
    assert (row.node, row.role, row.ready, row.active_calls, row.capacity) == (
        "worker-1", "worker", True, 1, 4,
    )  # fmt: skip
    assert row.websocket_connection == "callbot-worker-1"
    assert 0 <= row.heartbeat_age_s < 2
    load["n"] = 3
    await beat.beat()
    assert (await list_nodes(conn))[0].active_calls == 3
    await beat.leave()
    assert await list_nodes(conn) == []


async def test_drain_asked_by_ops_sticks_and_reaches_the_worker(
    conn: db.Connection, postgres_url: str
) -> None:
    told: list[str] = []
    beat = NodeHeartbeat(
        postgres_url,
        "worker-2",
        "worker",
        lambda: NodeStatus(ready=True, capacity=4),
        interval_s=1.0,
        on_drain=lambda: told.append("drain"),
    )
    await beat.beat()
    assert await mark_draining(conn, "worker-2")
    assert not await mark_draining(conn, "nobody")
    await beat.beat()  # the worker says draining=False; the operator's True wins
    assert told == ["drain"]
    assert (await list_nodes(conn))[0].draining
    await beat.beat()
    assert told == ["drain"]  # told once
    # The same node restarted (a new process): it starts undrained.
    fresh = NodeHeartbeat(
        postgres_url, "worker-2", "worker", lambda: NodeStatus(ready=True), interval_s=1.0
    )
    await fresh.beat()
    assert not (await list_nodes(conn))[0].draining
    await beat.close()
    await fresh.close()
