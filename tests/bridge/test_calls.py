"""A call's registry and actor: events routed by channel, steps run one at a time."""

from __future__ import annotations

import asyncio

import pytest

from callbot.bridge.calls import CallActor, CallLegs, CallRegistry
from callbot.errors import CallError


def legs(call_id: str = "c1") -> CallLegs:
    return CallLegs(call_id, f"{call_id}-caller", "0612345678", f"{call_id}-bridge")


def test_registry_routes_every_bound_channel_until_removed() -> None:
    registry = CallRegistry()
    first, second = legs("c1"), legs("c2")
    registry.add(first)
    registry.add(second)
    registry.bind("c1-media-1", "c1")
    assert registry.by_channel("c1-media-1") is first
    assert registry.by_channel("c2-caller") is second
    registry.unbind("c1-media-1")
    assert registry.by_channel("c1-media-1") is None
    registry.bind("c1-media-2", "c1")
    registry.remove("c1")
    assert registry.get("c1") is None and registry.by_channel("c1-media-2") is None
    assert list(registry) == [second] and len(registry) == 1


async def test_actor_runs_steps_in_order_one_at_a_time() -> None:
    call = legs()
    exited: list[str] = []
    actor = CallActor(call, exited.append)
    ran: list[str] = []
    release = asyncio.Event()

    async def slow() -> None:
        ran.append("slow start")
        await release.wait()
        ran.append("slow end")

    async def failing() -> None:
        raise RuntimeError("step failed")

    async def last() -> None:
        ran.append("last")
        call.finished = True

    actor.post(slow)
    failed = actor.submit(failing)
    done = actor.submit(last)
    await asyncio.sleep(0)
    assert ran == ["slow start"]
    release.set()
    await done
    assert ran == ["slow start", "slow end", "last"]
    with pytest.raises(RuntimeError, match="step failed"):
        await failed
    await actor.task
    assert exited == ["c1"]
    with pytest.raises(CallError, match="has ended"):
        await actor.submit(last)
