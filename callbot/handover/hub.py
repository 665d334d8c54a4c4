"""The hand-over hub: stores every context durably, pushes it to consoles, POSTs it to a CRM.

Order matters and is the point of this module: :meth:`HandoverHub.publish` returns only
once the context is committed to disk (SQLite, WAL, ``synchronous=FULL``: hand-overs are
rare, losing one is not an option), so a caller who leaves the bot leaves a trace. Only
then does it fan the context out to live consoles (bounded queue per console: a slow one
is dropped and reconnects, it never holds the transfer back) and queue it for the webhook
(one background worker, ordered, bounded, with timeouts and retries). A dead console or
CRM changes nothing for the caller: the channel variables still carry the summary.

One hub per process: live push reaches the consoles connected to this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from callbot.handover.context import STATUSES, HandoverContext
from callbot.handover.settings import HandoverSettings

logger = logging.getLogger(__name__)

MEMORY_LIMIT = 500
"""Contexts kept in memory for the console (the newest); older ones are read from disk."""
SUBSCRIBER_QUEUE = 64
"""Events a console may lag behind before it is dropped (it then reconnects and resyncs)."""
WEBHOOK_QUEUE = 1000
"""Webhook POSTs waiting while the CRM is slow or down; beyond this, new ones are dropped."""
BUSY_TIMEOUT_S = 5.0

Event = dict[str, Any]


class HandoverStore:
    """One small SQLite table: ``context_id`` -> the context's JSON (plus the last detail).

    Blocking; the hub calls it from a thread. One connection, shared under a lock.
    """

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the commit is on disk (not only in the OS cache) when save() returns.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS handovers ("
                " context_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
                " detail TEXT NOT NULL DEFAULT '', body TEXT NOT NULL)"
            )
            self._conn.execute(
                "CREATE INDEX IF NOT EXISTS handovers_created ON handovers (created_at)"
            )

    def save(self, ctx: HandoverContext, detail: str = "") -> None:
        body = json.dumps(ctx.to_json(), ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT INTO handovers (context_id, created_at, detail, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (context_id) DO UPDATE SET detail = excluded.detail,"
                " body = excluded.body",
                (ctx.context_id, ctx.created_at, detail, body),
            )

    def load(self, context_id: str) -> tuple[HandoverContext, str] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body, detail FROM handovers WHERE context_id = ?", (context_id,)
            ).fetchone()
        return None if row is None else (HandoverContext.from_json(json.loads(row[0])), row[1])

    def newest(self, limit: int) -> list[tuple[HandoverContext, str]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body, detail FROM handovers ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [(HandoverContext.from_json(json.loads(body)), detail) for body, detail in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Subscription:
    """Events for one console, in order; ends when the console lagged too far or the hub
    closed. Registered when created, so nothing published afterwards is missed."""

    def __init__(self, hub: HandoverHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.dropped = False
        """True when this console fell behind and was cut off (it should resync)."""
        self._ended = False

    def offer(self, event: Event) -> bool:
        """Queue ``event``; False (and the subscription ends) when the console is too slow."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.end()
            return False
        return True

    def end(self) -> None:
        self._ended = True
        self._hub._subscribers.discard(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)  # wakes a waiting reader; a full queue has none

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._ended and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.end()


@dataclass
class WebhookStats:
    delivered: int = 0
    failed: int = 0
    """Deliveries given up after every attempt."""
    dropped: int = 0
    """Not even attempted: the queue was full (CRM down for long)."""


class HandoverHub:
    def __init__(
        self,
        store_path: Path | str | None = None,
        webhook_url: str | None = None,
        *,
        webhook_authorization: str | None = None,
        webhook_timeout_s: float = 3.0,
        webhook_attempts: int = 3,
        webhook_backoff_s: float = 0.5,
        subscriber_queue: int = SUBSCRIBER_QUEUE,
        memory_limit: int = MEMORY_LIMIT,
    ) -> None:
        """``store_path`` None keeps contexts in memory only (tests, tools)."""
        self._store = HandoverStore(store_path if store_path is not None else ":memory:")
        self._memory: OrderedDict[str, tuple[HandoverContext, str]] = OrderedDict()
        for ctx, detail in reversed(self._store.newest(memory_limit)):
            self._memory[ctx.context_id] = (ctx, detail)
        self._memory_limit = memory_limit
        self._subscriber_queue = subscriber_queue
        self._subscribers: set[Subscription] = set()
        self._webhook_url = webhook_url
        self._webhook_headers = (
            {"Authorization": webhook_authorization} if webhook_authorization else {}
        )
        self._webhook_timeout_s = webhook_timeout_s
        self._webhook_attempts = max(1, webhook_attempts)
        self._webhook_backoff_s = webhook_backoff_s
        self._webhook_queue: asyncio.Queue[tuple[str, Event]] = asyncio.Queue(WEBHOOK_QUEUE)
        self._webhook_task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.webhook_stats = WebhookStats()
        self._closed = False

    @classmethod
    def from_settings(cls, settings: HandoverSettings) -> HandoverHub:
        """Blocking (opens the store): call at start-up, before serving calls."""
        return cls(
            settings.store_path,
            settings.webhook_url,
            webhook_authorization=settings.webhook_authorization,
            webhook_timeout_s=settings.webhook_timeout_s,
            webhook_attempts=settings.webhook_attempts,
        )

    async def publish(self, ctx: HandoverContext) -> None:
        """Store ``ctx`` (durable when this returns), then push it live and to the webhook.

        A storage failure is logged, not raised: the transfer must still happen (the
        channel variables carry the summary); consoles and the webhook still get it.
        """
        await self._persist(ctx, "")
        self._remember(ctx, "")
        logger.info(
            "hand-over %s stored (call %s, queue %s)", ctx.context_id, ctx.call_id, ctx.queue
        )
        self._fan_out("handover", ctx, "")

    async def update(
        self, context_id: str, status: str, detail: str = ""
    ) -> HandoverContext | None:
        """Record a queue outcome (one of :data:`STATUSES`); None if the id is unknown."""
        if status not in STATUSES:
            raise ValueError(f"unknown hand-over status {status!r}")
        found = await self.lookup(context_id)
        if found is None:
            logger.warning("hand-over %s: status %s for an unknown context", context_id, status)
            return None
        ctx = found[0].with_status(status, time.time())
        await self._persist(ctx, detail)
        self._remember(ctx, detail)
        logger.info("hand-over %s (call %s): %s", context_id, ctx.call_id, status)
        self._fan_out("status", ctx, detail)
        return ctx

    def get(self, context_id: str) -> HandoverContext | None:
        """A context by id (memory first, then the store: a quick primary-key read)."""
        found = self._memory.get(context_id) or self._store.load(context_id)
        return None if found is None else found[0]

    async def lookup(self, context_id: str) -> tuple[HandoverContext, str] | None:
        """A context and its last status detail, without blocking the event loop on disk."""
        return self._memory.get(context_id) or await asyncio.to_thread(self._store.load, context_id)

    def detail(self, context_id: str) -> str:
        """The detail given with the last status change ("" if none)."""
        found = self._memory.get(context_id) or self._store.load(context_id)
        return "" if found is None else found[1]

    def recent(self, limit: int = 50) -> list[HandoverContext]:
        """The newest contexts first (at most ``memory_limit``)."""
        newest = sorted(self._memory.values(), key=lambda item: item[0].created_at, reverse=True)
        return [ctx for ctx, _ in newest[: max(0, limit)]]

    def subscribe(self) -> Subscription:
        """Live events ``{"type": "handover"|"status", "context": {...}, "detail": str}``."""
        sub = Subscription(self, self._subscriber_queue)
        if self._closed:
            sub.end()
        else:
            self._subscribers.add(sub)
        return sub

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def flush_webhook(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued webhook POST was delivered or given up (tests, shutdown)."""
        async with asyncio.timeout(timeout_s):
            await self._webhook_queue.join()

    async def aclose(self, grace_s: float = 2.0) -> None:
        """End subscriptions, give pending webhook POSTs ``grace_s``, close the store."""
        self._closed = True
        for sub in list(self._subscribers):
            sub.end()
        if self._webhook_task is not None:
            with contextlib.suppress(TimeoutError):
                await self.flush_webhook(grace_s)
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._client is not None:
            await self._client.aclose()
        await asyncio.to_thread(self._store.close)

    async def _persist(self, ctx: HandoverContext, detail: str) -> None:
        try:
            await asyncio.to_thread(self._store.save, ctx, detail)
        except sqlite3.Error:
            logger.exception("hand-over %s (call %s) NOT stored", ctx.context_id, ctx.call_id)

    def _remember(self, ctx: HandoverContext, detail: str) -> None:
        self._memory[ctx.context_id] = (ctx, detail)
        self._memory.move_to_end(ctx.context_id)
        while len(self._memory) > self._memory_limit:
            self._memory.popitem(last=False)

    def _fan_out(self, kind: str, ctx: HandoverContext, detail: str) -> None:
        event: Event = {"type": kind, "context": ctx.to_json(), "detail": detail}
        for sub in list(self._subscribers):
            if not sub.offer(event):
                logger.warning("agent console too slow, dropped (hand-over %s)", ctx.context_id)
        if self._webhook_url and not self._closed:
            self._queue_webhook(kind, ctx)

    def _queue_webhook(self, kind: str, ctx: HandoverContext) -> None:
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(
                self._webhook_worker(), name="handover-webhook"
            )
        try:
            self._webhook_queue.put_nowait((kind, ctx.to_json()))
        except asyncio.QueueFull:
            self.webhook_stats.dropped += 1
            logger.error("hand-over webhook backlog full, %s not sent", ctx.context_id)

    async def _webhook_worker(self) -> None:
        """One POST at a time, in order: a CRM sees ``handover`` before its ``status``."""
        while True:
            kind, body = await self._webhook_queue.get()
            try:
                await self._deliver(kind, body)
            finally:
                self._webhook_queue.task_done()

    async def _deliver(self, kind: str, body: Event) -> None:
        assert self._webhook_url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._webhook_timeout_s)
        event = "handover.created" if kind == "handover" else f"handover.{kind}"
        headers = {**self._webhook_headers, "X-Callbot-Event": event}
        context_id = body["context_id"]
        for attempt in range(1, self._webhook_attempts + 1):
            try:
                response = await self._client.post(self._webhook_url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.is_success:
                    self.webhook_stats.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
                if response.is_client_error and response.status_code not in (408, 429):
                    break  # the CRM refuses this body: retrying will not help
            logger.warning(
                "hand-over webhook for %s: %s (attempt %d/%d)",
                context_id,
                problem,
                attempt,
                self._webhook_attempts,
            )
            if attempt < self._webhook_attempts:
                await asyncio.sleep(self._webhook_backoff_s * attempt)
        self.webhook_stats.failed += 1
        logger.error("hand-over webhook gave up on %s (%s)", context_id, kind)
