"""The Stasis application end to end against the simulated ARI (real loopback sockets):
its public API, reconnects and shutdown. A call's own steps: ``test_call_flow.py``."""

from __future__ import annotations

import asyncio
import uuid

from tests.bridge.conftest import StasisRig, with_settings


async def test_transfer_survives_cancellation_of_its_caller(stasis: StasisRig) -> None:
    stasis.sim.command_delay_s = 0.05
    legs = await stasis.call()
    task = asyncio.create_task(
        stasis.bridge.transfer(legs.call_id, context="callbot-queues", variables={"A": "1"})
    )
    await asyncio.sleep(0.02)
    task.cancel()
    caller = stasis.sim.channels[legs.caller_channel_id]
    await stasis.sim.wait_for(lambda: caller.continued_to is not None)
    assert caller.variables == {"__A": "1"}


async def test_hangup_api(stasis: StasisRig) -> None:
    legs = await stasis.call()
    await stasis.bridge.hangup(legs.call_id)
    assert legs.caller_channel_id in stasis.sim.hung_up
    assert stasis.sim.live_channels() == []
    await stasis.bridge.hangup(legs.call_id)  # already gone: no error


async def test_reconnect_reconciliation_leaves_nothing_stranded(stasis: StasisRig) -> None:
    gone = await stasis.call("0600000010")
    lost_bot = await stasis.call("0600000011")
    kept = await stasis.call("0600000012")
    assert lost_bot.media_channel_id is not None
    old_media = lost_bot.media_channel_id
    gone_media = gone.media_channel_id
    await stasis.sim.stop()  # ARI outage: events during it are lost
    stasis.sim.hangup_channel(gone.caller_channel_id)
    stasis.sim.hangup_channel(old_media)
    await asyncio.sleep(0.2)
    await stasis.sim.start(stasis.sim.port)

    await stasis.sim.wait_for(lambda: stasis.bridge.registry.get(gone.call_id) is None)
    assert gone_media in stasis.sim.hung_up
    assert stasis.sim.bridges[gone.bridge_id].destroyed
    await stasis.sim.wait_for(lambda: stasis.bridged(lost_bot.caller_channel_id))
    assert lost_bot.media_channel_id == f"{lost_bot.call_id}-media-2"
    assert stasis.bridged(kept.caller_channel_id)
    live = {c.id for c in stasis.sim.live_channels()}
    assert live == {
        lost_bot.caller_channel_id,
        lost_bot.media_channel_id,
        kept.caller_channel_id,
        kept.media_channel_id,
    }


@with_settings(reattach_lost_calls=False, fallback_context=None)
async def test_reconnect_without_reattach_hangs_up_bereft_callers(stasis: StasisRig) -> None:
    legs = await stasis.call()
    assert legs.media_channel_id is not None
    await stasis.sim.stop()
    stasis.sim.hangup_channel(legs.media_channel_id)
    await stasis.sim.start(stasis.sim.port)
    await stasis.sim.wait_for(lambda: legs.caller_channel_id in stasis.sim.hung_up)
    assert stasis.sim.live_channels() == []


@with_settings(fallback_context="callbot-fallback")
async def test_shutdown_sends_callers_to_fallback(stasis: StasisRig) -> None:
    first, second = await stasis.call(), await stasis.call()
    await stasis.bridge.stop()
    for legs in (first, second):
        assert stasis.sim.channels[legs.caller_channel_id].continued_to == (
            "callbot-fallback",
            "accueil",
            1,
        )
    assert {c.id for c in stasis.sim.live_channels()} == {
        first.caller_channel_id,
        second.caller_channel_id,
    }
    assert stasis.sim.live_bridges() == []


@with_settings(media_transport="audiosocket")
async def test_audiosocket_mode(stasis: StasisRig) -> None:
    legs = await stasis.call()
    _, params, _ = stasis.peers.dials[0]
    assert params["encapsulation"] == "audiosocket"
    assert params["transport"] == "tcp"
    assert params["external_host"] == "127.0.0.1:9092"
    assert params["data"] == legs.call_id
    uuid.UUID(legs.call_id)  # AudioSocket needs a UUID: it is the call id the edge sees
