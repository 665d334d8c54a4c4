"""The ops dashboard in a real headless Chromium, over a seeded week of call records.

The app is the lead's ``create_app`` with the dashboard mounted, served by uvicorn on a
loopback port; the records live in a real SQLite file. The page must draw every chart
from the JSON API without a console error. Set ``DASHBOARD_SCREENSHOT=/path.png`` to keep
the screenshot (it is always taken, into the test's temp folder).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from callbot.cluster import db
from callbot.cluster.nodes import NodeHeartbeat, NodeStatus
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import CallInfo, InboundEvent, MediaSink
from callbot.records.store import RecordStore, open_store
from callbot.web.app import WebContext, create_app
from callbot.web.dashboard import mount_dashboard
from callbot.web.serving import serve_app
from tests.records.live_calls import end_call, start_call, take_turn
from tests.records.seed import seeded_journals
from tests.web.browser import Launch, watched_page

if TYPE_CHECKING:
    from callbot.app.service import Operations

STEP_TIMEOUT_S = 15.0
WEEK = "since=2026-11-02&until=2026-11-09"


async def no_calls(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
    await sink.hangup()


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    opened = open_store(str(tmp_path / "records.sqlite3"), "salt")
    for record in seeded_journals(days=7):
        opened.save(record, None)
    return opened


@pytest.fixture
async def base_url(store: RecordStore) -> AsyncIterator[str]:
    app = create_app(WebContext(handler=no_calls, media=ChanWebsocketSettings()))
    mount_dashboard(app, store)
    running = await serve_app(app)
    yield f"http://127.0.0.1:{running.port}"
    await running.stop()
    store.close()


async def get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


async def test_api(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=STEP_TIMEOUT_S) as client:
        kpis = await get_json(client, f"/api/kpi?{WEEK}")
        assert kpis["offered"] == len(seeded_journals(days=7))
        assert kpis["timezone"] == "Europe/Paris"
        clusters = await get_json(client, f"/api/clusters?{WEEK}")
        assert clusters["not_understood"] > 0 and len(clusters["clusters"]) >= 4
        empty = await get_json(client, "/api/kpi?since=2020-01-01&until=2020-01-02&tz=UTC")
        assert empty["offered"] == 0 and empty["answer_rate"] is None
        bad = await client.get("/api/kpi?since=yesterday")
        assert bad.status_code == 400 and "not an ISO date" in bad.json()["error"]
        assert (await client.get("/api/clusters?tz=Mars/Olympus")).status_code == 400
        assert (await client.get("/dashboard/dashboard.html")).status_code == 404
        assert (await client.get("/dashboard/dashboard.js")).status_code == 200


async def test_dashboard_draws_every_chart(base_url: str, chromium: Launch, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=STEP_TIMEOUT_S) as client:
        kpis = await get_json(client, f"/api/kpi?{WEEK}")
        clusters = (await get_json(client, f"/api/clusters?{WEEK}"))["clusters"]
    errors: list[str] = []
    shot = tmp_path / "dashboard.png"
    async with chromium() as browser:
        page = await watched_page(browser, errors, viewport=(1280, 900))
        await page.goto(f"{base_url}/dashboard?since=2026-11-02&until=2026-11-08")
        await page.wait_for_selector("#dashboard[data-state=ready]")
        shown = {
            tile: await page.locator(f"#tile-{tile} .value").inner_text()
            for tile in ("offered", "answer", "understanding", "latency")
        }
        bars = {
            chart: int(await page.locator(f"#chart-{chart}").get_attribute("data-bars") or 0)
            for chart in ("hours", "days", "outcomes", "transfers", "intents", "satisfaction")
        }
        rows = await page.locator("#clusters tbody tr.cluster").count()
        first_label = await page.locator("#clusters tbody tr.cluster td.label").first.inner_text()
        period = await page.locator("#period").inner_text()
        await page.screenshot(path=str(shot), full_page=True)
        if target := os.environ.get("DASHBOARD_SCREENSHOT"):
            await page.screenshot(path=target, full_page=True)
    assert errors == []
    assert shown["offered"].replace("\u202f", "").replace(" ", "") == str(kpis["offered"])
    assert shown["answer"] == f"{kpis['answer_rate'] * 100:.1f} %".replace(".", ",")
    assert shown["latency"] == f"{round(kpis['latency']['p50_ms'])} ms"
    hours = kpis["by_hour"]
    assert bars["hours"] == sum(bool(h["offered"]) + bool(h["answered"]) for h in hours)
    assert bars["days"] == 3 * 7
    assert bars["outcomes"] == len(kpis["outcomes"])
    assert bars["transfers"] == len(kpis["transfer_reasons"])
    assert bars["intents"] == min(10, len(kpis["intents"]))
    assert bars["satisfaction"] == sum(1 for n in kpis["satisfaction"]["scores"].values() if n)
    assert rows == len(clusters) and first_label == clusters[0]["label"]
    assert period.startswith("Du 02/11/2026 au 08/11/2026")
    assert shot.stat().st_size > 20_000


async def test_the_live_view_shows_every_nodes_calls(
    postgres_url: str, node_a: Operations, chromium: Launch
) -> None:
    """The dashboard of node B, on the database the nodes share, shows the call going on
    on node A (its turns as they come) and the cluster's nodes, without a reload."""
    await db.prepare(postgres_url)
    worker = NodeHeartbeat(
        postgres_url,
        "worker-a",
        "worker",
        lambda: NodeStatus(ready=True, active_calls=1, capacity=7),
        interval_s=1.0,
    )
    await worker.beat()
    store = open_store(postgres_url, "salt")
    context = WebContext(handler=no_calls, media=ChanWebsocketSettings())
    context.shared_database = postgres_url
    app = create_app(context)
    mount_dashboard(app, store)
    running = await serve_app(app)
    assert node_a.writer is not None
    errors: list[str] = []
    try:
        async with chromium() as browser:
            page = await watched_page(browser, errors)
            await page.goto(f"http://127.0.0.1:{running.port}/dashboard")
            await page.wait_for_selector("#live[data-state=ready]")
            assert await page.locator("#nodes").is_visible()
            assert await page.locator("#nodes tbody tr[data-node=worker-a]").count() == 1
            journal = start_call(node_a, "call-on-a")
            take_turn(journal, "je voudrais mon attestation")
            take_turn(journal, "merci")  # the first one complete: written
            await page.wait_for_selector("#live-calls tr[data-call-id=call-on-a]")
            row = await page.locator("#live-calls tr[data-call-id=call-on-a]").inner_text()
            note = await page.locator("#live-note").inner_text()
            end_call(node_a, journal)
            await page.wait_for_selector("#live-calls tr[data-call-id=call-on-a]", state="detached")
    finally:
        await running.stop()
        await worker.close()
        store.close()
    assert errors == []
    assert "attestation_droits" in row and socket.gethostname() in row
    assert note == "— 1 appel en cours sur 1 nœud"
