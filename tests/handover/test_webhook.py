"""The webhook worker against a real loopback CRM: order, retries, refusals, backlog."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callbot.handover.webhook import WebhookWorker
from callbot.web.serving import RunningServer, serve_app
from tests.handover.test_hub import STEP_TIMEOUT_S, Crm, closed_port, sample_context
from tests.records.test_callbacks import a_callback


@pytest.fixture
async def crm() -> AsyncIterator[tuple[Crm, RunningServer]]:
    endpoint = Crm()
    server = await serve_app(endpoint.app())
    yield endpoint, server
    await server.stop()


def hook_url(server: RunningServer) -> str:
    return f"http://127.0.0.1:{server.port}/hook"


async def test_slow_is_retried_in_the_background(crm: tuple[Crm, RunningServer]) -> None:
    endpoint, server = crm
    endpoint.delay_s = 0.5
    worker = WebhookWorker(hook_url(server), timeout_s=0.1, attempts=2, backoff_s=0.01)
    try:
        worker.submit("handover", sample_context().to_json())
        await worker.flush(STEP_TIMEOUT_S)
        assert worker.stats.failed == 1
        endpoint.delay_s = 0.0  # the CRM recovers: the next hand-over goes through
        worker.submit("handover", sample_context("Deuxième appel.").to_json())
        await worker.flush(STEP_TIMEOUT_S)
        assert worker.stats.delivered == 1
        assert endpoint.received[-1][1]["summary"] == "Deuxième appel."
    finally:
        await worker.aclose()


async def test_refused_body_is_not_retried(crm: tuple[Crm, RunningServer]) -> None:
    endpoint, server = crm
    endpoint.status_code = 422
    worker = WebhookWorker(hook_url(server))
    try:
        worker.submit("handover", sample_context().to_json())
        await worker.flush(STEP_TIMEOUT_S)
    finally:
        await worker.aclose()
    assert len(endpoint.received) == 1 and worker.stats.failed == 1


async def test_full_backlog_drops_new_posts(crm: tuple[Crm, RunningServer]) -> None:
    endpoint, server = crm
    worker = WebhookWorker(hook_url(server), authorization="Bearer t", queue_size=1)
    contexts = [sample_context(f"n{i}") for i in range(3)]
    try:
        for ctx in contexts:  # no await in between: the worker has not taken any yet
            worker.submit("status", ctx.to_json())
        await worker.flush(STEP_TIMEOUT_S)
    finally:
        await worker.aclose()
    assert (worker.stats.delivered, worker.stats.dropped) == (1, 2)
    assert [(event, body["summary"]) for event, body in endpoint.received] == [
        ("handover.status", "n0")
    ]


async def test_close_without_any_post() -> None:
    worker = WebhookWorker(f"http://127.0.0.1:{closed_port()}/hook")
    await worker.flush(STEP_TIMEOUT_S)
    await worker.aclose()
    assert worker.stats.delivered == worker.stats.failed == 0


async def test_callbacks_are_posted_as_their_own_events(crm: tuple[Crm, RunningServer]) -> None:
    endpoint, server = crm
    worker = WebhookWorker(hook_url(server))
    callback = a_callback()
    try:
        worker.submit("handover", sample_context().to_json())
        worker.submit("callback.requested", callback.for_agents())
        worker.submit("callback.closed", {**callback.for_agents(), "number": None})
        await worker.flush(STEP_TIMEOUT_S)
    finally:
        await worker.aclose()
    assert [event for event, _ in endpoint.received] == [
        "handover.created",
        "callback.requested",
        "callback.closed",
    ]
    assert endpoint.received[1][1]["number"] == callback.number
