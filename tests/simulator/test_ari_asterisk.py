"""The simulated Asterisk's /asterisk and /applications resources and the probe channel,
driven with plain httpx: bodies and status codes as res/ari/resource_*.c produce them."""

from __future__ import annotations

from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from callbot.protocols.asterisk_conf import parse_conf
from callbot.simulator.ari_asterisk import SHIPPED_QUEUES
from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import API_KEY

REPO = Path(__file__).resolve().parents[2]


async def test_info_sections(http: httpx.AsyncClient) -> None:
    full = (await http.get("/asterisk/info")).json()
    assert set(full) == {"build", "system", "config", "status"}
    assert full["config"]["setid"] == {"user": "asterisk", "group": "asterisk"}
    only = (await http.get("/asterisk/info", params={"only": "system"})).json()
    assert only == {"system": {"version": "23.2.0", "entity_id": "02:42:ac:11:00:02"}}


async def test_modules(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    sim.system.modules["chan_websocket.so"] = "Not Running"
    listed = (await http.get("/asterisk/modules")).json()
    assert [m["name"] for m in listed] == sorted(m["name"] for m in listed)
    (websocket,) = [m for m in listed if m["name"] == "chan_websocket.so"]
    assert websocket == {
        "name": "chan_websocket.so",
        "description": "Websocket Media Channel",
        "use_count": 0,
        "status": "Not Running",
        "support_level": "core",
    }
    assert (await http.get("/asterisk/modules/app_queue.so")).json()["status"] == "Running"
    without_suffix = await http.get("/asterisk/modules/app_queue")
    assert without_suffix.status_code == 409
    assert without_suffix.json() == {"message": "Module information could not be retrieved"}
    missing = await http.get("/asterisk/modules/chan_sip.so")
    assert missing.status_code == 404


async def test_global_variable_does_not_run_functions(http: httpx.AsyncClient) -> None:
    reply = await http.get("/asterisk/variable", params={"variable": "CALLBOT_FALLBACK_QUEUE"})
    assert reply.json() == {"value": "accueil"}
    reply = await http.get("/asterisk/variable", params={"variable": "QUEUE_EXISTS(accueil)"})
    assert reply.json() == {"value": ""}
    assert (await http.get("/asterisk/variable")).status_code == 400


async def test_websocket_client_config(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    path = "/asterisk/config/dynamic/res_websocket_client/websocket_client"
    fields = (await http.get(f"{path}/callbot")).json()
    assert {"attribute": "uri", "value": "ws://127.0.0.1:8080/media"} in fields
    assert {"attribute": "password", "value": ""} in fields  # every field, as sorcery lists
    missing = await http.get(f"{path}/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        {"message": "Object with id 'nope' not found"},
    )
    sim.system.modules.pop("res_websocket_client.so")
    unloaded = await http.get(f"{path}/callbot")
    assert unloaded.json() == {"message": "configClass 'res_websocket_client' not found"}


async def test_application_exists_only_while_registered(
    sim: SimulatedAri, http: httpx.AsyncClient
) -> None:
    gone = await http.get("/applications/callbot")
    assert (gone.status_code, gone.json()) == (404, {"message": "Application not found"})
    events = f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot&api_key={API_KEY}"
    async with connect(events):
        await sim.wait_for(lambda: "callbot" in sim.registered_apps)
        channel_id = sim.place_call("0612345678")
        app = (await http.get("/applications/callbot")).json()
    assert app == {
        "name": "callbot",
        "channel_ids": [channel_id],
        "bridge_ids": [],
        "endpoint_ids": [],
        "device_names": [],
        "events_allowed": [],
        "events_disallowed": [],
    }


async def test_probe_channel_reads_queue_exists(sim: SimulatedAri, http: httpx.AsyncClient) -> None:
    url = f"ws://127.0.0.1:{sim.port}/ari/events?app=probe&api_key={API_KEY}"
    async with connect(url) as ws:
        await sim.wait_for(lambda: "probe" in sim.registered_apps)
        params = {"endpoint": "Local/probe@nowhere", "app": "probe"}
        created = (await http.post("/channels/create", params=params)).json()
        assert created["name"] == "Local/probe@nowhere-00000001;1"
        assert created["state"] == "Down" and created["dialplan"]["context"] == "default"
        assert '"StasisStart"' in str(await ws.recv())
        var = f"/channels/{created['id']}/variable"
        assert (await http.get(var, params={"variable": "QUEUE_EXISTS(Fraude)"})).json() == {
            "value": "1"
        }
        nope = await http.get(var, params={"variable": "QUEUE_EXISTS(nope)"})
        assert nope.json() == {"value": "0"}
        unknown = await http.get(var, params={"variable": "NO_SUCH_FUNC(x)"})
        assert unknown.status_code == 500
        unset = await http.get(var, params={"variable": "NOT_SET"})
        assert unset.status_code == 404
        sim.system.modules.pop("app_queue.so")
        assert (await http.get(var, params={"variable": "QUEUE_EXISTS(fraude)"})).status_code == 500
        assert (await http.delete(f"/channels/{created['id']}")).status_code == 204


async def test_created_channel_without_registered_app_is_gone(
    sim: SimulatedAri, http: httpx.AsyncClient
) -> None:
    params = {"endpoint": "Local/probe@nowhere", "app": "nobody"}
    created = (await http.post("/channels/create", params=params)).json()
    reply = await http.get(f"/channels/{created['id']}/variable", params={"variable": "X()"})
    assert reply.status_code == 404  # Stasis(nobody) failed: hung up at once
    assert (await http.post("/channels/create", params={"app": "x"})).status_code == 400


def test_shipped_queues_match_queues_conf() -> None:
    conf = parse_conf((REPO / "asterisk/queues.conf").read_text(encoding="utf-8"), "queues.conf")
    assert {s.name for s in conf.categories()} - {"general"} == SHIPPED_QUEUES
