"""``/api/calls`` and ``/api/cluster`` on a node of a cluster (a real PostgreSQL: the
``postgres_url`` fixture): node B lists the call in progress on node A, whose records
A's own writer stores as the call goes, with the process that serves it, redacted as
``/api/calls`` always was; and the cluster's nodes as their heartbeats left them. A
process alone answers as before."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from callbot.app.service import Operations
from callbot.cluster import db
from callbot.cluster.nodes import NodeHeartbeat, NodeStatus
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import CallInfo, InboundEvent, MediaSink
from callbot.web.app import WebContext, create_app
from callbot.web.serving import serve_app
from tests.records.live_calls import end_call, start_call, take_turn

STEP_TIMEOUT_S = 10.0


async def no_calls(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
    await sink.hangup()


@asynccontextmanager
async def served(context: WebContext) -> AsyncIterator[httpx.AsyncClient]:
    running = await serve_app(create_app(context))
    base = f"http://127.0.0.1:{running.port}"
    async with httpx.AsyncClient(base_url=base, timeout=STEP_TIMEOUT_S) as client:
        yield client
    await running.stop()


@pytest.fixture
async def node_b(postgres_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Node B's web app: no call of its own, the same database."""
    context = WebContext(handler=no_calls, media=ChanWebsocketSettings())
    context.shared_database = postgres_url
    async with served(context) as client:
        yield client


async def calls(client: httpx.AsyncClient, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/calls{query}")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def test_node_b_lists_the_call_in_progress_on_node_a(
    node_a: Operations, node_b: httpx.AsyncClient
) -> None:
    assert node_a.writer is not None
    journal = start_call(node_a, "call-on-a", "0612345678")
    take_turn(journal, "mon numéro c'est le 06 12 34 56 78")
    take_turn(journal, "et l'attestation")  # the first turn is complete: written
    await asyncio.to_thread(node_a.writer.wait_settled, STEP_TIMEOUT_S)
    (shown,) = await calls(node_b)
    assert shown["call_id"] == "call-on-a" and shown["state"] == "in_progress"
    assert shown["node"]["host"] == socket.gethostname()
    assert shown["node"]["pid"] == os.getpid()
    assert shown["node"]["instance_id"] == node_a.writer.instance_id
    assert 0 <= shown["node"]["heartbeat_age_s"] < 60
    assert shown["caller_hash"] is None  # node A's store has the key: not shown
    assert [t["intent"] for t in shown["turns"]] == ["attestation_droits"]
    said = shown["turns"][0]["caller_text"]
    assert "12 34 56 78" not in said and "<TEL>" in said
    assert "0612345678" not in str(shown) and "612345678" not in str(shown)
    assert [c["call_id"] for c in await calls(node_b, "?state=in_progress")] == ["call-on-a"]

    end_call(node_a, journal)
    await asyncio.to_thread(node_a.writer.wait_settled, STEP_TIMEOUT_S)
    assert await calls(node_b) == []  # ended on A: only A's own /api/calls keeps it


async def test_a_process_alone_lists_its_ended_calls() -> None:
    context = WebContext(handler=no_calls, media=ChanWebsocketSettings())
    context.records.append({"call_id": "c1", "started_at": time.time(), "turns": []})
    async with served(context) as client:
        assert [c["call_id"] for c in await calls(client)] == ["c1"]
        assert await calls(client, "?state=in_progress") == []
        cluster = await client.get("/api/cluster")
        assert cluster.json() == {"shared": False, "nodes": []}


async def test_the_cluster_as_its_nodes_said(postgres_url: str, node_b: httpx.AsyncClient) -> None:
    before = await node_b.get("/api/cluster")  # callbot serve on PostgreSQL: no such table
    assert before.json() == {"shared": True, "nodes": []}
    await db.prepare(postgres_url)
    worker = NodeHeartbeat(
        postgres_url,
        "worker-1",
        "worker",
        lambda: NodeStatus(ready=True, active_calls=3, capacity=7, dialplan_version="4"),
        interval_s=1.0,
        websocket_connection="callbot-1",
    )
    control = NodeHeartbeat(
        postgres_url,
        "control-a",
        "control",
        lambda: NodeStatus(ready=True, leader=True),
        interval_s=1.0,
    )
    try:
        await worker.beat()
        await control.beat()
        response = await node_b.get("/api/cluster")
    finally:
        await worker.close()
        await control.close()
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    nodes = {n["node"]: n for n in response.json()["nodes"]}
    assert set(nodes) == {"worker-1", "control-a"}
    assert nodes["control-a"]["role"] == "control" and nodes["control-a"]["leader"] is True
    one = nodes["worker-1"]
    assert (one["role"], one["ready"], one["draining"], one["leader"]) == (
        "worker",
        True,
        False,
        False,
    )
    assert (one["active_calls"], one["capacity"]) == (3, 7)
    assert 0 <= one["heartbeat_age_s"] < 5
