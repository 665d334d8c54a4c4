"""Worker -> control commands through a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from callbot.cluster import db
from callbot.cluster.commands import (
    Command,
    CommandClient,
    CommandServer,
    Outcome,
    bot_ended,
)


@pytest.fixture
async def conn(postgres_url: str):  # type: ignore[no-untyped-def]
    c = await db.connect(postgres_url)
    await db.create_schema(c)
    yield c
    await c.close()


async def test_the_leader_carries_out_a_transfer_and_the_worker_gets_the_outcome(
    conn: db.Connection, postgres_url: str
) -> None:
    seen: list[Command] = []

    async def transfer(command: Command) -> Outcome:
        seen.append(command)
        return Outcome(True, "queued")

    server = CommandServer(postgres_url, {"transfer": transfer})
    task = asyncio.create_task(server.run())
    client = CommandClient(postgres_url, "worker-1", timeout_s=5.0)
    try:
        outcome = await client.request("call-1", "transfer", {"queue": "conseillers"})
        assert outcome == Outcome(True, "queued")
        assert [(c.call_id, c.node, c.payload["queue"]) for c in seen] == [
            ("call-1", "worker-1", "conseillers")
        ]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()
    # The caller data in the payload does not outlive the command.
    cur = await conn.execute("SELECT payload::text FROM cluster_commands")
    assert {row[0] for row in await cur.fetchall()} == {"{}"}


async def test_a_request_nobody_carries_out_is_withdrawn_and_never_done_later(
    conn: db.Connection, postgres_url: str
) -> None:
    client = CommandClient(postgres_url, "worker-1", timeout_s=0.5)
    outcome = await client.request("call-2", "transfer", {"queue": "q"})
    assert not outcome.ok and "withdrawn" in outcome.detail
    done: list[Command] = []

    async def transfer(command: Command) -> Outcome:
        done.append(command)
        return Outcome(True)

    # A leader that comes later finds nothing pending: the caller was told otherwise.
    server = CommandServer(postgres_url, {"transfer": transfer})
    task = asyncio.create_task(server.run())
    await asyncio.sleep(1.0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert done == []
    await client.close()


async def test_a_leader_taking_over_carries_out_what_was_left_pending(
    conn: db.Connection, postgres_url: str
) -> None:
    client = CommandClient(postgres_url, "worker-1", timeout_s=5.0)
    request = asyncio.create_task(client.request("call-3", "transfer", {"queue": "q"}))
    await asyncio.sleep(0.5)  # no leader yet: the row waits
    assert not request.done()

    async def transfer(command: Command) -> Outcome:
        return Outcome(True, "late but done")

    server = CommandServer(postgres_url, {"transfer": transfer})
    task = asyncio.create_task(server.run())
    assert await asyncio.wait_for(request, 5) == Outcome(True, "late but done")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.close()


async def test_the_bot_ending_a_call_is_known_to_the_control_role(
    conn: db.Connection, postgres_url: str
) -> None:
    client = CommandClient(postgres_url, "worker-1", timeout_s=2.0)
    assert not await bot_ended(conn, "call-4")
    assert await client.note_ended("call-4")
    assert await bot_ended(conn, "call-4")
    await client.close()
