"""The ARI bridge wired into a real callbot: simulated Asterisk (ARI + chan_websocket).

The simulated ARI answers ``externalMedia`` by dialling the bot's ``/media`` endpoint
through a simulated ``websocket_client`` connection with a chan_websocket call carrying
the variables the bridge set (:class:`~callbot.simulator.external_media.ExternalMediaDialer`);
the two lifetimes are linked as in Asterisk.
The bot runs the test dialplan with the real models: DTMF 0 transfers to ``conseillers``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callbot.app.bridge import RunningBridge, build_bridge
from callbot.app.serve import _shut_down
from callbot.app.service import Callbot, Engines
from callbot.audio.formats import SLIN_16K
from callbot.bridge.settings import AriSettings
from callbot.config import Settings
from callbot.dialplan import Transfer
from callbot.handover.hub import HandoverHub
from callbot.media.types import CallInfo
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.run import wait_for_record
from callbot.simulator.websocket_client import WebsocketClientConnection
from tests.conftest import bot_settings

pytestmark = pytest.mark.models

DIALPLAN = Path(__file__).parents[1] / "pipeline" / "dialplans" / "call-fr.yaml"
POLL_S = 0.02


@dataclass
class Rig:
    sim: SimulatedAri
    bot: Callbot
    bridge: RunningBridge
    dialer: ExternalMediaDialer

    async def call(self) -> tuple[str, str, SimulatedChanWebsocketCall]:
        """Place a call; returns caller id, media id and the bot leg once bridged."""
        caller_id = self.sim.place_call("0612345678", ["3949"])
        await self.sim.wait_for(lambda: self.media_id(caller_id) is not None, 10)
        media_id = self.media_id(caller_id)
        assert media_id is not None
        return caller_id, media_id, self.dialer.peers[media_id]

    def media_id(self, caller_id: str) -> str | None:
        """The bot leg sharing a bridge with the caller, once both are in it."""
        bridge_id = self.sim.channels[caller_id].bridge_id
        bridge = self.sim.bridges.get(bridge_id or "")
        others = [c for c in bridge.channels if c != caller_id] if bridge else []
        return others[0] if others and others[0] in self.dialer.peers else None

    async def ended(self) -> None:
        """Nothing left in Stasis, no bridge, no call in the bridge's registry."""
        await self.sim.wait_for(
            lambda: (
                not self.sim.live_bridges()
                and len(self.bridge.bridge.registry) == 0
                and all(c.app is None for c in self.sim.live_channels())
            ),
            10,
        )


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(models_dir, DIALPLAN)


@pytest.fixture
async def rig(settings: Settings, engines: Engines) -> AsyncIterator[Rig]:
    sim = SimulatedAri(password="secret")
    await sim.start()
    ari = AriSettings(url=f"http://127.0.0.1:{sim.port}", password="secret")
    settings = dataclasses.replace(settings, ari=ari)
    hub = HandoverHub()  # in memory: the agent console's source of contexts
    bridge = build_bridge(settings, hub=hub)
    bot = await Callbot.start(settings, engines=engines, control=bridge.control, hub=hub)
    # Asterisk's websocket_client connection "callbot" dials the bot's /media.
    connection = WebsocketClientConnection("callbot", bot.media_url)
    dialer = ExternalMediaDialer(sim, {"callbot": connection})
    sim.on_external_media = dialer
    bridge.bridge.on_unserved = bot.ops.unserved  # as serve_forever wires it
    bridge.start()
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    try:
        yield Rig(sim, bot, bridge, dialer)
    finally:
        await bridge.stop()
        await bot.stop()
        await dialer.aclose()
        await sim.stop()


async def transfer_by_dtmf(rig: Rig, caller_id: str, peer: SimulatedChanWebsocketCall) -> Any:
    """The caller presses 0 after the greeting; returns what it heard since."""
    assert await peer.wait_for_bot_silence(0.8, 20), "no greeting heard"
    pressed_s = time.monotonic()
    await peer.send_dtmf("0")
    caller = rig.sim.channels[caller_id]
    await rig.sim.wait_for(lambda: caller.continued_to is not None, 20)
    return peer.recording.audio(since_s=pressed_s)


async def test_dtmf_zero_hands_the_caller_to_the_queue(rig: Rig, engines: Engines) -> None:
    caller_id, media_id, peer = await rig.call()
    caller = rig.sim.channels[caller_id]
    assert caller.state == "Up"
    media_params = rig.sim.channels[media_id].external_media_params
    assert media_params["external_host"] == "callbot" and media_params["format"] == "slin16"
    heard = await transfer_by_dtmf(rig, caller_id, peer)

    assert caller.continued_to == ("callbot-queues", "conseillers", 1)
    assert caller.variables["__CALLBOT_QUEUE"] == "conseillers"
    assert caller.variables["__CALLBOT_MOTIF"] == "le demandeur veut un conseiller"
    assert caller.variables["__CALLBOT_CALL_ID"] == caller_id
    # The agent's context was published (console, webhook) before the caller left the bot,
    # and the channel carries its id for screen-pop.
    context = rig.bot.hub.get(caller.variables["__CALLBOT_CONTEXT_ID"])
    assert context is not None and context.queue == "conseillers" and context.call_id == caller_id
    assert caller.variables["__CALLBOT_SUMMARY"] == context.summary and context.summary
    await rig.ended()
    assert media_id in rig.sim.hung_up
    assert [c.id for c in rig.sim.live_channels()] == [caller_id]  # now in the dialplan
    # The handover sentence was heard in full before the hand-over.
    transcript = await engines.asr.transcribe(heard, "fr")
    assert "passe" in transcript.text.lower(), transcript.text  # espeak + whisper base:
    assert "conseil" in transcript.text.lower(), transcript.text  # "conseil est" happens
    record = await wait_for_record(rig.bot.records, caller_id)
    assert record is not None
    assert record["outcome"] == "transferred" and record["transfer_queue"] == "conseillers"


async def test_caller_hangup_mid_greeting_cleans_everything(rig: Rig) -> None:
    caller_id, media_id, peer = await rig.call()
    started_s = time.monotonic()
    while peer.recording.first_audio_after(started_s - 5) is None:
        assert time.monotonic() - started_s < 10, "the bot never greeted"
        await asyncio.sleep(POLL_S)
    rig.sim.caller_hangup(caller_id)
    await rig.ended()
    assert {caller_id, media_id} <= set(rig.sim.hung_up)
    assert rig.sim.live_channels() == []
    assert await peer.wait_closed(5)
    record = await wait_for_record(rig.bot.records, caller_id)
    assert record is not None and record["outcome"] == "hung_up_by_caller"
    # A call the bridge no longer knows cannot be transferred: the pipeline hangs up.
    info = CallInfo(caller_id, "chan_websocket", SLIN_16K)
    assert not await rig.bridge.control.transfer(info, Transfer("conseillers", "x"))


async def test_ari_restart_mid_call_reconnects_and_completes(rig: Rig) -> None:
    caller_id, media_id, peer = await rig.call()
    await rig.sim.restart(0.3)  # an ARI outage: the channels survive
    assert "callbot" not in rig.sim.registered_apps
    await rig.sim.wait_for(lambda: "callbot" in rig.sim.registered_apps, 10)
    # The bridge reconciled (listed channels) and kept the call as it was.
    await rig.sim.wait_for(lambda: ("GET", "/ari/channels", {}) in rig.sim.requests, 5)
    assert rig.media_id(caller_id) == media_id and not peer.closed
    await transfer_by_dtmf(rig, caller_id, peer)
    caller = rig.sim.channels[caller_id]
    assert caller.continued_to == ("callbot-queues", "conseillers", 1)
    await rig.ended()
    assert [c.id for c in rig.sim.live_channels()] == [caller_id]
    record = await wait_for_record(rig.bot.records, caller_id)
    assert record is not None and record["outcome"] == "transferred"


async def test_sigterm_drain_hands_calls_in_progress_to_a_human_with_context(rig: Rig) -> None:
    """Graceful stop: a new caller goes to the fallback queue at once; the call in progress
    gets the drain time, then is handed over with its context; the record says so."""
    caller_id, _, peer = await rig.call()
    assert await peer.wait_for_bot_silence(0.8, 20), "no greeting heard"
    hurry = asyncio.Event()
    shutting = asyncio.create_task(_shut_down(rig.bot.settings, rig.bot, rig.bridge, hurry))
    await rig.sim.wait_for(lambda: rig.bridge.bridge.draining, 5)
    late = rig.sim.place_call("0699999999", ["3949"])
    await rig.sim.wait_for(lambda: rig.sim.channels[late].continued_to is not None, 5)
    assert rig.sim.channels[late].continued_to == ("callbot-queues", "accueil", 1)
    assert rig.sim.channels[late].variables["__CALLBOT_FALLBACK_REASON"] == "draining"
    late_record = await wait_for_record(rig.bot.records, late)
    assert late_record is not None and late_record["outcome"] == "sent_to_fallback"
    assert late_record["outcome_detail"] == "draining" and late_record["hung_up_by"] == "bot"
    assert not rig.bot.ops.readiness.ready()
    hurry.set()  # a second SIGTERM: no more waiting for the call to end by itself

    caller = rig.sim.channels[caller_id]
    await rig.sim.wait_for(lambda: caller.continued_to is not None, 20)
    await asyncio.wait_for(shutting, 30)
    assert caller.continued_to == ("callbot-queues", "conseillers", 1)
    assert caller.variables["__CALLBOT_CONTEXT_ID"]  # the agent gets the call's context
    assert caller.variables["__CALLBOT_MOTIF"].startswith("callbot s'est arrêté")
    record = await wait_for_record(rig.bot.records, caller_id)
    assert record is not None
    assert record["outcome"] == "transferred_on_shutdown"
    assert record["hung_up_by"] == "bot"
    assert record["transfer_queue"] == "conseillers"
