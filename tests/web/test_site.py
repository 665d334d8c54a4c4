"""The whole site as ``callbot serve`` builds it (:func:`callbot.web.site.build_site`),
served by uvicorn on loopback: every route of the real app is behind the access gate.

The route walk reads ``app.routes``, so a route added later is checked too: with
credentials configured, nothing but ``/healthz`` and ``/readyz`` answers without them.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, RouteContext, iter_route_contexts
from playwright.async_api import Error as PlaywrightError
from starlette.routing import Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from callbot.config import ServerSettings, Settings
from callbot.handover.hub import HandoverHub
from callbot.handover.settings import HandoverSettings
from callbot.loadtest.runner import HttpRecords
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import CallHandler, CallInfo, InboundEvent, MediaSink
from callbot.observability.metrics import CallMetrics
from callbot.records.store import RecordStore, open_store
from callbot.security.access import PUBLIC_PATHS, Role, surface_for
from callbot.security.passwords import hash_password
from callbot.security.settings import SecuritySettings
from callbot.web.app import WebContext
from callbot.web.serving import serve_app
from callbot.web.site import build_site, softphone_allowed
from tests.conftest import sound
from tests.handover.test_hub import sample_context
from tests.records.seed import journal, seeded_journals, turn
from tests.records.test_callbacks import CALLER, TO_CALL, a_callback, out_of_hours_call
from tests.web.browser import Launch, on_console, watched_page

TIMEOUT_S = 15.0
OPS = ("ops", "ops password")
MEDIA = ("asterisk", "media password")
AGENT_TOKEN, METRICS_TOKEN, MEDIA_TOKEN = "agent-token", "metrics-token", "media-token"
NIR, PHONE = "2 49 07 75 075 841 61", "06 12 34 56 78"
WEEK = "since=2026-11-02&until=2026-11-09"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CREDENTIALS = {
    Role.MEDIA: {"Authorization": basic(*MEDIA)},
    Role.AGENT: {"Authorization": f"Bearer {AGENT_TOKEN}"},
    Role.OPS: {"Authorization": basic(*OPS)},
    Role.METRICS: {"Authorization": f"Bearer {METRICS_TOKEN}"},
}


def guarded_settings() -> Settings:
    """Every role with credentials, on loopback (what a careful deployment has)."""
    return Settings(
        server=ServerSettings(media_username=MEDIA[0], media_password=MEDIA[1]),
        security=SecuritySettings(
            media_token=MEDIA_TOKEN,
            ops_username=OPS[0],
            ops_password_hash=hash_password(OPS[1], log2_n=4),
            metrics_token=METRICS_TOKEN,
        ),
        handover=HandoverSettings(console_token=AGENT_TOKEN),
    )


async def no_calls(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
    await sink.hangup()


@dataclasses.dataclass
class Site:
    app: FastAPI
    base: str
    context: WebContext
    hub: HandoverHub
    metrics: CallMetrics
    store: RecordStore

    @property
    def ws_base(self) -> str:
        return self.base.replace("http", "ws", 1)


Start = Callable[..., Awaitable[Site]]


@pytest.fixture
async def start_site(tmp_path: Path) -> AsyncIterator[Start]:
    stops: list[Callable[[], Awaitable[None]]] = []

    async def start(settings: Settings, handler: CallHandler = no_calls) -> Site:
        store = open_store(str(tmp_path / f"records-{len(stops)}.sqlite3"), "salt")
        for record in seeded_journals(days=7):
            store.save(record, None)
        hub = HandoverHub(tmp_path / f"handover-{len(stops)}.sqlite3")
        metrics = CallMetrics()
        context = WebContext(handler=handler, media=ChanWebsocketSettings(), metrics=metrics)
        app = build_site(settings, context, store, hub)
        running = await serve_app(app)

        async def stop() -> None:
            await hub.aclose()
            await running.stop()
            store.close()

        stops.append(stop)
        return Site(app, f"http://127.0.0.1:{running.port}", context, hub, metrics, store)

    yield start
    for stop in stops:
        await stop()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def ws_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a websocket upgrade (101 when it was accepted)."""
    try:
        async with connect(url, additional_headers=headers or {}, open_timeout=TIMEOUT_S):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def every_route(app: FastAPI) -> list[RouteContext]:
    """Every route of ``app``, included routers flattened (FastAPI keeps them nested)."""
    return list(iter_route_contexts(app.routes))


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in every_route(app):
        if isinstance(route.original_route, Route) and route.path:
            found += [(method, route.path) for method in sorted(route.methods or ())]
    return found


def ws_routes(app: FastAPI) -> list[str]:
    return [
        r.path
        for r in every_route(app)
        if isinstance(r.original_route, WebSocketRoute | APIWebSocketRoute) and r.path
    ]


async def test_every_route_needs_credentials_but_health(start_site: Start) -> None:
    site = await start_site(guarded_settings())
    routes, sockets = http_routes(site.app), ws_routes(site.app)
    paths = {path for _, path in routes} | set(sockets)
    # The walk covers every surface of callbot serve (a missing mount would hide one).
    for expected in ("/", "/media", "/agent/ws", "/api/calls", "/api/kpi", "/dashboard"):
        assert expected in paths
    assert {"/metrics", "/openapi.json", "/agent/handovers", "/static/{name}"} <= paths
    open_paths = set()
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for method, path in routes:
            response = await client.request(method, concrete(path))
            if response.status_code not in (401, 403):
                open_paths.add(path)
            else:
                assert "password" not in response.text and AGENT_TOKEN not in response.text
    for path in sockets:
        if await ws_status(site.ws_base + concrete(path)) not in (401, 403):
            open_paths.add(path)
    assert open_paths == PUBLIC_PATHS


async def test_each_route_opens_to_its_role_and_refuses_the_others(start_site: Start) -> None:
    site = await start_site(guarded_settings())
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for method, path in http_routes(site.app):
            if path in PUBLIC_PATHS:
                continue
            roles = surface_for(path).roles
            for role, headers in CREDENTIALS.items():
                status = (await client.request(method, concrete(path), headers=headers)).status_code
                if role in roles:
                    assert status not in (401, 403, 429), (method, path, role)
                else:
                    assert status == 403, (method, path, role)
    for path in ws_routes(site.app):
        for role, headers in CREDENTIALS.items():
            status = await ws_status(site.ws_base + concrete(path), headers)
            assert (status == 101) == (role in surface_for(path).roles), (path, role)
    assert await ws_status(f"{site.ws_base}/media?token={MEDIA_TOKEN}") == 101
    assert await ws_status(f"{site.ws_base}/agent/ws?token={AGENT_TOKEN}") == 101


async def test_the_reported_case_is_closed(
    start_site: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10: with media and console credentials set (loopback), call data answered 200
    to anyone. Now the roles without credentials are closed, and said so at start-up."""
    reported = Settings(
        server=ServerSettings(media_username=MEDIA[0], media_password=MEDIA[1]),
        handover=HandoverSettings(console_token=AGENT_TOKEN),
    )
    site = await start_site(reported)
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for path in ("/api/calls", "/api/kpi", "/api/clusters", "/dashboard", "/metrics", "/"):
            assert (await client.get(path)).status_code == 403, path
        agent = CREDENTIALS[Role.AGENT]
        assert (await client.get("/agent/handovers", headers=agent)).status_code == 200
    assert await ws_status(f"{site.ws_base}/media", CREDENTIALS[Role.MEDIA]) == 101
    warned = [r.getMessage() for r in caplog.records if r.name == "callbot.web.site"]
    assert len(warned) == 1 and warned[0].startswith("access: no credentials for ops, metrics")
    settings = guarded_settings()
    site = await start_site(settings)
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for path in ("/api/calls", "/api/kpi", "/api/clusters", "/dashboard", "/metrics"):
            assert (await client.get(path)).status_code == 401, path
    off_loopback = dataclasses.replace(settings, server=ServerSettings(host="0.0.0.0"))
    nobody = dataclasses.replace(
        off_loopback, security=SecuritySettings(), handover=HandoverSettings()
    )
    site = await start_site(nobody)  # (check_exposure refuses this one; the gate holds anyway)
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for path in ("/", "/api/calls", "/dashboard", "/metrics", "/agent", "/static/theme.css"):
            assert (await client.get(path)).status_code == 403, path
        assert (await client.get("/healthz")).status_code == 200


async def test_nothing_configured_on_loopback_is_the_open_embedded_default(
    start_site: Start,
) -> None:
    site = await start_site(Settings())
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        page = await client.get("/")
        assert page.status_code == 200 and "softphone" in page.text.lower()
        for path in ("/static/softphone.js", "/api/calls", "/metrics", "/dashboard", "/agent"):
            assert (await client.get(path)).status_code == 200, path
    assert await ws_status(f"{site.ws_base}/agent/ws") == 101


def test_softphone_beyond_loopback_only_on_request() -> None:
    assert softphone_allowed(Settings())
    wide = Settings(server=ServerSettings(host="0.0.0.0"))
    assert not softphone_allowed(wide)
    asked = dataclasses.replace(wide, security=SecuritySettings(softphone_beyond_loopback=True))
    assert softphone_allowed(asked)
    assert not softphone_allowed(Settings(server=ServerSettings(softphone=False)))


async def test_api_calls_never_shows_caller_identifiers(start_site: Start) -> None:
    site = await start_site(Settings())
    said = f"mon numéro de sécu c'est le {NIR} et mon portable le {PHONE}"
    site.context.records.append(
        journal(
            "call-1",
            1_700_000_000.0,
            turns=[turn(0, said, "no_match", bot_text=[f"Vous avez dit {PHONE} ?"])],
            errors=[f"hook failed for {PHONE}"],
        )
    )
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        body = (await client.get("/api/calls")).text
    served = json.loads(body)
    assert served[0]["call_id"] == "call-1" and served[0]["turns"][0]["outcome"] == "no_match"
    assert "<NIR>" in served[0]["turns"][0]["caller_text"]
    for identifier in (NIR, PHONE, NIR.replace(" ", ""), PHONE.replace(" ", "")):
        assert identifier not in body
    assert PHONE in site.context.records[0]["turns"][0]["caller_text"]  # in-process only


async def test_callbacks_are_exported_to_ops_without_the_number(start_site: Start) -> None:
    """``/api/callbacks`` is the ops role's and, like all of ``/api``, carries no
    identifier; the agents get the number on ``/agent/callbacks``."""
    site = await start_site(guarded_settings())
    site.store.save(out_of_hours_call(), CALLER, callback=a_callback())
    since = "since=2026-10-01&until=2026-12-01&tz=UTC"
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        ops = await client.get(f"/api/callbacks?{since}", headers=CREDENTIALS[Role.OPS])
        owed = await client.get(
            f"/api/callbacks?{since}&status=open", headers=CREDENTIALS[Role.OPS]
        )
        closed = await client.get(
            f"/api/callbacks?{since}&status=closed", headers=CREDENTIALS[Role.OPS]
        )
        bad = await client.get("/api/callbacks?status=lost", headers=CREDENTIALS[Role.OPS])
        agent_on_api = await client.get("/api/callbacks", headers=CREDENTIALS[Role.AGENT])
        agent = await client.get("/agent/callbacks", headers=CREDENTIALS[Role.AGENT])
        ops_on_agent = await client.get("/agent/callbacks", headers=CREDENTIALS[Role.OPS])
    assert ops.status_code == 200 and ops.headers["content-type"] == "application/json"
    [exported] = ops.json()["callbacks"]
    assert (exported["callback_id"], exported["status"], exported["number"]) == (
        "cb1",
        "open",
        None,
    )
    assert "caller_hash" not in exported and "number_hash" not in exported
    for identifier in (TO_CALL, "06 98 76 54 32", "0612345678"):
        assert identifier not in ops.text
    assert len(owed.json()["callbacks"]) == 1 and closed.json()["callbacks"] == []
    assert bad.status_code == 400
    assert agent_on_api.status_code == ops_on_agent.status_code == 403
    assert agent.json()["callbacks"][0]["number"] == TO_CALL


async def test_the_load_tester_reads_records_with_ops_credentials(start_site: Start) -> None:
    """``callbot loadtest --url ... --ops-user`` against a guarded server."""
    site = await start_site(guarded_settings())
    site.context.records.append(journal("load-1", 1_700_000_000.0))
    assert await HttpRecords(site.base).get("load-1", 0.3) is None  # 401: no record
    found = await HttpRecords(site.base, OPS).get("load-1", 2.0)
    assert found is not None and found["call_id"] == "load-1"


async def test_failed_logins_are_counted_on_metrics(start_site: Start) -> None:
    site = await start_site(guarded_settings())
    async with httpx.AsyncClient(base_url=site.base, timeout=TIMEOUT_S) as client:
        for _ in range(3):
            assert (await client.get("/dashboard", auth=("ops", "wrong"))).status_code == 401
        scrape = await client.get("/metrics", headers=CREDENTIALS[Role.METRICS])
    line = 'callbot_auth_failures_total{reason="bad_credentials",surface="ops"} 3.0'
    assert line in scrape.text


async def test_pages_work_in_a_browser_with_their_credentials(
    start_site: Start, chromium: Launch
) -> None:
    """Chromium: the dashboard behind Basic auth (the browser's prompt, answered), the agent
    console opened with its token and then by a screen-pop link with only the cookie."""
    site = await start_site(guarded_settings())
    ctx = sample_context()
    await site.hub.publish(ctx)
    errors: list[str] = []
    async with chromium() as browser:
        ops = await browser.new_context(http_credentials={"username": OPS[0], "password": OPS[1]})
        page = await watched_page(ops, errors)
        await page.goto(f"{site.base}/dashboard?{WEEK}")
        await page.wait_for_selector("#dashboard[data-state=ready]")
        offered = await page.locator("#tile-offered .value").inner_text()

        agent = await browser.new_context()
        console = await watched_page(agent, errors)
        await console.goto(f"{site.base}/agent?token={AGENT_TOKEN}")
        await console.wait_for_selector("#console[data-state=live]")
        await console.wait_for_selector(f".item[data-id='{ctx.context_id}']")
        pop = await agent.new_page()  # the screen-pop link: no token, the cookie
        pop.on("console", lambda msg: on_console(msg, errors))
        await pop.goto(f"{site.base}/agent/context/{ctx.context_id}")
        await pop.wait_for_selector("#console[data-state=live]")
        number = await pop.locator("#d-number").inner_text()

        stranger = await (await browser.new_context()).new_page()
        denied = await stranger.goto(f"{site.base}/agent/context/{ctx.context_id}")
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            await stranger.goto(f"{site.base}/dashboard")  # Basic challenge, no answer
    assert errors == []
    assert offered.replace("\u202f", "").replace(" ", "") == str(len(seeded_journals(days=7)))
    assert number == "06 12 34 56 78"
    assert denied is not None and denied.status == 401


async def test_the_softphone_behind_ops_reaches_media_with_its_token(
    start_site: Start, chromium: Launch
) -> None:
    """The softphone page is ops' (Basic auth); its websocket to /media carries the media
    token it was opened with (``/?token=...``), and the call reaches the bot."""
    calls: list[CallInfo] = []

    async def answer(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        calls.append(info)
        await sink.hangup()

    site = await start_site(guarded_settings(), answer)
    errors: list[str] = []
    async with chromium(sound("vm-goodbye")) as browser:
        ops = await browser.new_context(http_credentials={"username": OPS[0], "password": OPS[1]})
        page = await watched_page(ops, errors)
        await page.goto(f"{site.base}/?token={MEDIA_TOKEN}")
        await page.get_by_role("button", name="Appeler").click()
        await page.wait_for_selector('#softphone[data-state="ended"]')
    assert errors == []
    assert len(calls) == 1 and calls[0].caller_number == "softphone"
