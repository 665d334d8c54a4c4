"""Hand-over events POSTed to a CRM: one background worker, ordered, bounded, with
timeouts and retries.

A dead or slow CRM changes nothing for the caller: POSTs wait in a bounded queue (beyond
it, new ones are dropped and counted) and each is given up after its attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)

WEBHOOK_QUEUE = 1000
"""Webhook POSTs waiting while the CRM is slow or down; beyond this, new ones are dropped."""

Body = dict[str, Any]
"""A hand-over context as JSON (:meth:`~callbot.handover.context.HandoverContext.to_json`),
or a callback (:meth:`~callbot.records.callbacks.Callback.for_agents`)."""


@dataclass
class WebhookStats:
    delivered: int = 0
    failed: int = 0
    """Deliveries given up after every attempt."""
    dropped: int = 0
    """Not even attempted: the queue was full (CRM down for long)."""


class WebhookWorker:
    """POSTs each context or callback to ``url`` (its kind in ``X-Callbot-Event``:
    ``handover.created``, ``handover.status``, ``handover.expired`` (the context without its
    identifiers, which the CRM should drop too), ``callback.requested``, ``callback.claimed``,
    ``callback.released``, ``callback.closed``), one at a time, in the order submitted."""

    def __init__(
        self,
        url: str,
        *,
        authorization: str | None = None,
        timeout_s: float = 3.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        queue_size: int = WEBHOOK_QUEUE,
    ) -> None:
        self._url = url
        self._headers = {"Authorization": authorization} if authorization else {}
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._queue: asyncio.Queue[tuple[str, Body]] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.stats = WebhookStats()

    def submit(self, kind: str, body: Body) -> None:
        """Queue a POST (``kind`` ``handover``, ``status``, ``expired`` or
        ``callback.<event>``); never waits."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="handover-webhook")
        try:
            self._queue.put_nowait((kind, body))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            logger.error("hand-over webhook backlog full, %s not sent", _subject(body))

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued POST was delivered or given up."""
        async with asyncio.timeout(timeout_s):
            await self._queue.join()

    async def aclose(self, grace_s: float = 2.0) -> None:
        """Give pending POSTs ``grace_s``, then stop."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await self.flush(grace_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        """One POST at a time, in order: a CRM sees ``handover`` before its ``status``."""
        while True:
            kind, body = await self._queue.get()
            try:
                await self._deliver(kind, body)
            finally:
                self._queue.task_done()

    async def _deliver(self, kind: str, body: Body) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s)
        headers = {**self._headers, "X-Callbot-Event": _event(kind)}
        context_id = _subject(body)
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.post(self._url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.is_success:
                    self.stats.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
                if response.is_client_error and response.status_code not in (408, 429):
                    break  # the CRM refuses this body: retrying will not help
            logger.warning(
                "hand-over webhook for %s: %s (attempt %d/%d)",
                context_id,
                problem,
                attempt,
                self._attempts,
            )
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * attempt)
        self.stats.failed += 1
        logger.error("hand-over webhook gave up on %s (%s)", context_id, kind)


def _event(kind: str) -> str:
    """The ``X-Callbot-Event`` header of a POST of ``kind``."""
    if kind == "handover":
        return "handover.created"
    return kind if kind.startswith("callback.") else f"handover.{kind}"


def _subject(body: Body) -> str:
    """The id of what ``body`` is about, for logs."""
    return str(body.get("context_id") or body.get("callback_id") or "?")
