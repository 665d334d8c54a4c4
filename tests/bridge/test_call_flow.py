"""A call's steps in Asterisk (:mod:`callbot.bridge.call_flow`) through the Stasis app,
against the simulated ARI (real loopback sockets)."""

from __future__ import annotations

import asyncio

import pytest

from callbot.errors import CallError
from tests.bridge.conftest import StasisRig, paths, with_settings


async def test_call_answered_media_requested_and_bridged(stasis: StasisRig) -> None:
    legs = await stasis.call("0612345678")
    caller = stasis.sim.channels[legs.caller_channel_id]
    assert caller.state == "Up"
    assert legs.call_id == caller.id
    (media_id, params, variables) = stasis.peers.dials[0]
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
    order = paths(stasis.sim)
    assert order[:4] == [
        f"POST /ari/channels/{caller.id}/answer",
        "POST /ari/bridges",
        f"POST /ari/bridges/{legs.bridge_id}/addChannel",
        "POST /ari/channels/externalMedia",
    ]
    assert stasis.sim.bridges[legs.bridge_id].bridge_type == "mixing"


async def test_caller_hangup_cleans_media_and_bridge(stasis: StasisRig) -> None:
    legs = await stasis.call()
    media_id = legs.media_channel_id
    stasis.sim.hangup_channel(legs.caller_channel_id)
    await stasis.sim.wait_for(lambda: len(stasis.bridge.registry) == 0)
    assert media_id in stasis.sim.hung_up
    assert stasis.sim.bridges[legs.bridge_id].destroyed
    assert stasis.sim.live_channels() == []


async def test_media_end_hangs_up_caller(stasis: StasisRig) -> None:
    legs = await stasis.call()
    assert legs.media_channel_id is not None
    stasis.sim.hangup_channel(legs.media_channel_id)
    await stasis.sim.wait_for(lambda: len(stasis.bridge.registry) == 0)
    assert legs.caller_channel_id in stasis.sim.hung_up
    assert stasis.sim.live_channels() == []
    assert stasis.sim.live_bridges() == []


async def test_transfer_sets_inheritable_vars_then_continues(stasis: StasisRig) -> None:
    legs = await stasis.call()
    caller_id, media_id = legs.caller_channel_id, legs.media_channel_id
    await stasis.bridge.transfer(
        legs.call_id,
        context="callbot-queues",
        extension="etat-civil",
        variables={"CALLBOT_MOTIF": "passeport", "__CALLBOT_SUMMARY": "perte du passeport"},
    )
    caller = stasis.sim.channels[caller_id]
    assert caller.variables == {
        "__CALLBOT_MOTIF": "passeport",
        "__CALLBOT_SUMMARY": "perte du passeport",
    }
    assert caller.continued_to == ("callbot-queues", "etat-civil", 1)
    assert not caller.hung_up
    assert media_id in stasis.sim.hung_up
    assert stasis.sim.live_bridges() == []
    order = paths(stasis.sim)
    cont = order.index(f"POST /ari/channels/{caller_id}/continue")
    assert order.index(f"POST /ari/channels/{caller_id}/variable") < cont
    assert order.index(f"DELETE /ari/channels/{media_id}") < cont
    await stasis.sim.wait_for(lambda: len(stasis.bridge.registry) == 0)
    with pytest.raises(CallError):
        await stasis.bridge.transfer(legs.call_id, context="x", variables={})


@with_settings(fallback_context="callbot-fallback")
async def test_media_dial_failure_sends_caller_to_fallback(stasis: StasisRig) -> None:
    stasis.peers.fail = True
    channel_id = stasis.sim.place_call("0600000001")
    caller = stasis.sim.channels[channel_id]
    await stasis.sim.wait_for(lambda: caller.continued_to is not None)
    assert caller.continued_to == ("callbot-fallback", "accueil", 1)
    await stasis.sim.wait_for(lambda: stasis.sim.live_bridges() == [])


@with_settings(media_start_timeout_s=0.2, fallback_context=None)
async def test_media_timeout_hangs_up_everything(stasis: StasisRig) -> None:
    stasis.peers.delay_s = 5.0
    channel_id = stasis.sim.place_call("0600000002")
    media_id = f"{channel_id}-media-1"
    await stasis.sim.wait_for(
        lambda: media_id in stasis.sim.hung_up and not stasis.sim.live_bridges(), 3
    )
    assert channel_id in stasis.sim.hung_up
    assert stasis.sim.live_channels() == []


async def test_dtmf_via_ari_is_ignored(stasis: StasisRig) -> None:
    legs = await stasis.call()
    stasis.sim.send_dtmf(legs.caller_channel_id, "5")
    await asyncio.sleep(0.05)
    assert stasis.bridged(legs.caller_channel_id)
