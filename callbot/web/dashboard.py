"""The ops dashboard: ``/dashboard`` (page, charts drawn in the browser) and its JSON API.

``GET /api/kpi`` and ``GET /api/clusters`` take ``since`` and ``until`` (ISO dates or
date-times, in ``tz``; default: the last 7 days) and ``tz`` (default the hotline's).
They answer what ``callbot report --format json`` prints. ``GET /api/callbacks`` (same
period, ``status`` to filter) exports the callbacks asked for, oldest first, without the
numbers to call (``/api/*`` carries no identifier: the agents have them, on the console).
The store is read on a thread and clustering runs on one too, so the event loop that
carries calls never waits.

Records are redacted before they are stored, yet they remain call data: serve this
behind the same access control as the rest of the ops tooling.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from callbot.records.callbacks import STATUSES
from callbot.records.clusters import cluster_utterances, not_understood
from callbot.records.kpi import compute_kpis
from callbot.records.model import StoredCall
from callbot.records.report import parse_time, zone
from callbot.records.store import RecordStore

STATIC = resources.files("callbot.web") / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
DEFAULT_DAYS = 7
DEFAULT_TZ = "Europe/Paris"


def dashboard_router(store: RecordStore, default_tz: str = DEFAULT_TZ) -> APIRouter:
    router = APIRouter()

    def window(
        since: str | None, until: str | None, tz_name: str | None
    ) -> tuple[float, float, dt.tzinfo]:
        tz = zone(tz_name or default_tz)
        end = parse_time(until, tz) if until else dt.datetime.now(tz).timestamp()
        start = parse_time(since, tz) if since else end - DEFAULT_DAYS * 86400.0
        return start, end, tz

    async def period(
        since: str | None, until: str | None, tz_name: str | None
    ) -> tuple[list[StoredCall], float, float, dt.tzinfo]:
        start, end, tz = window(since, until, tz_name)
        calls = await asyncio.to_thread(store.calls, start, end)
        return calls, start, end, tz

    @router.get("/dashboard", response_class=HTMLResponse)
    async def page() -> str:
        return (STATIC / "dashboard.html").read_text(encoding="utf-8")

    @router.get("/dashboard/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    @router.get("/api/kpi")
    async def kpi(
        since: str | None = None, until: str | None = None, tz: str | None = Query(None)
    ) -> Response:
        try:
            calls, start, end, zone_ = await period(since, until, tz)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        callbacks = await asyncio.to_thread(store.callbacks, start, end)
        report = await asyncio.to_thread(compute_kpis, calls, start, end, zone_, callbacks)
        return JSONResponse(report.to_dict())

    @router.get("/api/clusters")
    async def clusters(
        since: str | None = None, until: str | None = None, tz: str | None = Query(None)
    ) -> Response:
        try:
            calls, _, _, _ = await period(since, until, tz)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        texts = not_understood(calls)
        found = await asyncio.to_thread(cluster_utterances, texts)
        body: dict[str, Any] = {
            "not_understood": len(texts),
            "clusters": [c.to_dict() for c in found],
        }
        return JSONResponse(body)

    @router.get("/api/callbacks")
    async def callbacks(
        since: str | None = None,
        until: str | None = None,
        tz: str | None = Query(None),
        status: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        try:
            start, end, _ = window(since, until, tz)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        wanted = status or []
        if any(s not in STATUSES for s in wanted):
            return JSONResponse({"error": f"status: one of {', '.join(STATUSES)}"}, 400)
        found = await asyncio.to_thread(store.callbacks, start, end, statuses=wanted)
        body = {"since": start, "until": end, "callbacks": [c.for_ops() for c in found]}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router


def mount_dashboard(app: FastAPI, store: RecordStore, default_tz: str = DEFAULT_TZ) -> None:
    """Serve the dashboard and its API from ``app``."""
    app.include_router(dashboard_router(store, default_tz))
