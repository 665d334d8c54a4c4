"""The simulated ARI's events websocket: ``app`` required, events in Asterisk's order,
an application taken over by a second websocket."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import API_KEY, events_socket, recv


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


async def test_application_replaced(sim: SimulatedAri) -> None:
    first = await events_socket(sim)
    second = await events_socket(sim)
    assert (await recv(first))["type"] == "ApplicationReplaced"
    sim.place_call("0600000000")
    assert (await recv(second))["type"] == "StasisStart"
    await first.close()
    await second.close()
