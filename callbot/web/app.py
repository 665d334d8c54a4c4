"""The FastAPI application: ``/media`` for Asterisk (and the softphone), pages, health.

The app holds no global state: everything comes from :class:`WebContext`, built by
:mod:`callbot.app.service` at start-up. Its routes check no credentials: the access gate
in front of the app does (:func:`callbot.web.site.build_site`). ``/api/calls`` serves
the recent calls redacted exactly as the record store keeps them; with a database the
nodes share, every node's calls in progress too, and ``/api/cluster`` its nodes
(:mod:`callbot.cluster.nodes_view`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response

from callbot.media.call_identity import CallIdRegistry
from callbot.media.chan_websocket_edge import ChanWebsocketSettings, serve_call
from callbot.media.types import CallHandler
from callbot.observability.health import Readiness
from callbot.observability.metrics import CallMetrics, add_metrics_route
from callbot.records.model import IN_PROGRESS, from_journal

logger = logging.getLogger(__name__)

STATIC = resources.files("callbot.web") / "static"


@dataclass
class WebContext:
    handler: CallHandler
    media: ChanWebsocketSettings
    softphone: bool = True
    ready: Readiness | None = None
    """None: always ready (tests and tools that serve no calls of their own)."""
    metrics: CallMetrics | None = None
    active_calls: Callable[[], int] = lambda: 0
    records: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    info: dict[str, Any] = field(default_factory=dict)
    """What is loaded (dialplan, voice, ASR device), shown on /healthz and the softphone."""
    call_ids: CallIdRegistry = field(default_factory=CallIdRegistry)
    """Call ids given out by this process (a ``v()`` id seen twice is not reused)."""
    shared_database: str | None = None
    """The PostgreSQL database the nodes share (None: this process alone)."""


def create_app(context: WebContext) -> FastAPI:
    app = FastAPI(title="callbot", docs_url=None, redoc_url=None)

    @app.websocket("/media")
    async def media(ws: WebSocket) -> None:
        await serve_call(ws, context.handler, context.media, call_ids=context.call_ids)

    @app.get("/healthz")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "active_calls": context.active_calls(), **context.info}

    @app.get("/readyz")
    async def ready() -> Response:
        """Ready: models loaded, not shutting down, under the concurrent-call limit."""
        if context.ready is None:
            return JSONResponse({"ready": True})
        status = context.ready.status()
        return JSONResponse(status, status_code=200 if status["ready"] else 503)

    if context.metrics is not None:
        add_metrics_route(app, context.metrics)

    @app.get("/api/calls")
    async def calls(state: str | None = None) -> list[dict[str, Any]]:
        """The most recent calls this process ended (newest last), redacted as stored;
        then, with a shared database, every node's calls in progress (oldest first), each
        with the ``node`` that serves it. ``state=in_progress``: only those."""
        ended = [] if state == IN_PROGRESS else [redacted(r) for r in list(context.records)]
        if context.shared_database is None:
            return ended
        from callbot.cluster import db, nodes_view  # psycopg: the postgres extra

        try:
            going = await nodes_view.calls_in_progress(context.shared_database)
        except db.UNAVAILABLE as exc:
            logger.warning("calls in progress not read (%s)", type(exc).__name__)
            going = []
        return ended + [call.to_json() for call in going]

    @app.get("/api/cluster")
    async def cluster() -> Response:
        """The nodes sharing this node's database: role, readiness, load, leader, and
        how long ago each gave news (``[]`` for a process alone)."""
        if context.shared_database is None:
            return JSONResponse({"shared": False, "nodes": []})
        from callbot.cluster import db, nodes_view  # psycopg: the postgres extra

        try:
            rows = await nodes_view.nodes(context.shared_database)
        except db.UNAVAILABLE as exc:
            return JSONResponse({"error": f"database unavailable ({type(exc).__name__})"}, 503)
        body = {"shared": True, "nodes": [nodes_view.node_json(row) for row in rows]}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        """The pages' shared assets (the softphone's, the palette of every page)."""
        kinds = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
        suffix = name[name.rfind(".") :] if "." in name else ""
        target = STATIC / name
        if "/" in name or suffix not in kinds or not target.is_file():
            return Response(status_code=404)
        return Response(target.read_bytes(), media_type=kinds[suffix])

    if context.softphone:

        @app.get("/", response_class=HTMLResponse)
        async def softphone() -> str:
            return (STATIC / "softphone.html").read_text(encoding="utf-8")

    return app


def redacted(record: dict[str, Any]) -> dict[str, Any]:
    """A finished call's record as the store keeps it: caller and bot text redacted, no
    caller number (:func:`callbot.records.model.from_journal`)."""
    return from_journal(record, None).to_dict()
