"""The access gate: an ASGI middleware in front of every route, HTTP and websocket alike.

It gathers a request's facts, asks :class:`~callbot.security.access.AccessPolicy`, and
either passes the request on or answers it: 401 with a ``WWW-Authenticate`` challenge,
403, or 429 with ``Retry-After`` once a client has sent wrong credentials too often. A
websocket upgrade gets the same HTTP answer (ASGI's denial response), or a 1008 close
(HTTP 403) where the server cannot send one. Routes behind it check nothing themselves.

Wrong credentials are logged (surface, path, client address; never what was sent) and
every refusal is counted through ``on_refused(surface, reason)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from callbot.logs import for_log
from callbot.security.access import (
    AGENT_COOKIE,
    TOKEN_PARAM,
    AccessPolicy,
    Decision,
    Request,
    Verdict,
    surface_for,
)
from callbot.security.ratelimit import FailureLimiter

logger = logging.getLogger(__name__)

WS_POLICY_VIOLATION = 1008
MESSAGES = {
    Verdict.MISSING: "credentials required",
    Verdict.BAD: "wrong credentials",
    Verdict.FORBIDDEN: "these credentials do not open this page",
    Verdict.LIMITED: "too many failed logins from this address: retry later",
    Verdict.CLOSED: "no credentials are configured for this page on this server",
}


class AccessGate:
    """``app`` behind ``policy``; add it with ``app.add_middleware(AccessGate, policy=...)``."""

    def __init__(
        self,
        app: ASGIApp,
        policy: AccessPolicy,
        limiter: FailureLimiter | None = None,
        on_refused: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.limiter = limiter or FailureLimiter(10)
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        request = Request(
            path=scope["path"],
            peer=conn.client.host if conn.client else None,
            headers=conn.headers,
            query_token=conn.query_params.get(TOKEN_PARAM),
            cookie_token=conn.cookies.get(AGENT_COOKIE),
        )
        decision = await self.decide(request)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        if self.on_refused is not None:
            self.on_refused(decision.surface.name, decision.verdict.value)
        await _deny(scope, send, decision)

    async def decide(self, request: Request) -> Decision:
        decision = self.policy.first_look(request)
        if decision is not None:
            if decision.verdict is Verdict.FORBIDDEN:
                logger.info(
                    "access: proxy user %s lacks the role for %s (%s)",
                    for_log(decision.user or "?"),
                    for_log(request.path),
                    decision.surface.name,
                )
            return decision
        client = self.policy.client(request)
        wait_s = self.limiter.retry_after_s(client)
        if wait_s:
            return Decision(Verdict.LIMITED, surface_for(request.path), retry_after_s=wait_s)
        presented = self.policy.presented(request)
        if self.policy.credentials.slow(presented):  # a password hash: off the event loop
            decision = await asyncio.to_thread(self.policy.judge, request, presented)
        else:
            decision = self.policy.judge(request, presented)
        if decision.verdict is Verdict.BAD:
            logger.warning(
                "access: wrong credentials for %s %s from %s",
                decision.surface.name,
                for_log(request.path),
                for_log(client),
            )
            if self.limiter.failed(client):
                logger.warning(
                    "access: %s sent wrong credentials %d times in %.0f s: refused (429) "
                    "until the window has passed",
                    for_log(client),
                    self.limiter.max_failures,
                    self.limiter.window_s,
                )
        elif decision.verdict is Verdict.FORBIDDEN:
            logger.info(
                "access: credentials from %s do not open %s (%s)",
                for_log(client),
                for_log(request.path),
                decision.surface.name,
            )
        return decision


async def _deny(scope: Scope, send: Send, decision: Decision) -> None:
    body = json.dumps({"error": MESSAGES[decision.verdict]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if decision.status == 401 and decision.surface.challenge:
        headers.append((b"www-authenticate", decision.surface.challenge.encode()))
    if decision.retry_after_s:
        headers.append((b"retry-after", str(decision.retry_after_s).encode()))
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
            return
        start = {"type": "websocket.http.response.start", "status": decision.status}
        await send({**start, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": decision.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
