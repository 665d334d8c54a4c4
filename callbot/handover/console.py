"""The agent console: transfers pushed live to a web page, plus JSON for CRMs.

Routes (mounted by :func:`mount_console`):

* ``GET /agent``: the console page (plain JS, no CDN): transfers newest first, waiting
  time ticking, status badges, a detail panel;
* ``GET /agent/context/{context_id}``: one context; JSON, or the console page showing
  just that context when a browser asks for ``text/html``. This is the screen-pop URL
  the bridge puts on the channel (``AriSettings.context_url_base`` =
  ``https://<console host>/agent/context``);
* ``GET /agent/handovers?limit=50``: the newest contexts as JSON (for CRMs);
* ``WS /agent/ws``: a snapshot, then every new transfer and status change, and every
  callback requested, claimed, released or closed; a binary message is answered with a
  1003 close;
* the callback list and its claim / release / close requests
  (:mod:`callbot.handover.callbacks_api`), when call records are kept.

Access: the console shows caller numbers and captured values, so it belongs to the
``agent`` role, and the access gate in front of the app (:mod:`callbot.security.gate`)
checks every route above: ``handover.console_token`` as ``?token=``, as
``Authorization: Bearer``, or as the ``callbot_console`` cookie that the page sets once
opened with ``?token=`` (so that screen-pop links need no token in the URL). Its JSON
lives under ``/agent``, not ``/api``: ``/api/*`` is the ops role's, and only ever
carries redacted text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response

from callbot.handover.callbacks_api import callbacks_router
from callbot.handover.context import HandoverContext
from callbot.handover.fanout import Subscription
from callbot.handover.hub import HandoverHub
from callbot.logs import for_log
from callbot.records.store import RecordStore
from callbot.security.access import AGENT_COOKIE, TOKEN_PARAM

logger = logging.getLogger(__name__)

STATIC = resources.files("callbot.web") / "static"
ASSETS = {"agent.js": "text/javascript", "agent.css": "text/css"}
MAX_LIMIT = 500
WS_UNSUPPORTED_DATA = 1003
"""Sent to a client that sends a binary message (the page never does)."""
WS_TRY_AGAIN_LATER = 1013
"""Sent to a console that fell too far behind: it reconnects and gets a fresh snapshot."""


def context_json(ctx: HandoverContext, hub: HandoverHub) -> dict[str, Any]:
    return {**ctx.to_json(), "detail": hub.detail(ctx.context_id)}


def console_router(hub: HandoverHub, store: RecordStore | None = None) -> APIRouter:
    """The console's routes (``store``: where callbacks are; None: no callback list); they
    check no credentials (the access gate does)."""
    router = APIRouter()

    def page(request: Request) -> Response:
        html = (STATIC / "agent.html").read_text(encoding="utf-8")
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        given = request.query_params.get(TOKEN_PARAM)
        if given:  # the gate let it through: remember it for screen-pop links
            response.set_cookie(
                AGENT_COOKIE,
                given,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    @router.get("/agent")
    async def agent_page(request: Request) -> Response:
        return page(request)

    @router.get("/agent/handovers")
    async def handovers(limit: int = 50) -> Response:
        listed = hub.recent(min(max(limit, 0), MAX_LIMIT))
        return _json({"handovers": [context_json(ctx, hub) for ctx in listed]})

    @router.get("/agent/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    @router.get("/agent/context/{context_id}")
    async def one(request: Request, context_id: str) -> Response:
        if _wants_html(request.headers.get("accept", "")):
            return page(request)
        found = await hub.lookup(context_id)
        if found is None:
            return JSONResponse({"error": "unknown context"}, status_code=404)
        return _json({"handover": {**found[0].to_json(), "detail": found[1]}})

    @router.websocket("/agent/ws")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        async with hub.subscribe() as sub:  # before the snapshot: nothing falls in between
            await ws.send_json({**await hub.snapshot(store), "now": time.time()})
            await _forward(ws, sub)

    return router


async def _forward(ws: WebSocket, sub: Subscription) -> None:
    """Push events until the browser leaves, sends binary, lags too far, or the hub closes."""
    watcher = asyncio.create_task(_until_closed(ws))
    events = aiter(sub)
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():  # the browser left, or broke the protocol, first
                following.cancel()
                if watcher.result() == "binary":
                    await ws.close(code=WS_UNSUPPORTED_DATA)
                return
            try:
                event = following.result()
            except StopAsyncIteration:
                break
            await ws.send_json({**event, "now": time.time()})
        code = WS_TRY_AGAIN_LATER if sub.dropped else 1001
        await ws.close(code=code)
    except (WebSocketDisconnect, RuntimeError):
        return  # the browser left while we were sending
    finally:
        watcher.cancel()


async def _until_closed(ws: WebSocket) -> str:
    """Read what the page sends (nothing, normally) until it leaves: ``"left"``, or
    ``"binary"`` for a binary message, which the console does not speak (logged once)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return "left"
        if message.get("bytes") is not None:
            client = ws.client.host if ws.client else "?"
            logger.warning(
                "agent console %s sent a binary message: closed (1003, unsupported data)",
                for_log(client),
            )
            return "binary"


def _wants_html(accept: str) -> bool:
    """A browser navigating asks ``text/html`` first; fetch() and CRMs ask JSON or ``*/*``."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first in ("text/html", "application/xhtml+xml")


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse({**body, "now": time.time()}, headers={"Cache-Control": "no-store"})


def mount_console(app: FastAPI, hub: HandoverHub, store: RecordStore | None = None) -> None:
    """Serve the agent console and its JSON from ``app`` (access: see the module doc);
    with ``store``, the callbacks too."""
    if store is not None:  # first: /agent/callbacks is no asset
        app.include_router(callbacks_router(hub, store))
    app.include_router(console_router(hub, store))
