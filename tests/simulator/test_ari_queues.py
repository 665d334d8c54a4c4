"""The simulated human queues: an agent's screening subroutine continued as on Asterisk
23, commands waiting for the summary playback."""

from __future__ import annotations

import asyncio

import httpx

from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import events_socket


async def _screening_agent(sim: SimulatedAri, http: httpx.AsyncClient) -> str:
    caller = sim.place_call("0612345678", ["3949"])
    r = await http.post(
        f"/channels/{caller}/continue", params={"context": "callbot-queues", "extension": "x1"}
    )
    assert r.status_code == 204 and caller in sim.queued
    return sim.agent_answers(caller)


async def test_continue_of_the_screening_subroutine_behaves_as_on_asterisk_23(
    sim: SimulatedAri, http: httpx.AsyncClient
) -> None:
    """Dial U() subroutine, no PBX: Asterisk runs a nested PBX from target - 1."""
    async with await events_socket(sim):
        agent = await _screening_agent(sim, http)
        # Empty continue (snapshot priority 1 + 1 = 2): Stasis() runs again.
        assert (await http.post(f"/channels/{agent}/continue")).status_code == 204
        kinds = [e["type"] for e in sim.events if e.get("channel", {}).get("id") == agent]
        assert kinds == ["StasisStart", "StasisEnd", "StasisStart"]
        assert sim.abnormal_gosub_exits == [agent]
        # To the accept label (priority 10, after a gap): returns cleanly, bridged.
        params = {"context": "callbot-agent-screen", "extension": "s", "label": "accept"}
        assert (await http.post(f"/channels/{agent}/continue", params=params)).status_code == 204
        assert sim.channels[agent].continued_to == ("callbot-agent-screen", "s", 10)
        assert sim.abnormal_gosub_exits == [agent]  # only the first, empty continue
        assert agent in sim.queue_bridged.values()
        bad = {"context": "callbot-agent-screen", "extension": "s", "label": "nope"}
        agent2 = await _screening_agent(sim, http)
        r = await http.post(f"/channels/{agent2}/continue", params=bad)
        assert r.status_code == 404 and "label" in r.json()["message"]


async def test_commands_wait_for_the_playback_in_progress(
    sim: SimulatedAri, http: httpx.AsyncClient
) -> None:
    sim.playback_duration_s = 0.5
    async with await events_socket(sim):
        agent = await _screening_agent(sim, http)
        r = await http.post(f"/channels/{agent}/play/pb1", params={"media": "sound:x"})
        assert r.status_code == 200
        started = asyncio.get_running_loop().time()
        params = {"context": "callbot-agent-screen", "extension": "s", "label": "accept"}
        assert (await http.post(f"/channels/{agent}/continue", params=params)).status_code == 204
        assert asyncio.get_running_loop().time() - started >= 0.45
        r = await http.post(f"/channels/{agent}/play/pb2", params={"media": "sound:x"})
        assert r.status_code == 409  # left Stasis
        assert (await http.delete("/playbacks/pb1")).status_code == 404  # finished
