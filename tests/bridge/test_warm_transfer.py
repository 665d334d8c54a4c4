"""The whole warm-transfer path against the simulated ARI (real loopback sockets, no models).

Caller -> bot -> transfer (context published first) -> queue -> agent hears the summary
-> DTMF accept / decline; no answer -> callback offer; caller leaves the queue -> abandoned.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from callbot.audio.formats import AudioFormat, Codec
from callbot.bridge.ari_client import AriClient
from callbot.bridge.control import AriCallControl
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.dialplan import Transfer
from callbot.handover.build import build_context
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo
from callbot.simulator.ari_server import SimulatedAri

NIR = "1 85 05 78 006 084 36"


@dataclass
class FakeHub:
    """Records what the transfer path publishes, and the caller's state at that moment."""

    sim: SimulatedAri
    fail: bool = False
    published: list[tuple[HandoverContext, bool]] = field(default_factory=list)
    updates: list[tuple[str, str, str]] = field(default_factory=list)

    async def publish(self, ctx: HandoverContext) -> None:
        if self.fail:
            raise ConnectionError("console down")
        caller = next(c for c in self.sim.channels.values() if not c.is_media)
        still_with_bot = caller.continued_to is None and not caller.variables
        self.published.append((ctx, still_with_bot))

    async def update(self, context_id: str, status: str, detail: str = "") -> None:
        self.updates.append((context_id, status, detail))

    def statuses(self) -> list[str]:
        return [status for _, status, _ in self.updates]


def synthesize(text: str, language: str, path: Path) -> None:
    """A tiny stand-in for the bot's voice: 10 ms of silence, 8 kHz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 80)


@dataclass
class Rig:
    sim: SimulatedAri
    bridge: StasisBridge
    control: AriCallControl
    hub: FakeHub
    sounds: Path

    async def caller_in_bot(self) -> tuple[str, CallInfo]:
        caller_id = self.sim.place_call("0612345678", ["3949"])
        await self.sim.wait_for(lambda: self.bridge.registry.by_channel(caller_id) is not None)
        legs = self.bridge.registry.by_channel(caller_id)
        assert legs is not None
        await self.sim.wait_for(lambda: legs.media_up)
        fmt = AudioFormat(Codec.SLIN, 16000)
        return caller_id, CallInfo(legs.call_id, "chan_websocket", fmt, "0612345678")

    async def transferred(self) -> tuple[str, HandoverContext]:
        caller_id, info = await self.caller_in_bot()
        transfer = Transfer("accueil", "demande un conseiller", slots=(("nir", NIR),))
        ctx = build_context(None, transfer, info)
        assert await self.control.transfer(info, transfer, ctx)
        assert caller_id in self.sim.queued
        return caller_id, ctx


async def _media_ok(channel_id: str, params: object, variables: object) -> None:
    return None


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = SimulatedAri(password="pw", on_external_media=_media_ok)
    await sim.start()
    settings = AriSettings(
        url=sim.url,
        password="pw",
        context_url_base="http://callbot:8080/agent/context/",
        sounds_dir=tmp_path / "callbot",
        agent_accept_timeout_s=0.5,
        callback_wait_s=0.5,
    )
    client = AriClient(settings)
    bridge = StasisBridge(client, settings)
    hub = FakeHub(sim)
    control = AriCallControl(bridge, settings, hub=hub, synthesize=synthesize)
    task = asyncio.create_task(bridge.run())
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    yield Rig(sim, bridge, control, hub, tmp_path / "callbot")
    task.cancel()
    await control.warm.aclose()
    await bridge.stop()
    await client.close()
    await sim.stop()


async def test_accepted_by_agent_after_hearing_the_summary(rig: Rig) -> None:
    caller_id, ctx = await rig.transferred()
    # Published while the caller was still with the bot (no variable, no continue yet).
    assert rig.hub.published == [(ctx, True)]
    caller = rig.sim.channels[caller_id]
    assert caller.continued_to == ("callbot-queues", "accueil", 1) and caller.moh
    agent_id = rig.sim.agent_answers(caller_id)
    agent = rig.sim.channels[agent_id]
    assert agent.variables["__CALLBOT_CONTEXT_ID"] == ctx.context_id
    assert agent.variables["__CALLBOT_SUMMARY"] == ctx.summary
    assert agent.variables["__CALLBOT_MOTIF"] == "demande un conseiller"
    assert agent.variables["__CALLBOT_QUEUE"] == "accueil"
    assert agent.variables["__CALLBOT_LANGUAGE"] == "fr-FR"
    url = f"http://callbot:8080/agent/context/{ctx.context_id}"
    assert agent.variables["__CALLBOT_CONTEXT_URL"] == url
    assert {"__CALLBOT_INTENT", "__CALLBOT_SKILL"} <= agent.variables.keys()
    await rig.sim.wait_for(lambda: any(p[0] == agent_id for p in rig.sim.playbacks))
    assert (agent_id, f"sound:callbot/{ctx.context_id}") in [
        (c, m) for c, _, m in rig.sim.playbacks
    ]
    assert (rig.sounds / f"{ctx.context_id}.wav").exists()
    rig.sim.send_dtmf(agent_id, "1")
    await rig.sim.wait_for(lambda: rig.sim.queue_bridged.get(caller_id) == agent_id)
    # Once, to the "accept" label: no second Stasis(), no abnormal end of the subroutine.
    assert agent.continued_to == ("callbot-agent-screen", "s", 10)
    assert rig.sim.abnormal_gosub_exits == []
    starts = [e for e in rig.sim.events if e["type"] == "StasisStart"]
    assert [e["channel"]["id"] for e in starts].count(agent_id) == 1
    await rig.sim.wait_for(lambda: rig.hub.statuses() == ["answered"])
    # Hanging up after the conversation is no abandon; the voiced summary is removed.
    rig.sim.hangup_channel(caller_id)
    await asyncio.sleep(0.1)
    assert rig.hub.statuses() == ["answered"]
    assert not list(rig.sounds.glob("*.wav"))


async def test_declined_agent_is_hung_up_and_the_caller_stays_queued(rig: Rig) -> None:
    caller_id, _ = await rig.transferred()
    first = rig.sim.agent_answers(caller_id, "1001")
    await rig.sim.wait_for(lambda: any(p[0] == first for p in rig.sim.playbacks))
    rig.sim.send_dtmf(first, "2")
    await rig.sim.wait_for(lambda: first in rig.sim.hung_up)
    assert caller_id in rig.sim.queued and rig.hub.statuses() == []
    # The next agent says nothing: declined on timeout as well.
    second = rig.sim.agent_answers(caller_id, "1002")
    await rig.sim.wait_for(lambda: second in rig.sim.hung_up, timeout_s=3)
    third = rig.sim.agent_answers(caller_id, "1003")
    await rig.sim.wait_for(lambda: any(p[0] == third for p in rig.sim.playbacks))
    rig.sim.send_dtmf(third, "1")
    await rig.sim.wait_for(lambda: rig.sim.queue_bridged.get(caller_id) == third)
    await rig.sim.wait_for(lambda: rig.hub.statuses() == ["answered"])


async def test_no_answer_offers_a_callback(rig: Rig) -> None:
    caller_id, ctx = await rig.transferred()
    rig.sim.queue_timeout(caller_id)
    await rig.sim.wait_for(lambda: any(p[0] == caller_id for p in rig.sim.playbacks))
    assert rig.sim.playbacks[-1][2] == f"sound:callbot/{ctx.context_id}-noanswer"
    rig.sim.send_dtmf(caller_id, "1")
    await rig.sim.wait_for(lambda: caller_id in rig.sim.hung_up)
    assert rig.hub.statuses() == ["no_answer", "callback_requested"]
    assert rig.sim.playbacks[-1][2] == f"sound:callbot/{ctx.context_id}-callback"


async def test_no_answer_without_a_choice_hangs_up(rig: Rig) -> None:
    caller_id, _ = await rig.transferred()
    rig.sim.queue_timeout(caller_id, "JOINEMPTY")
    await rig.sim.wait_for(lambda: caller_id in rig.sim.hung_up, timeout_s=3)
    assert rig.hub.updates[0][1:] == ("no_answer", "JOINEMPTY")
    assert rig.hub.statuses() == ["no_answer"]


async def test_caller_hanging_up_in_the_queue_is_abandoned(rig: Rig) -> None:
    caller_id, ctx = await rig.transferred()
    assert ("POST", "/ari/applications/callbot/subscription") in [
        (m, p) for m, p, _ in rig.sim.requests
    ]
    rig.sim.hangup_channel(caller_id)
    await rig.sim.wait_for(lambda: rig.hub.statuses() == ["abandoned"])
    assert rig.hub.updates[0][0] == ctx.context_id


async def test_console_down_does_not_block_the_transfer(rig: Rig) -> None:
    rig.hub.fail = True
    caller_id, ctx = await rig.transferred()
    caller = rig.sim.channels[caller_id]
    assert caller.variables["__CALLBOT_CONTEXT_ID"] == ctx.context_id
    assert caller.variables["__CALLBOT_SUMMARY"] == ctx.summary


async def test_unknown_context_never_blocks_an_agent(rig: Rig) -> None:
    caller_id, _ = await rig.transferred()
    rig.sim.channels[caller_id].variables["__CALLBOT_CONTEXT_ID"] = "unknown"
    agent_id = rig.sim.agent_answers(caller_id)
    await rig.sim.wait_for(lambda: rig.sim.queue_bridged.get(caller_id) == agent_id)


async def test_accepting_stops_the_summary_so_the_agent_is_bridged_at_once(rig: Rig) -> None:
    """Asterisk runs a channel's commands after its playback: without stopping the summary,
    the agent who pressed 1 would wait for its end (seen: 2.5 s on Asterisk 23)."""
    rig.sim.playback_duration_s = 30.0
    caller_id, _ = await rig.transferred()
    agent_id = rig.sim.agent_answers(caller_id)
    await rig.sim.wait_for(lambda: any(p[0] == agent_id for p in rig.sim.playbacks))
    rig.sim.send_dtmf(agent_id, "1")
    await rig.sim.wait_for(lambda: rig.sim.queue_bridged.get(caller_id) == agent_id, 2.0)
    summary = next(p for c, p, _ in rig.sim.playbacks if c == agent_id)
    assert rig.sim.stopped_playbacks == [summary]


async def test_stopping_never_leaves_an_agent_or_a_caller_waiting_in_stasis(rig: Rig) -> None:
    rig.sim.playback_duration_s = 30.0
    caller_id, _ = await rig.transferred()
    agent_id = rig.sim.agent_answers(caller_id)
    await rig.sim.wait_for(lambda: any(p[0] == agent_id for p in rig.sim.playbacks))
    other_id, _ = await rig.transferred()
    rig.sim.queue_timeout(other_id)  # hearing the callback offer
    await rig.sim.wait_for(lambda: any(p[0] == other_id for p in rig.sim.playbacks))
    await rig.control.warm.aclose()
    await rig.sim.wait_for(lambda: rig.sim.queue_bridged.get(caller_id) == agent_id, 2.0)
    assert rig.sim.channels[agent_id].continued_to == ("callbot-agent-screen", "s", 10)
    assert rig.sim.channels[other_id].app is None  # back in the dialplan (goodbye)
    assert len(rig.sim.stopped_playbacks) == 2  # the summary and the offer
