"""The injected clock: the hand-moved one wakes sleepers in order, and only when due."""

from __future__ import annotations

import asyncio

from callbot.media.clock import SYSTEM_CLOCK, ManualClock, wait_done, wait_event


async def test_sleepers_wake_in_deadline_order_at_their_own_time() -> None:
    clock = ManualClock(start_s=10.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 0.3), ("a", 0.1), ("c", 5))]
    await clock.advance(0.2)
    assert woke == [("a", 10.1)] and clock.monotonic() == 10.2
    assert clock.sleepers == 2
    await clock.advance(1.0)
    assert woke == [("a", 10.1), ("b", 10.3)]
    tasks[2].cancel()
    await clock.advance(10.0)
    assert len(woke) == 2 and clock.sleepers == 0


async def test_a_task_woken_may_sleep_again_within_the_same_advance() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(0.02)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(ticker())
    await clock.advance(0.1 + 0.01)
    task.cancel()
    assert len(ticks) == 5


async def test_wait_helpers_on_the_hand_moved_clock() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(clock, event, 1.0))
    await clock.advance(0.5)
    assert not waiting.done()
    await clock.advance(0.6)
    assert waiting.done() and waiting.result() is False

    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(wait_done(clock, never, 1.0))
    await clock.advance(0.1)
    never.set_result(None)
    assert await waiting is True
    assert not never.cancelled()


async def test_the_system_clock_is_monotonic() -> None:
    before = SYSTEM_CLOCK.monotonic()
    await SYSTEM_CLOCK.sleep(0)
    assert SYSTEM_CLOCK.monotonic() >= before
