"""Back-office hooks, the HTTP half: perform a :class:`Fetch`, never raise.

The dialog engine asks (``Fetch``) and is told (``HookResult``); this module is the
only place that talks HTTP, with httpx. Every failure becomes a status the engine
turns into its fallback sentence, so a slow or broken back-office never leaves
silence on the line: the whole request, connection included, is bounded by the
hook's ``timeout_s``.

The pipeline does, for a turn whose last action is a ``Fetch``::

    result = await backoffice.fetch(action)        # after playing the Say before it
    turn = engine.on_hook_result(result)           # then perform turn.actions

Reply bodies are personal data: they are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

import httpx

from callbot.dialplan.actions import Fetch, HookResult
from callbot.logs import call_log

logger = logging.getLogger(__name__)

MAX_REPLY_BYTES = 256 * 1024
"""A bigger reply is refused as malformed (a back-office answer is a few fields)."""


class BackOffice:
    """One shared HTTP client for every call's hooks (connection reuse, common headers).

    ``headers`` carry credentials from the settings (``Authorization: Bearer ...``),
    never from the dialplan; they are not logged.
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            headers=dict(headers or {}), transport=transport, follow_redirects=False
        )

    async def fetch(self, action: Fetch, call_id: str = "-") -> HookResult:
        """Perform ``action``; every outcome, including a crash of httpx, is a result."""
        try:
            async with asyncio.timeout(action.timeout_s):
                reply = await self._send(action)
        except TimeoutError:
            return _logged(HookResult(action.hook, "timeout", detail="timeout"), call_id)
        except httpx.TimeoutException:
            return _logged(HookResult(action.hook, "timeout", detail="httpx timeout"), call_id)
        except httpx.HTTPError as exc:
            return _logged(HookResult(action.hook, "error", detail=type(exc).__name__), call_id)
        return _logged(_result(action.hook, reply), call_id)

    async def _send(self, action: Fetch) -> httpx.Response:
        params = dict(action.params)
        timeout = httpx.Timeout(action.timeout_s)
        if action.method == "POST":
            return await self._client.post(action.url, json=params, timeout=timeout)
        return await self._client.get(action.url, params=params, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()


async def fetch(action: Fetch, *, headers: Mapping[str, str] | None = None) -> HookResult:
    """One-off :meth:`BackOffice.fetch` with its own client (tools, tests)."""
    office = BackOffice(headers=headers)
    try:
        return await office.fetch(action)
    finally:
        await office.aclose()


def _result(hook: str, reply: httpx.Response) -> HookResult:
    status = reply.status_code
    if status in (403, 404):
        return HookResult(hook, "not_found", detail=f"HTTP {status}")
    if not 200 <= status < 300:
        return HookResult(hook, "error", detail=f"HTTP {status}")
    if len(reply.content) > MAX_REPLY_BYTES:
        return HookResult(hook, "malformed", detail="reply too large")
    try:
        data = json.loads(reply.content)
    except ValueError:
        return HookResult(hook, "malformed", detail="not JSON")
    if not isinstance(data, dict):
        return HookResult(hook, "malformed", detail="not a JSON object")
    return HookResult(hook, "ok", data, detail=f"HTTP {status}")


def _logged(result: HookResult, call_id: str) -> HookResult:
    level = logging.INFO if result.status in ("ok", "not_found") else logging.WARNING
    call_log(logger, call_id).log(
        level, "hook %s: %s (%s)", result.hook, result.status, result.detail
    )
    return result
