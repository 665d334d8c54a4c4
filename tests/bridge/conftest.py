"""Shared fixtures of the bridge tests: a Stasis app running on a simulated ARI.

``stasis``: a :class:`StasisRig`, its settings given by :func:`with_settings`.
(``sim``, a simulated ARI alone, is in tests/conftest.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from callbot.bridge.ari_client import AriClient
from callbot.bridge.calls import CallLegs
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.simulator.ari_server import SimulatedAri

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class MediaPeers:
    """Stands in for the colleague's simulated media peer: records each dial."""

    dials: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    fail: bool = False
    delay_s: float = 0.0

    async def __call__(
        self, channel_id: str, params: Mapping[str, str], variables: Mapping[str, str]
    ) -> None:
        self.dials.append((channel_id, dict(params), dict(variables)))
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionRefusedError("media server down")


@dataclass
class StasisRig:
    """A running :class:`StasisBridge` on a simulated ARI, with the media peers it dials."""

    sim: SimulatedAri
    bridge: StasisBridge
    peers: MediaPeers

    async def call(self, number: str = "0612345678") -> CallLegs:
        """Place a call and wait until caller and bot leg share the bridge."""
        channel_id = self.sim.place_call(number, ["fr"])
        await self.sim.wait_for(lambda: self.bridged(channel_id))
        legs = self.bridge.registry.by_channel(channel_id)
        assert legs is not None
        return legs

    def bridged(self, caller_id: str) -> bool:
        legs = self.bridge.registry.by_channel(caller_id)
        if legs is None or legs.media_channel_id is None:
            return False
        bridge = self.sim.bridges.get(legs.bridge_id)
        return bridge is not None and set(bridge.channels) == {caller_id, legs.media_channel_id}


async def make_stasis_rig(
    **settings: object,
) -> tuple[StasisRig, AriClient, asyncio.Task[None]]:
    peers = MediaPeers()
    sim = SimulatedAri(password="pw", on_external_media=peers)
    await sim.start()
    ari = AriSettings(
        url=sim.url,
        password="pw",
        reconnect_initial_delay_s=0.05,
        reconnect_max_delay_s=0.2,
        **settings,  # type: ignore[arg-type]
    )
    client = AriClient(ari)
    bridge = StasisBridge(client, ari)
    task = asyncio.create_task(bridge.run())
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    return StasisRig(sim, bridge, peers), client, task


@pytest.fixture
async def stasis(request: pytest.FixtureRequest) -> AsyncIterator[StasisRig]:
    """A running bridge with the settings given by :func:`with_settings`."""
    settings = getattr(request.function, "stasis_settings", {})
    rig, client, task = await make_stasis_rig(**settings)
    yield rig
    task.cancel()
    await rig.bridge.stop()
    await client.close()
    await rig.sim.stop()


def with_settings(**settings: object) -> Callable[[F], F]:
    """Run a test with these :class:`AriSettings` fields."""

    def mark(fn: F) -> F:
        fn.stasis_settings = settings  # type: ignore[attr-defined]
        return fn

    return mark


def paths(sim: SimulatedAri) -> list[str]:
    """Requests made, less the listings of the reconcile every (re)connection starts (it
    runs beside the first call: its requests may come between the call's)."""
    listings = ("GET /ari/channels", "GET /ari/bridges")
    return [f"{m} {p}" for m, p, _ in sim.requests if f"{m} {p}" not in listings]
