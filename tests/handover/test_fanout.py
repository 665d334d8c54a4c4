"""Live fan-out: every console gets every event in order; a slow one is cut off alone."""

from __future__ import annotations

import asyncio

import pytest

from callbot.handover.fanout import Fanout
from tests.handover.test_hub import STEP_TIMEOUT_S, next_event


async def test_slow_subscriber_is_dropped_without_blocking() -> None:
    fanout = Fanout(queue_size=2)
    slow, fast = fanout.subscribe(), fanout.subscribe()
    received: list[int] = []

    async def keep_up() -> None:
        async for event in fast:
            received.append(event["n"])

    reader = asyncio.create_task(keep_up())
    dropped = []
    for i in range(5):
        dropped.append(fanout.send({"n": i}))
        await asyncio.sleep(0)  # lets the fast reader drain
    assert dropped == [0, 0, 1, 0, 0]
    assert slow.dropped and not fast.dropped and len(fanout) == 1
    assert [(await next_event(slow))["n"] for _ in range(2)] == [0, 1]
    with pytest.raises(StopAsyncIteration):
        await next_event(slow)
    fanout.close()  # ends the remaining subscription
    await asyncio.wait_for(reader, STEP_TIMEOUT_S)
    assert received == list(range(5))


async def test_leaving_unsubscribes() -> None:
    fanout = Fanout()
    async with fanout.subscribe() as sub:
        assert len(fanout) == 1
        fanout.send({"n": 1})
        assert await next_event(sub) == {"n": 1}
    assert len(fanout) == 0 and fanout.send({"n": 2}) == 0


async def test_closed_fanout_ends_new_subscriptions_at_once() -> None:
    fanout = Fanout()
    fanout.close()
    sub = fanout.subscribe()
    assert len(fanout) == 0
    with pytest.raises(StopAsyncIteration):
        await next_event(sub)
