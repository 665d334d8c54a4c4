"""The agent console: transfers pushed live to a web page, plus JSON for CRMs.

Routes (mounted by :func:`mount_console`):

* ``GET /agent``: the console page (plain JS, no CDN): transfers newest first, waiting
  time ticking, status badges, a detail panel;
* ``GET /api/handovers?limit=50``: the newest contexts as JSON;
* ``GET /agent/context/{context_id}``: one context; JSON, or the console page showing
  just that context when a browser asks for ``text/html``. This is the screen-pop URL
  the bridge puts on the channel (``AriSettings.context_url_base`` =
  ``https://<console host>/agent/context``);
* ``WS /agent/ws``: a snapshot, then every new transfer and status change.

Access: the console shows caller numbers and captured values. With a ``console_token``
configured, every route above needs it, as ``?token=``, as ``Authorization: Bearer``, or
as the ``callbot_console`` cookie that the page sets once opened with ``?token=`` (so that
screen-pop links need no token in the URL). Comparisons are constant-time. Without a
token the console is open: only on a loopback listener (see
:mod:`callbot.security.exposure`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response

from callbot.handover.context import HandoverContext
from callbot.handover.hub import HandoverHub, Subscription

STATIC = resources.files("callbot.web") / "static"
ASSETS = {"agent.js": "text/javascript", "agent.css": "text/css"}
COOKIE = "callbot_console"
MAX_LIMIT = 500
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013
"""Sent to a console that fell too far behind: it reconnects and gets a fresh snapshot."""


def token_ok(
    token: str | None, *, query: str | None, authorization: str | None, cookie: str | None
) -> bool:
    """Whether a console request may see personal data (always, when no token is set)."""
    if not token:
        return True
    bearer = None
    if authorization and authorization[:7].lower() == "bearer ":
        bearer = authorization[7:].strip()
    expected = token.encode()
    return any(
        hmac.compare_digest(given.encode(), expected)
        for given in (query, bearer, cookie)
        if given is not None
    )


def context_json(ctx: HandoverContext, hub: HandoverHub) -> dict[str, Any]:
    return {**ctx.to_json(), "detail": hub.detail(ctx.context_id)}


def console_router(hub: HandoverHub, token: str | None = None) -> APIRouter:
    router = APIRouter()

    def allowed(request: Request) -> bool:
        return token_ok(
            token,
            query=request.query_params.get("token"),
            authorization=request.headers.get("authorization"),
            cookie=request.cookies.get(COOKIE),
        )

    def page(request: Request) -> Response:
        html = (STATIC / "agent.html").read_text(encoding="utf-8")
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        given = request.query_params.get("token")
        if token and given:
            response.set_cookie(
                COOKIE,
                given,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    @router.get("/agent")
    async def agent_page(request: Request) -> Response:
        return page(request) if allowed(request) else _denied()

    @router.get("/agent/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    @router.get("/api/handovers")
    async def handovers(request: Request, limit: int = 50) -> Response:
        if not allowed(request):
            return _denied()
        listed = hub.recent(min(max(limit, 0), MAX_LIMIT))
        return _json({"handovers": [context_json(ctx, hub) for ctx in listed]})

    @router.get("/agent/context/{context_id}")
    async def one(request: Request, context_id: str) -> Response:
        if not allowed(request):
            return _denied()
        if _wants_html(request.headers.get("accept", "")):
            return page(request)
        found = await hub.lookup(context_id)
        if found is None:
            return JSONResponse({"error": "unknown context"}, status_code=404)
        return _json({"handover": {**found[0].to_json(), "detail": found[1]}})

    @router.websocket("/agent/ws")
    async def live(ws: WebSocket) -> None:
        if not token_ok(
            token,
            query=ws.query_params.get("token"),
            authorization=ws.headers.get("authorization"),
            cookie=ws.cookies.get(COOKIE),
        ):
            await ws.close(code=WS_POLICY_VIOLATION)
            return
        await ws.accept()
        async with hub.subscribe() as sub:  # before the snapshot: nothing falls in between
            snapshot = [context_json(ctx, hub) for ctx in hub.recent(MAX_LIMIT)]
            await ws.send_json({"type": "snapshot", "handovers": snapshot, "now": time.time()})
            await _forward(ws, sub)

    return router


async def _forward(ws: WebSocket, sub: Subscription) -> None:
    """Push events until the browser leaves, the console lags too far, or the hub closes."""

    async def until_closed() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await ws.receive_text()  # the page sends nothing; this notices it leaving

    watcher = asyncio.create_task(until_closed())
    events = aiter(sub)
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():  # the browser left first
                following.cancel()
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


def _wants_html(accept: str) -> bool:
    """A browser navigating asks ``text/html`` first; fetch() and CRMs ask JSON or ``*/*``."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first in ("text/html", "application/xhtml+xml")


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse({**body, "now": time.time()}, headers={"Cache-Control": "no-store"})


def _denied() -> Response:
    return JSONResponse(
        {"error": "console token required"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def mount_console(app: FastAPI, hub: HandoverHub, token: str | None = None) -> None:
    """Serve the agent console and its API from ``app`` (``token``: see the module doc)."""
    app.include_router(console_router(hub, token))
