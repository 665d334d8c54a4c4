"""The Stasis application end to end against the simulated ARI (real loopback sockets)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from callbot.bridge.ari_client import AriClient
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import CallLegs, StasisBridge
from callbot.errors import CallError
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
class Rig:
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


async def make_rig(**settings: object) -> tuple[Rig, AriClient, asyncio.Task[None]]:
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
    return Rig(sim, bridge, peers), client, task


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """A running bridge with the settings given by :func:`with_settings`."""
    settings = getattr(request.function, "stasis_settings", {})
    rig, client, task = await make_rig(**settings)
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
    """Requests made, after the reconcile every (re)connection starts with."""
    out = [f"{method} {path}" for method, path, _ in sim.requests]
    while out and out[0] in ("GET /ari/channels", "GET /ari/bridges"):
        out.pop(0)
    return out


async def test_call_answered_media_requested_and_bridged(rig: Rig) -> None:
    legs = await rig.call("0612345678")
    caller = rig.sim.channels[legs.caller_channel_id]
    assert caller.state == "Up"
    assert legs.call_id == caller.id
    (media_id, params, variables) = rig.peers.dials[0]
    assert media_id == legs.media_channel_id
    assert params == {
        "app": "callbot",
        "external_host": "callbot",
        "transport": "websocket",
        "encapsulation": "none",
        "connection_type": "client",
        "format": "slin16",
        "transport_data": "f(json)",
        "channelId": media_id,
    }
    assert variables["CALLBOT_CALL_ID"] == legs.call_id
    assert variables["CALLBOT_CALLER"] == "0612345678"
    order = paths(rig.sim)
    assert order[:4] == [
        f"POST /ari/channels/{caller.id}/answer",
        "POST /ari/bridges",
        f"POST /ari/bridges/{legs.bridge_id}/addChannel",
        "POST /ari/channels/externalMedia",
    ]
    assert rig.sim.bridges[legs.bridge_id].bridge_type == "mixing"


async def test_caller_hangup_cleans_media_and_bridge(rig: Rig) -> None:
    legs = await rig.call()
    media_id = legs.media_channel_id
    rig.sim.hangup_channel(legs.caller_channel_id)
    await rig.sim.wait_for(lambda: len(rig.bridge.registry) == 0)
    assert media_id in rig.sim.hung_up
    assert rig.sim.bridges[legs.bridge_id].destroyed
    assert rig.sim.live_channels() == []


async def test_media_end_hangs_up_caller(rig: Rig) -> None:
    legs = await rig.call()
    assert legs.media_channel_id is not None
    rig.sim.hangup_channel(legs.media_channel_id)
    await rig.sim.wait_for(lambda: len(rig.bridge.registry) == 0)
    assert legs.caller_channel_id in rig.sim.hung_up
    assert rig.sim.live_channels() == []
    assert rig.sim.live_bridges() == []


async def test_transfer_sets_inheritable_vars_then_continues(rig: Rig) -> None:
    legs = await rig.call()
    caller_id, media_id = legs.caller_channel_id, legs.media_channel_id
    await rig.bridge.transfer(
        legs.call_id,
        context="callbot-queues",
        extension="etat-civil",
        variables={"CALLBOT_MOTIF": "passeport", "__CALLBOT_SUMMARY": "perte du passeport"},
    )
    caller = rig.sim.channels[caller_id]
    assert caller.variables == {
        "__CALLBOT_MOTIF": "passeport",
        "__CALLBOT_SUMMARY": "perte du passeport",
    }
    assert caller.continued_to == ("callbot-queues", "etat-civil", 1)
    assert not caller.hung_up
    assert media_id in rig.sim.hung_up
    assert rig.sim.live_bridges() == []
    order = paths(rig.sim)
    cont = order.index(f"POST /ari/channels/{caller_id}/continue")
    assert order.index(f"POST /ari/channels/{caller_id}/variable") < cont
    assert order.index(f"DELETE /ari/channels/{media_id}") < cont
    await rig.sim.wait_for(lambda: len(rig.bridge.registry) == 0)
    with pytest.raises(CallError):
        await rig.bridge.transfer(legs.call_id, context="x", variables={})


async def test_transfer_survives_cancellation_of_its_caller(rig: Rig) -> None:
    rig.sim.command_delay_s = 0.05
    legs = await rig.call()
    task = asyncio.create_task(
        rig.bridge.transfer(legs.call_id, context="callbot-queues", variables={"A": "1"})
    )
    await asyncio.sleep(0.02)
    task.cancel()
    caller = rig.sim.channels[legs.caller_channel_id]
    await rig.sim.wait_for(lambda: caller.continued_to is not None)
    assert caller.variables == {"__A": "1"}


async def test_hangup_api(rig: Rig) -> None:
    legs = await rig.call()
    await rig.bridge.hangup(legs.call_id)
    assert legs.caller_channel_id in rig.sim.hung_up
    assert rig.sim.live_channels() == []
    await rig.bridge.hangup(legs.call_id)  # already gone: no error


@with_settings(fallback_context="callbot-fallback")
async def test_media_dial_failure_sends_caller_to_fallback(rig: Rig) -> None:
    rig.peers.fail = True
    channel_id = rig.sim.place_call("0600000001")
    caller = rig.sim.channels[channel_id]
    await rig.sim.wait_for(lambda: caller.continued_to is not None)
    assert caller.continued_to == ("callbot-fallback", "accueil", 1)
    await rig.sim.wait_for(lambda: rig.sim.live_bridges() == [])


@with_settings(media_start_timeout_s=0.2, fallback_context=None)
async def test_media_timeout_hangs_up_everything(rig: Rig) -> None:
    rig.peers.delay_s = 5.0
    channel_id = rig.sim.place_call("0600000002")
    media_id = f"{channel_id}-media-1"
    await rig.sim.wait_for(lambda: media_id in rig.sim.hung_up and not rig.sim.live_bridges(), 3)
    assert channel_id in rig.sim.hung_up
    assert rig.sim.live_channels() == []


async def test_reconnect_reconciliation_leaves_nothing_stranded(rig: Rig) -> None:
    gone = await rig.call("0600000010")
    lost_bot = await rig.call("0600000011")
    kept = await rig.call("0600000012")
    assert lost_bot.media_channel_id is not None
    old_media = lost_bot.media_channel_id
    gone_media = gone.media_channel_id
    await rig.sim.stop()  # ARI outage: events during it are lost
    rig.sim.hangup_channel(gone.caller_channel_id)
    rig.sim.hangup_channel(old_media)
    await asyncio.sleep(0.2)
    await rig.sim.start(rig.sim.port)

    await rig.sim.wait_for(lambda: rig.bridge.registry.get(gone.call_id) is None)
    assert gone_media in rig.sim.hung_up
    assert rig.sim.bridges[gone.bridge_id].destroyed
    await rig.sim.wait_for(lambda: rig.bridged(lost_bot.caller_channel_id))
    assert lost_bot.media_channel_id == f"{lost_bot.call_id}-media-2"
    assert rig.bridged(kept.caller_channel_id)
    live = {c.id for c in rig.sim.live_channels()}
    assert live == {
        lost_bot.caller_channel_id,
        lost_bot.media_channel_id,
        kept.caller_channel_id,
        kept.media_channel_id,
    }


@with_settings(reattach_lost_calls=False, fallback_context=None)
async def test_reconnect_without_reattach_hangs_up_bereft_callers(rig: Rig) -> None:
    legs = await rig.call()
    assert legs.media_channel_id is not None
    await rig.sim.stop()
    rig.sim.hangup_channel(legs.media_channel_id)
    await rig.sim.start(rig.sim.port)
    await rig.sim.wait_for(lambda: legs.caller_channel_id in rig.sim.hung_up)
    assert rig.sim.live_channels() == []


@with_settings(fallback_context="callbot-fallback")
async def test_shutdown_sends_callers_to_fallback(rig: Rig) -> None:
    first, second = await rig.call(), await rig.call()
    await rig.bridge.stop()
    for legs in (first, second):
        assert rig.sim.channels[legs.caller_channel_id].continued_to == (
            "callbot-fallback",
            "accueil",
            1,
        )
    assert {c.id for c in rig.sim.live_channels()} == {
        first.caller_channel_id,
        second.caller_channel_id,
    }
    assert rig.sim.live_bridges() == []


@with_settings(media_transport="audiosocket")
async def test_audiosocket_mode(rig: Rig) -> None:
    legs = await rig.call()
    _, params, _ = rig.peers.dials[0]
    assert params["encapsulation"] == "audiosocket"
    assert params["transport"] == "tcp"
    assert params["external_host"] == "127.0.0.1:9092"
    assert params["data"] == legs.call_id
    uuid.UUID(legs.call_id)  # AudioSocket needs a UUID: it is the call id the edge sees


async def test_dtmf_via_ari_is_ignored(rig: Rig) -> None:
    legs = await rig.call()
    rig.sim.send_dtmf(legs.caller_channel_id, "5")
    await asyncio.sleep(0.05)
    assert rig.bridged(legs.caller_channel_id)
