"""The simulated ARI's REST resources, driven with plain httpx: status codes and bodies
as Asterisk's resource_*.c produce them, externalMedia, commands one at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import pytest

from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import AUTH, events_socket, recv


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
