"""The agent console's HTTP and websocket API, served by uvicorn on a loopback port
(with a console token: behind the access gate, as ``callbot serve`` runs it)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from callbot.config import Settings
from callbot.handover.console import WS_UNSUPPORTED_DATA, mount_console
from callbot.handover.hub import HandoverHub
from callbot.handover.settings import HandoverSettings
from callbot.security.gate import AccessGate
from callbot.web.exposure import policy_for
from callbot.web.serving import serve_app
from tests.handover.test_hub import STEP_TIMEOUT_S, sample_context

TOKEN = "s3cret-console-token"


async def serve(hub: HandoverHub, token: str | None) -> AsyncIterator[str]:
    app = FastAPI()
    mount_console(app, hub)
    if token is not None:
        settings = Settings(handover=HandoverSettings(console_token=token))
        app.add_middleware(AccessGate, policy=policy_for(settings, loopback=True))
    running = await serve_app(app)
    yield f"127.0.0.1:{running.port}"
    await hub.aclose()  # ends live websockets, so the server stops at once
    await running.stop()


@pytest.fixture
async def hub(tmp_path: Path) -> HandoverHub:
    return HandoverHub(tmp_path / "handover.sqlite3")


@pytest.fixture
async def open_host(hub: HandoverHub) -> AsyncIterator[str]:
    async for host in serve(hub, None):
        yield host


@pytest.fixture
async def guarded_host(hub: HandoverHub) -> AsyncIterator[str]:
    async for host in serve(hub, TOKEN):
        yield host


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(STEP_TIMEOUT_S):
        data: dict[str, Any] = json.loads(await ws.recv())
    return data


async def test_json_endpoints(hub: HandoverHub, open_host: str) -> None:
    old = sample_context("Ancien.", created_at=1_000.0)
    new = sample_context("Nouveau.", created_at=2_000.0)
    await hub.publish(old)
    await hub.publish(new)
    await hub.update(old.context_id, "abandoned", "raccroché après 3 min")
    async with httpx.AsyncClient(base_url=f"http://{open_host}", timeout=STEP_TIMEOUT_S) as client:
        listed = (await client.get("/agent/handovers")).json()
        assert [h["summary"] for h in listed["handovers"]] == ["Nouveau.", "Ancien."]
        assert listed["handovers"][1]["status"] == "abandoned"
        assert listed["handovers"][1]["detail"] == "raccroché après 3 min"
        assert listed["now"] > 2_000.0
        assert len((await client.get("/agent/handovers?limit=1")).json()["handovers"]) == 1
        assert (await client.get("/api/handovers")).status_code == 404  # /api is ops, redacted

        one = await client.get(f"/agent/context/{new.context_id}")
        assert one.status_code == 200 and one.headers["content-type"] == "application/json"
        assert one.json()["handover"]["caller_number"] == "+33612345678"
        assert one.json()["handover"]["turns"][3] == {
            "speaker": "caller",
            "text": "c'est le <NIR>",
            "intent": None,
        }
        assert (await client.get("/agent/context/unknown")).status_code == 404

        html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        pop = await client.get(f"/agent/context/{new.context_id}", headers=html)
        assert pop.status_code == 200 and pop.text.startswith("<!doctype html>")
        assert (await client.get("/agent")).text == pop.text
        assert (
            (await client.get("/agent/agent.js"))
            .headers["content-type"]
            .startswith("text/javascript")
        )
        assert (await client.get("/agent/agent.html")).status_code == 404


async def test_websocket_snapshot_then_live_events(hub: HandoverHub, open_host: str) -> None:
    earlier = sample_context("Avant.")
    await hub.publish(earlier)
    async with connect(f"ws://{open_host}/agent/ws") as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert [h["context_id"] for h in snapshot["handovers"]] == [earlier.context_id]
        live = sample_context("Pendant.")
        await hub.publish(live)
        event = await receive(ws)
        assert event["type"] == "handover" and event["context"]["summary"] == "Pendant."
        await hub.update(live.context_id, "answered", "poste 12")
        event = await receive(ws)
        assert event["type"] == "status" and event["context"]["status"] == "answered"
        assert event["detail"] == "poste 12" and event["now"] >= live.created_at
    for _ in range(int(STEP_TIMEOUT_S / 0.01)):  # the server notices the browser leaving
        if not hub.subscribers:
            break
        await asyncio.sleep(0.01)
    assert hub.subscribers == 0


async def test_token_guards_every_route(hub: HandoverHub, guarded_host: str) -> None:
    ctx = sample_context()
    await hub.publish(ctx)
    base = f"http://{guarded_host}"
    async with httpx.AsyncClient(base_url=base, timeout=STEP_TIMEOUT_S) as client:
        paths = ("/agent", "/agent/handovers", f"/agent/context/{ctx.context_id}", "/agent/ws")
        for path in (*paths, "/agent/agent.css"):
            denied = await client.get(path)
            assert denied.status_code == 401, path
            assert TOKEN not in denied.text
            assert (await client.get(f"{path}?token=wrong")).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/agent/handovers", headers=bearer)).status_code == 200
        assert (await client.get("/agent/agent.css", headers=bearer)).status_code == 200
    async with httpx.AsyncClient(base_url=base, timeout=STEP_TIMEOUT_S) as browser:
        page = await browser.get(f"/agent?token={TOKEN}")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        # The cookie opens screen-pop links, which carry no token.
        assert (await browser.get(f"/agent/context/{ctx.context_id}")).status_code == 200
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://{guarded_host}/agent/ws"):
            pass
    async with connect(f"ws://{guarded_host}/agent/ws?token={TOKEN}") as ws:
        assert (await receive(ws))["handovers"][0]["context_id"] == ctx.context_id


async def test_a_binary_message_is_closed_1003_and_logged_once(
    hub: HandoverHub, open_host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callbot.handover.console")
    async with connect(f"ws://{open_host}/agent/ws") as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send(b"\x00\x01binary")
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await ws.wait_closed()
    assert ws.close_code == WS_UNSUPPORTED_DATA  # a close frame, not a dropped socket
    lines = [r.getMessage() for r in caplog.records if r.name == "callbot.handover.console"]
    assert lines == [
        "agent console 127.0.0.1 sent a binary message: closed (1003, unsupported data)"
    ]
    for _ in range(int(STEP_TIMEOUT_S / 0.01)):
        if not hub.subscribers:
            break
        await asyncio.sleep(0.01)
    assert hub.subscribers == 0


async def test_text_from_the_page_is_ignored(hub: HandoverHub, open_host: str) -> None:
    async with connect(f"ws://{open_host}/agent/ws") as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send("ping")
        live = sample_context("Après le ping.")
        await hub.publish(live)
        assert (await receive(ws))["context"]["summary"] == "Après le ping."
