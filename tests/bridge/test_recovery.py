"""No caller stranded after a crash: the start-up sweep and the first-connect reconcile.

The "crash" is real on the ARI side: the first bridge's events websocket and HTTP client
are dropped without any cleanup (as ``kill -9`` does), the simulated Asterisk keeps every
channel in ``Stasis(callbot,...)`` with the app inactive, and hangs up the bot media leg
(its websocket died with the process), exactly what a real Asterisk 23 did.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator

from callbot.bridge import recovery
from callbot.bridge.ari_client import AriClient
from callbot.bridge.calls import Unserved
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.protocols import ari
from callbot.simulator.ari_queues import SCREEN_CONTEXT
from callbot.simulator.ari_server import SimulatedAri
from tests.bridge.conftest import MediaPeers

_seq = itertools.count(1)


def _settings(sim: SimulatedAri) -> AriSettings:
    return AriSettings(
        url=sim.url, password="pw", reconnect_initial_delay_s=0.05, reconnect_max_delay_s=0.2
    )


def _channel(
    name: str, app_data: str, *, context: str = "callbot-inbound", priority: int = 2
) -> ari.Channel:
    return ari.Channel(
        id=f"1.{next(_seq)}",
        name=name,
        state="Up",
        context=context,
        exten="s",
        priority=priority,
        app_name="Stasis",
        app_data=app_data,
    )


def _bridge(name: str, *channel_ids: str) -> ari.Bridge:
    return ari.Bridge(
        id=f"b{next(_seq)}",
        name=name,
        bridge_type="mixing",
        bridge_class="stasis",
        creator="Stasis",
        technology="simple_bridge",
        channel_ids=channel_ids,
    )


# ---------------------------------------------------------------------- the plan (pure)


def test_plan_releases_every_kind_of_stranded_channel() -> None:
    settings = AriSettings(url="http://127.0.0.1:8088")
    caller = _channel("PJSIP/trunk-1", "callbot,3949")
    waiting = _channel("PJSIP/trunk-2", "callbot,3949")
    media = _channel("WebSocket/callbot/0x1", "callbot")
    direct = _channel("WebSocket/callbot-direct/0x2", "callbot")
    agent = _channel("PJSIP/1001-1", "callbot,agent,ctx1", context="callbot-agent-screen")
    back = _channel("Local/q@x-1;2", "callbot,noanswer,ctx2,TIMEOUT")
    other_app = _channel("PJSIP/trunk-3", "ivr,1")
    bridges = [_bridge("callbot-1.1", caller.id, media.id), _bridge("conference", "x")]
    steps = recovery.plan(
        [caller, waiting, media, direct, agent, back, other_app], bridges, settings
    )
    got = {(s.action, s.target, s.mid_call) for s in steps}
    assert got == {
        (recovery.Action.TO_FALLBACK, caller.id, True),
        (recovery.Action.TO_FALLBACK, waiting.id, False),
        (recovery.Action.HANG_UP_MEDIA, media.id, False),
        (recovery.Action.HANG_UP_MEDIA, direct.id, False),
        (recovery.Action.RELEASE_AGENT, agent.id, False),
        (recovery.Action.RELEASE_NOANSWER, back.id, False),
        (recovery.Action.DESTROY_BRIDGE, bridges[0].id, False),
    }


def test_plan_while_serving_adopts_only_callers_never_bridged() -> None:
    settings = AriSettings(url="http://127.0.0.1:8088")
    mid_call = _channel("PJSIP/trunk-1", "callbot,3949")
    new = _channel("PJSIP/trunk-2", "callbot,3949")
    bridges = [_bridge("callbot-x", mid_call.id)]
    steps = recovery.plan([mid_call, new], bridges, settings, serving=True)
    actions = {s.target: s.action for s in steps}
    assert actions[mid_call.id] is recovery.Action.TO_FALLBACK
    assert actions[new.id] is recovery.Action.ADOPT


def test_plan_leaves_known_channels_and_live_bridges_alone() -> None:
    settings = AriSettings(url="http://127.0.0.1:8088")
    caller = _channel("PJSIP/trunk-1", "callbot,3949")
    bridge = _bridge("callbot-live", caller.id)
    steps = recovery.plan(
        [caller],
        [bridge],
        settings,
        known=frozenset({caller.id}),
        live_bridges=frozenset({bridge.id}),
    )
    assert steps == []


def test_the_motif_in_the_call_language() -> None:
    assert recovery.motif("restart", "fr").startswith("callbot a redémarré")
    assert recovery.motif("restart", "en-GB").startswith("callbot restarted")
    assert recovery.motif("capacity", "de") == recovery.MOTIFS["fr"]["capacity"]
    assert recovery.motif("capacity", "") == recovery.MOTIFS["fr"]["capacity"]
    assert recovery.motif("something new", "en") == "something new"
    assert set(recovery.MOTIFS["en"]) == set(recovery.MOTIFS["fr"])
    settings = AriSettings(url="http://127.0.0.1:8088")
    variables = recovery.fallback_variables("failed_over", settings, "c1", "en-US")
    assert (
        variables["__CALLBOT_MOTIF"] == "the bot handling the call went down: take the request over"
    )


def test_agent_return_targets_the_accept_label() -> None:
    agent = _channel("PJSIP/1001-1", "callbot,agent,c", context="callbot-agent-screen", priority=1)
    req = recovery.agent_return(agent)
    assert req.method == "POST"
    assert req.path == f"/channels/{agent.id}/continue"
    assert dict(req.params) == {
        "context": "callbot-agent-screen",
        "extension": "s",
        "label": "accept",
    }


# ---------------------------------------------------------------------- against the simulator


async def _crashed_call(
    sim: SimulatedAri, settings: AriSettings, language: str = "fr"
) -> tuple[str, str, str]:
    """A call bridged by a first bridge that then dies without cleaning anything up."""
    peers = MediaPeers()
    sim.on_external_media = peers
    client = AriClient(settings)
    bridge = StasisBridge(client, settings)
    task = asyncio.create_task(bridge.run())
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    caller_id = sim.place_call("0612345678", ["3949"], language=language)

    def bridged() -> bool:
        legs = bridge.registry.by_channel(caller_id)
        return bool(legs and legs.media_up)

    await sim.wait_for(bridged)
    legs = bridge.registry.by_channel(caller_id)
    assert legs is not None and legs.media_channel_id is not None
    # kill -9: no stop(), no hang-up, no bridge destroy; the sockets just go.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.close()
    await sim.wait_for(lambda: "callbot" not in sim.registered_apps)
    sim.hangup_channel(legs.media_channel_id)  # Asterisk: the media websocket died
    return caller_id, legs.media_channel_id, legs.bridge_id


async def test_startup_sweep_sends_the_stranded_caller_to_the_fallback_queue() -> None:
    sim = SimulatedAri(password="pw")
    await sim.start()
    try:
        settings = _settings(sim)
        caller_id, media_id, bridge_id = await _crashed_call(sim, settings)
        agent = sim.channel_in_stasis("PJSIP/1001", ("agent", "ctx-1"), context=SCREEN_CONTEXT)
        back = sim.channel_in_stasis(
            "PJSIP/trunk", ("noanswer", "ctx-2", "TIMEOUT"), context="callbot-queues"
        )
        assert "callbot" not in sim.registered_apps  # Stasis() now fails for new callers
        assert sim.channels[caller_id].app == "callbot"  # ...but this one is still in it

        async with AriClient(settings) as client:
            recovered = await recovery.recover_stranded(client, settings)

        caller = sim.channels[caller_id]
        assert caller.continued_to == ("callbot-queues", "accueil", 1)
        assert caller_id in sim.queued  # in Queue(): hold music
        assert caller.variables["__CALLBOT_FALLBACK_REASON"] == "restart"
        assert "redémarré" in caller.variables["__CALLBOT_MOTIF"]
        assert caller.variables["__CALLBOT_CALL_ID"] == caller_id
        assert recovered == [recovery.Recovered(caller_id, "0612345678", "fallback", mid_call=True)]
        assert agent.continued_to == ("callbot-agent-screen", "s", 10)
        assert sim.abnormal_gosub_exits == []
        assert back.continued_to is not None and back.continued_to[2] == 2
        assert sim.bridges[bridge_id].destroyed
        assert media_id in sim.hung_up
        assert not [c for c in sim.live_channels() if c.app == "callbot"]
    finally:
        await sim.stop()


async def test_an_english_call_gets_its_motif_in_english() -> None:
    """Issue 15: the agent of an English line read "callbot a redémarré pendant l'appel"."""
    sim = SimulatedAri(password="pw")
    await sim.start()
    try:
        settings = _settings(sim)
        caller_id, _, _ = await _crashed_call(sim, settings, language="en")
        async with AriClient(settings) as client:
            await recovery.recover_stranded(client, settings)
        variables = sim.channels[caller_id].variables
        assert variables["__CALLBOT_MOTIF"] == recovery.MOTIFS["en"]["restart"]
        assert variables["__CALLBOT_FALLBACK_REASON"] == "restart"  # the code stays
    finally:
        await sim.stop()


async def test_a_restarted_bridge_reconciles_on_its_first_connection() -> None:
    """Without the sweep (e.g. ARI was down at start-up) the first connect does it."""
    sim = SimulatedAri(password="pw")
    await sim.start()
    try:
        settings = _settings(sim)
        caller_id, _, bridge_id = await _crashed_call(sim, settings)
        peers = MediaPeers()
        sim.on_external_media = peers
        client = AriClient(settings)
        bridge = StasisBridge(client, settings)
        task = asyncio.create_task(bridge.run())
        try:
            await sim.wait_for(lambda: sim.channels[caller_id].continued_to is not None)
            assert sim.channels[caller_id].continued_to == ("callbot-queues", "accueil", 1)
            await sim.wait_for(lambda: sim.bridges[bridge_id].destroyed and bridge.recovered)
            assert [r.channel_id for r in bridge.recovered] == [caller_id]
            assert peers.dials == []  # the stranded caller was not given a new bot
        finally:
            task.cancel()
            await bridge.stop()
            await client.close()
    finally:
        await sim.stop()


@contextlib.asynccontextmanager
async def running_bridge(
    peers: MediaPeers | None = None,
) -> AsyncIterator[tuple[SimulatedAri, StasisBridge, list[Unserved]]]:
    """A simulated ARI and a registered bridge reporting unserved callers to a list."""
    sim = SimulatedAri(password="pw")
    await sim.start()
    sim.on_external_media = peers or MediaPeers()
    settings = _settings(sim)
    client = AriClient(settings)
    bridge = StasisBridge(client, settings)
    unserved: list[Unserved] = []
    bridge.on_unserved = unserved.append
    task = asyncio.create_task(bridge.run())
    try:
        await sim.wait_for(lambda: "callbot" in sim.registered_apps)
        yield sim, bridge, unserved
    finally:
        task.cancel()
        await bridge.stop()
        await client.close()
        await sim.stop()


async def test_a_draining_bridge_sends_new_callers_to_the_fallback() -> None:
    peers = MediaPeers()
    async with running_bridge(peers) as (sim, bridge, unserved):
        bridge.begin_drain()
        caller_id = sim.place_call("0612345678", ["3949"])
        await sim.wait_for(lambda: sim.channels[caller_id].continued_to is not None)
        await sim.wait_for(lambda: bool(unserved))
        assert unserved == [Unserved(caller_id, "0612345678", "draining", "fallback")]
        caller = sim.channels[caller_id]
        assert caller.continued_to == ("callbot-queues", "accueil", 1)
        assert caller.variables["__CALLBOT_FALLBACK_REASON"] == "draining"
        assert caller.variables["__CALLBOT_MOTIF"].startswith("callbot en cours d'arrêt")
        assert peers.dials == []
        english = sim.place_call("0698765432", ["3949"], language="en")
        await sim.wait_for(lambda: sim.channels[english].continued_to is not None)
        motif = sim.channels[english].variables["__CALLBOT_MOTIF"]
        assert motif == "callbot shutting down: the bot did not take the call"


async def test_a_caller_who_leaves_before_the_bot_is_reported_once() -> None:
    peers = MediaPeers(delay_s=5.0)  # the bot leg takes long to connect
    async with running_bridge(peers) as (sim, _, unserved):
        caller_id = sim.place_call("0612345678", ["3949"])
        await sim.wait_for(lambda: bool(peers.dials))
        sim.caller_hangup(caller_id)
        await sim.wait_for(lambda: bool(unserved))
        await asyncio.sleep(0.2)
        assert unserved == [Unserved(caller_id, "0612345678", "caller_left", "gone")]


async def test_a_served_call_is_never_reported_unserved() -> None:
    """Its bot's pipeline writes its record: the bridge must not write a second one."""
    async with running_bridge() as (sim, bridge, unserved):
        caller_id = sim.place_call("0612345678", ["3949"])

        def served() -> bool:
            legs = bridge.registry.by_channel(caller_id)
            return bool(legs and legs.media_up)

        await sim.wait_for(served)
        sim.caller_hangup(caller_id)
        await sim.wait_for(lambda: bridge.registry.by_channel(caller_id) is None)
        assert unserved == []
