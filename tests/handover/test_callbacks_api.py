"""The console's callback list over HTTP, served by uvicorn on loopback behind the access
gate, with a real SQLite records store and a CRM on the hand-over webhook: one agent at a
time, closed with a result, every change pushed live and to the CRM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from callbot.config import Settings
from callbot.handover.console import mount_console
from callbot.handover.hub import HandoverHub
from callbot.handover.settings import HandoverSettings
from callbot.records.store import RecordStore, open_store
from callbot.security.gate import AccessGate
from callbot.web.exposure import policy_for
from callbot.web.serving import serve_app
from tests.handover.test_hub import STEP_TIMEOUT_S, Crm
from tests.records.test_callbacks import CALLER, TO_CALL, a_callback, out_of_hours_call

TOKEN = "s3cret-console-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Served:
    def __init__(self, base: str, store: RecordStore, hub: HandoverHub, crm: Crm) -> None:
        self.base, self.store, self.hub, self.crm = base, store, hub, crm

    async def post(self, path: str, body: object, token: bool = True) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, headers=AUTH if token else {}) as c:
            return await c.post(path, json=body)

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, headers=AUTH) as client:
            return await client.get(path)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    crm = Crm()
    crm_server = await serve_app(crm.app())
    hub = HandoverHub(None, f"http://127.0.0.1:{crm_server.port}/hook")
    store = open_store(str(tmp_path / "records.sqlite3"), "salt")
    for n in range(2):
        callback = a_callback(f"cb{n}", f"c{n}", created_at=1_000.0 + n)
        store.save(out_of_hours_call(f"c{n}"), CALLER, callback=callback)
    app = FastAPI()
    mount_console(app, hub, store)
    settings = Settings(handover=HandoverSettings(console_token=TOKEN))
    app.add_middleware(AccessGate, policy=policy_for(settings, loopback=True))
    running = await serve_app(app)
    yield Served(f"http://127.0.0.1:{running.port}", store, hub, crm)
    await hub.aclose()
    await running.stop()
    await crm_server.stop()
    store.close()


async def test_the_list_shows_what_is_owed_with_the_numbers(served: Served) -> None:
    response = await served.get("/agent/callbacks")
    assert response.status_code == 200
    listed = response.json()["callbacks"]
    assert [c["callback_id"] for c in listed] == ["cb0", "cb1"]
    assert listed[0]["number"] == TO_CALL and listed[0]["preferred_time"] == "demain matin"
    assert "caller_hash" not in listed[0] and "number_hash" not in listed[0]
    assert (await served.get("/agent/callbacks?status=closed")).json()["callbacks"] == []
    assert (await served.get("/agent/callbacks?status=lost")).status_code == 400


async def test_the_agent_role_is_needed(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as client:
        assert (await client.get("/agent/callbacks")).status_code == 401
    refused = await served.post("/agent/callbacks/cb0/claim", {"agent": "Alice"}, token=False)
    assert refused.status_code == 401
    assert served.store.callback("cb0").status == "open"  # type: ignore[union-attr]


async def test_one_agent_at_a_time_then_closed_with_a_result(served: Served) -> None:
    claimed = await served.post("/agent/callbacks/cb0/claim", {"agent": "Alice"})
    assert claimed.status_code == 200 and claimed.json()["callback"]["claimed_by"] == "Alice"
    again = await served.post("/agent/callbacks/cb0/claim", {"agent": "Alice"})
    assert again.status_code == 200  # one's own claim: no change, no event
    taken = await served.post("/agent/callbacks/cb0/claim", {"agent": "Bob"})
    assert taken.status_code == 409 and taken.json()["error"] == "claimed by Alice"
    not_his = await served.post("/agent/callbacks/cb0/close", {"agent": "Bob", "result": "reached"})
    assert not_his.status_code == 409
    unclaimed = await served.post(
        "/agent/callbacks/cb1/close", {"agent": "Bob", "result": "reached"}
    )
    assert (unclaimed.status_code, unclaimed.json()["error"]) == (409, "claim it first")
    closed = await served.post(
        "/agent/callbacks/cb0/close", {"agent": "Alice", "result": "wrong_number"}
    )
    assert closed.status_code == 200
    body = closed.json()["callback"]
    assert (body["status"], body["result"], body["number"]) == ("closed", "wrong_number", None)
    late = await served.post("/agent/callbacks/cb0/claim", {"agent": "Bob"})
    assert (late.status_code, late.json()["error"]) == (409, "closed")
    await served.hub.flush_webhook(STEP_TIMEOUT_S)
    assert [(event, body["callback_id"]) for event, body in served.crm.received] == [
        ("callback.claimed", "cb0"),
        ("callback.closed", "cb0"),
    ]
    assert served.crm.received[0][1]["number"] == TO_CALL  # the CRM calls back too
    assert served.crm.received[1][1]["number"] is None


async def test_released_then_claimed_by_another(served: Served) -> None:
    await served.post("/agent/callbacks/cb1/claim", {"agent": "Alice"})
    assert (await served.post("/agent/callbacks/cb1/release", {"agent": "Bob"})).status_code == 409
    released = await served.post("/agent/callbacks/cb1/release", {"agent": "Alice"})
    assert released.json()["callback"]["status"] == "open"
    bob = await served.post("/agent/callbacks/cb1/claim", {"agent": "Bob"})
    assert bob.json()["callback"]["claimed_by"] == "Bob"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/agent/callbacks/cb0/claim", {"agent": "  "}, 400),
        ("/agent/callbacks/cb0/claim", ["Alice"], 400),
        ("/agent/callbacks/cb0/close", {"agent": "Alice", "result": "maybe"}, 400),
        ("/agent/callbacks/cb0/delete", {"agent": "Alice"}, 404),
        ("/agent/callbacks/nope/claim", {"agent": "Alice"}, 404),
    ],
)
async def test_bad_requests(served: Served, path: str, body: object, status: int) -> None:
    assert (await served.post(path, body)).status_code == status


async def test_the_live_console_gets_the_owed_callbacks_then_each_change(served: Served) -> None:
    host = served.base.removeprefix("http://")
    async with connect(f"ws://{host}/agent/ws?token={TOKEN}") as ws:
        snapshot = await receive(ws)
        assert [c["callback_id"] for c in snapshot["callbacks"]] == ["cb0", "cb1"]
        await served.post("/agent/callbacks/cb1/claim", {"agent": "Alice"})
        event = await receive(ws)
        assert (event["type"], event["event"]) == ("callback", "claimed")
        assert event["callback"]["claimed_by"] == "Alice"
        served.hub.callback_changed("requested", a_callback("cb9", "c9"))
        event = await receive(ws)
        assert (event["event"], event["callback"]["callback_id"]) == ("requested", "cb9")


async def receive(ws: Any) -> dict[str, Any]:
    async with asyncio.timeout(STEP_TIMEOUT_S):
        data: dict[str, Any] = json.loads(await ws.recv())
    return data
