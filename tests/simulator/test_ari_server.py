"""The simulated ARI on its own, driven with plain httpx and websockets: status codes and
bodies as Asterisk's resource_*.c produce them, event order, auth, restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import API_KEY, AUTH


async def events_socket(sim: SimulatedAri, query: str = "app=callbot") -> ClientConnection:
    url = f"ws://127.0.0.1:{sim.port}/ari/events?{query}&api_key={API_KEY}"
    ws = await connect(url)
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 2))
    return event


async def test_auth_required(sim: SimulatedAri) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as anon:
        resp = await anon.get("/channels")
    assert resp.status_code == 401
    assert resp.json() == {"message": "Authentication required"}
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot")
    assert info.value.response.status_code == 401


async def test_events_need_app(sim: SimulatedAri) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{sim.port}/ari/events?api_key={API_KEY}")
    assert info.value.response.status_code == 400


async def test_full_call_event_order(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    ws = await events_socket(sim)
    caller = sim.place_call("0612345678", ["fr"])
    start = await recv(ws)
    assert start["type"] == "StasisStart"
    assert start["args"] == ["fr"]
    assert start["application"] == "callbot"
    assert start["channel"]["dialplan"]["app_data"] == "callbot,fr"
    assert (await http.post(f"/channels/{caller}/answer")).status_code == 204
    assert (await recv(ws))["type"] == "ChannelStateChange"
    bridge = (await http.post("/bridges", params={"type": "mixing", "bridgeId": "b1"})).json()
    assert bridge["bridge_type"] == "mixing"
    assert bridge["channels"] == []
    assert (
        await http.post("/bridges/b1/addChannel", params={"channel": caller})
    ).status_code == 204
    sim.send_dtmf(caller, "7")
    await http.post(f"/channels/{caller}/variable", params={"variable": "X", "value": "1"})
    sim.caller_hangup(caller)
    await http.delete("/bridges/b1")
    kinds = [(await recv(ws))["type"] for _ in range(8)]
    assert kinds == [
        "ChannelEnteredBridge",
        "ChannelDtmfReceived",
        "ChannelVarset",
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
        "BridgeDestroyed",
    ]
    assert sim.hung_up == [caller]
    await ws.close()


async def test_status_codes(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    ws = await events_socket(sim)
    caller = sim.place_call("0600000000")
    assert (await http.post("/channels/nope/answer")).status_code == 404
    assert (await http.post("/channels/nope/answer")).json() == {"message": "Channel not found"}
    assert (await http.post(f"/channels/{caller}/variable")).status_code == 400
    assert (
        await http.post("/bridges/nope/addChannel", params={"channel": caller})
    ).status_code == 404
    await http.post("/bridges", params={"bridgeId": "b1"})
    assert (await http.post("/bridges", params={"bridgeId": "b1"})).status_code == 409
    assert (await http.post("/bridges/b1/addChannel", params={"channel": "x"})).status_code == 400
    removed = await http.post("/bridges/b1/removeChannel", params={"channel": caller})
    assert removed.status_code == 422
    cont = await http.post(f"/channels/{caller}/continue", params={"context": "q"})
    assert cont.status_code == 204
    assert sim.channels[caller].continued_to == ("q", "s", 1)
    # Back in the dialplan: no longer in Stasis.
    assert (await http.post(f"/channels/{caller}/answer")).status_code == 409
    again = await http.post("/bridges/b1/addChannel", params={"channel": caller})
    assert again.status_code == 422
    assert (await http.delete(f"/channels/{caller}")).status_code == 204
    assert (await http.delete(f"/channels/{caller}")).status_code == 404
    await ws.close()


EM = {
    "app": "callbot",
    "external_host": "callbot",
    "transport": "websocket",
    "encapsulation": "none",
    "format": "slin16",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"app": ""}, "app cannot be empty"),
        ({"encapsulation": "rtp"}, "encapsulation must be 'none' for websocket transport"),
        ({"external_host": "other"}, "external_host must be a valid websocket_client"),
        ({"format": ""}, "format cannot be empty"),
        (
            {"transport": "tcp", "encapsulation": "audiosocket", "external_host": "h"},
            "<host>:<port>",
        ),
        (
            {"transport": "tcp", "encapsulation": "audiosocket", "external_host": "h:1"},
            "data can not be empty",
        ),
    ],
)
async def test_external_media_checks(
    sim: SimulatedAri, http: httpx.AsyncClient, change: Mapping[str, str], message: str
) -> None:
    resp = await http.post("/channels/externalMedia", params={**EM, **change})
    assert resp.status_code == 400
    assert message in resp.json()["message"]


async def test_external_media_hook_then_stasis_start(sim: SimulatedAri) -> None:
    seen: list[tuple[str, dict[str, str], dict[str, str]]] = []

    async def hook(
        channel_id: str, params: Mapping[str, str], variables: Mapping[str, str]
    ) -> None:
        seen.append((channel_id, dict(params), dict(variables)))

    sim.on_external_media = hook
    ws = await events_socket(sim)
    async with httpx.AsyncClient(base_url=sim.url, auth=AUTH) as http:
        resp = await http.post(
            "/channels/externalMedia",
            params={**EM, "channelId": "m1", "transport_data": "f(json)"},
            json={"variables": {"CALLBOT_CALL_ID": "c1"}},
        )
        assert resp.status_code == 200
        body = resp.json()
        assert (body["id"], body["state"]) == ("m1", "Down")
        assert body["name"].startswith("WebSocket/callbot/")
        assert body["channelvars"]["CALLBOT_CALL_ID"] == "c1"
        dup = await http.post("/channels/externalMedia", params={**EM, "channelId": "m1"})
        assert dup.status_code == 409
    assert (await recv(ws))["type"] == "ChannelStateChange"
    start = await recv(ws)
    assert (start["type"], start["channel"]["id"], start["channel"]["state"]) == (
        "StasisStart",
        "m1",
        "Up",
    )
    assert seen[0][0] == "m1"
    assert seen[0][1]["transport_data"] == "f(json)"
    assert seen[0][2]["CALLBOT_CALL_ID"] == "c1"
    await ws.close()


async def test_commands_serialised_per_channel(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    ws = await events_socket(sim)
    caller = sim.place_call("0600000000")
    sim.command_delay_s = 0.1
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(
        *(
            http.post(f"/channels/{caller}/variable", params={"variable": f"V{i}", "value": "1"})
            for i in range(3)
        )
    )
    assert loop.time() - start >= 0.28
    await ws.close()


async def test_application_replaced(sim: SimulatedAri) -> None:
    first = await events_socket(sim)
    second = await events_socket(sim)
    assert (await recv(first))["type"] == "ApplicationReplaced"
    sim.place_call("0600000000")
    assert (await recv(second))["type"] == "StasisStart"
    await first.close()
    await second.close()


async def test_restart_refuses_then_returns(sim: SimulatedAri) -> None:
    ws = await events_socket(sim)
    restart = asyncio.create_task(sim.restart(0.3))
    await asyncio.wait_for(ws.wait_closed(), 2)
    await asyncio.sleep(0.05)
    with pytest.raises(OSError):
        await connect(f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot&api_key={API_KEY}")
    await restart
    ws2 = await events_socket(sim)
    sim.place_call("0600000000")
    assert (await recv(ws2))["type"] == "StasisStart"
    await ws2.close()


async def test_place_call_needs_registered_app(sim: SimulatedAri) -> None:
    from callbot.errors import AriError

    with pytest.raises(AriError):
        sim.place_call("0600000000")


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
