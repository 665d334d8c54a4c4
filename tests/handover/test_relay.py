"""Two nodes, one PostgreSQL database (a real server: the ``postgres_url`` fixture): what
one hub stores and changes reaches the consoles of the other, live, once; the webhook is
sent once, by the node that made the change; erasure and expiry reach both; a listener
whose connection is killed (``pg_terminate_backend``) misses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import psycopg
import pytest

from callbot.handover.fanout import Subscription
from callbot.handover.hub import HandoverHub
from callbot.handover.postgres import PostgresHandoverStore
from callbot.privacy.identity import caller_hash
from callbot.records.postgres import PostgresStore
from callbot.web.serving import serve_app
from tests.handover.test_hub import STEP_TIMEOUT_S, Crm, next_event, sample_context
from tests.records.test_callbacks import CALLER, a_callback, out_of_hours_call

SALT = "relay-salt"
LIVE_S = 1.0
"""A change made on one node is on the other node's consoles within this."""


def node(url: str, now: list[float], **options: object) -> HandoverHub:
    """A node's hub on ``url``, on the clock ``now[0]``."""
    store = PostgresHandoverStore(url, caller_salt=SALT, identifiers_ttl_s=600.0)
    return HandoverHub(store=store, clock=lambda: now[0], **options)  # type: ignore[arg-type]


@dataclass
class Cluster:
    url: str
    now: list[float]
    a: HandoverHub
    b: HandoverHub

    def hub(self, **options: object) -> HandoverHub:
        """One more node on the same database (stopped by the test)."""
        return node(self.url, self.now, **options)


async def until(condition: Callable[[], bool]) -> None:
    """Until ``condition`` holds (bounded): for what no console event tells."""
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while not condition():  # noqa: ASYNC110 - what no console event tells
            await asyncio.sleep(0.01)


async def started(hub: HandoverHub, records: PostgresStore | None = None) -> HandoverHub:
    await hub.start(records)
    assert hub.listener is not None
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await hub.listener.wait_listening()
    return hub


@pytest.fixture
async def cluster(postgres_url: str) -> AsyncIterator[Cluster]:
    now = [time.time()]
    a = await started(node(postgres_url, now))
    b = await started(node(postgres_url, now))
    nodes = Cluster(postgres_url, now, a, b)
    yield nodes
    await nodes.a.aclose()
    await nodes.b.aclose()


async def live(sub: Subscription) -> dict[str, object]:
    """The next event, which must come within :data:`LIVE_S`."""
    begun = time.monotonic()
    event = await next_event(sub)
    assert time.monotonic() - begun < LIVE_S
    return event


async def test_a_context_published_on_one_node_is_live_on_the_other(cluster: Cluster) -> None:
    on_b = cluster.b.subscribe()
    ctx = sample_context()
    await cluster.a.publish(ctx)
    event = await live(on_b)
    assert event == {"type": "handover", "context": ctx.to_json(), "detail": ""}
    assert cluster.b.recent(10) == [ctx] and cluster.b.get(ctx.context_id) == ctx


async def test_a_status_learnt_by_one_node_is_live_on_the_other(cluster: Cluster) -> None:
    """The control role learns that an agent answered a caller a worker handed over."""
    ctx = sample_context()
    await cluster.a.publish(ctx)
    on_a = cluster.a.subscribe()
    cluster.now[0] = ctx.created_at + 42
    answered = await cluster.b.update(ctx.context_id, "answered", "poste 204")
    assert answered is not None and answered.status_at == ctx.created_at + 42
    event = await live(on_a)
    assert event["type"] == "status" and event["detail"] == "poste 204"
    assert event["context"] == answered.to_json()
    assert cluster.a.detail(ctx.context_id) == "poste 204"


async def test_a_nodes_own_changes_reach_its_consoles_once(cluster: Cluster) -> None:
    on_a = cluster.a.subscribe()
    mine, theirs = sample_context("mine"), sample_context("theirs")
    await cluster.a.publish(mine)
    await cluster.b.publish(theirs)  # heard after mine would have been, if it were
    got = [await next_event(on_a), await next_event(on_a)]
    assert [e["context"]["summary"] for e in got] == ["mine", "theirs"]  # type: ignore[index]


async def test_the_webhook_is_sent_once_by_the_node_that_made_the_change(
    cluster: Cluster,
) -> None:
    crm = Crm()
    server = await serve_app(crm.app())
    url = f"http://127.0.0.1:{server.port}/hook"
    a, b = await started(cluster.hub(webhook_url=url)), await started(cluster.hub(webhook_url=url))
    try:
        on_b = b.subscribe()
        ctx = sample_context()
        await a.publish(ctx)
        await next_event(on_b)  # b heard it: it would have posted it by now
        await b.update(ctx.context_id, "no_answer")
        for hub in (a, b):
            await hub.flush_webhook(STEP_TIMEOUT_S)
    finally:
        await a.aclose()
        await b.aclose()
        await server.stop()
    assert [event for event, _ in crm.received] == ["handover.created", "handover.status"]
    assert a.webhook_stats.delivered == 1 and b.webhook_stats.delivered == 1


async def test_an_erased_caller_leaves_every_node(cluster: Cluster) -> None:
    """``callbot records erase`` on any machine: both hubs forget the caller at once."""
    mine, other = sample_context(), sample_context(caller_number="0700000000")
    await cluster.a.publish(mine)
    await cluster.b.publish(other)
    await until(lambda: len(cluster.a.recent(10)) == len(cluster.b.recent(10)) == 2)
    tool = PostgresHandoverStore(cluster.url, caller_salt=SALT)
    try:
        assert tool.delete_caller(caller_hash(CALLER, SALT)) == [mine.context_id]
    finally:
        tool.close()
    for hub in (cluster.a, cluster.b):
        await until(lambda hub=hub: hub.recent(10) == [other])  # type: ignore[misc]
        assert hub.get(mine.context_id) is None


async def test_identifiers_expired_by_one_node_are_redacted_on_the_other(
    cluster: Cluster,
) -> None:
    ctx = sample_context(created_at=cluster.now[0])
    await cluster.a.publish(ctx)
    await until(lambda: cluster.b.recent(10) == [ctx])  # b heard it
    on_b = cluster.b.subscribe()
    cluster.now[0] += 600
    assert await cluster.a.expire_identifiers() == 1
    event = await live(on_b)
    assert event["type"] == "status"
    assert event["context"]["caller_number"] == "<TEL>"  # type: ignore[index]
    shown = cluster.b.get(ctx.context_id)
    assert shown is not None and shown.identifiers_expired
    assert await cluster.b.expire_identifiers() == 0  # redacted once, by one node


async def test_a_killed_listener_misses_nothing(cluster: Cluster) -> None:
    """While b's listening connection is gone, a publishes and updates: b's consoles get
    both in the snapshot b sends once it listens again, then live events as before."""
    listener = cluster.b.listener
    assert listener is not None and listener.backend_pid is not None
    on_b = cluster.b.subscribe()
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))
    await until(lambda: not listener.listening)
    missed = sample_context("pendant la coupure")
    await cluster.a.publish(missed)
    await cluster.a.update(missed.context_id, "answered", "poste 12")
    snapshot = await next_event(on_b)
    assert snapshot["type"] == "snapshot" and listener.resyncs == 2
    (shown,) = snapshot["handovers"]  # type: ignore[misc]
    assert shown["context_id"] == missed.context_id
    assert shown["status"] == "answered" and shown["detail"] == "poste 12"
    after = sample_context("après")
    await cluster.a.publish(after)
    assert (await live(on_b))["context"] == after.to_json()


async def test_callbacks_of_one_node_are_live_on_the_other(cluster: Cluster) -> None:
    """A callback asked on a worker reaches the consoles of every node, even when its
    record reaches the table after the announcement (the records writer's thread)."""
    records = PostgresStore(cluster.url, SALT)
    b = await started(cluster.hub(), records)
    try:
        on_b = b.subscribe()
        asked = a_callback("cb-late", "c1", created_at=time.time())
        cluster.a.callback_changed("requested", asked)
        await asyncio.sleep(0.3)  # the record is written after the announcement
        records.save(out_of_hours_call("c1"), CALLER, callback=asked)
        event = await next_event(on_b)
        assert event["type"] == "callback" and event["event"] == "requested"
        assert event["callback"]["callback_id"] == "cb-late"  # type: ignore[index]
        item, changed = records.claim_callback("cb-late", "Mme Martin", time.time())
        assert changed and item is not None
        cluster.a.callback_changed("claimed", item)
        event = await live(on_b)
        assert event["event"] == "claimed"
        assert event["callback"]["claimed_by"] == "Mme Martin"  # type: ignore[index]
    finally:
        await b.aclose()
        records.close()
