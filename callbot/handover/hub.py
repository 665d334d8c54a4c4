"""The hand-over hub: stores every context durably, pushes it to consoles, POSTs it to a CRM.

Order matters and is the point of this module: :meth:`HandoverHub.publish` returns only
once the context is committed to disk (:mod:`callbot.handover.store`), so a caller who
leaves the bot leaves a trace. Only then does it fan the context out to live consoles
(:mod:`callbot.handover.fanout`: a slow one is dropped, it never holds the transfer back)
and queue it for the webhook (:mod:`callbot.handover.webhook`: one background worker,
ordered, bounded, with timeouts and retries). A dead console or CRM changes nothing for
the caller: the channel variables still carry the summary.

One hub per process: live push reaches the consoles connected to this process.

Caller identifiers (number, captured values) are for the agents of this hand-over only:
once it ended without one (abandoned, transfer failed) or ``identifiers_ttl_s`` after
its last news, the store rewrites it without them (:meth:`HandoverHub.expire_identifiers`,
at start-up and every :data:`SWEEP_S` while contexts are published) and the consoles get
the redacted context.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from callbot.handover.callback import callback_event
from callbot.handover.context import NOBODY_TOOK_IT, STATUSES, HandoverContext
from callbot.handover.fanout import SUBSCRIBER_QUEUE, Event, Fanout, Subscription
from callbot.handover.settings import HandoverSettings
from callbot.handover.store import DEFAULT_IDENTIFIERS_TTL_S, HandoverStore
from callbot.handover.webhook import WebhookStats, WebhookWorker
from callbot.logs import call_log
from callbot.records.callbacks import Callback

logger = logging.getLogger(__name__)

MEMORY_LIMIT = 500
"""Contexts kept in memory for the console (the newest); older ones are read from disk."""
SWEEP_S = 60.0
"""How often expired identifiers are redacted, and erased contexts forgotten."""


class HandoverHub:
    """Store, then fan-out, then webhook, for every context and status change."""

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
        caller_salt: str | None = None,
        identifiers_ttl_s: float = DEFAULT_IDENTIFIERS_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``store_path`` None keeps contexts in memory only (tests, tools); ``caller_salt``
        files each context under the caller's key (export, erasure); ``clock``: unix s."""
        self._store = HandoverStore(
            store_path if store_path is not None else ":memory:",
            caller_salt=caller_salt,
            identifiers_ttl_s=identifiers_ttl_s,
        )
        self._clock = clock
        self._sweep_s = min(SWEEP_S, identifiers_ttl_s)
        self._sweeper: asyncio.Task[None] | None = None
        self._store.expire_identifiers(clock())  # what a stopped process left in clear
        self._memory: OrderedDict[str, tuple[HandoverContext, str]] = OrderedDict()
        for ctx, detail in reversed(self._store.newest(memory_limit)):
            self._memory[ctx.context_id] = (ctx, detail)
        self._memory_limit = memory_limit
        self._fanout = Fanout(subscriber_queue)
        self._webhook = (
            WebhookWorker(
                webhook_url,
                authorization=webhook_authorization,
                timeout_s=webhook_timeout_s,
                attempts=webhook_attempts,
                backoff_s=webhook_backoff_s,
            )
            if webhook_url
            else None
        )
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: HandoverSettings, caller_salt: str | None = None
    ) -> HandoverHub:
        """Blocking (opens the store): call at start-up, before serving calls.
        ``caller_salt``: the records' (``privacy.caller_salt``)."""
        return cls(
            settings.store_path,
            settings.webhook_url,
            webhook_authorization=settings.webhook_authorization,
            webhook_timeout_s=settings.webhook_timeout_s,
            webhook_attempts=settings.webhook_attempts,
            caller_salt=caller_salt,
            identifiers_ttl_s=settings.identifiers_ttl_s,
        )

    async def publish(self, ctx: HandoverContext) -> None:
        """Store ``ctx`` (durable when this returns), then push it live and to the webhook.

        A storage failure is logged, not raised: the transfer must still happen (the
        channel variables carry the summary); consoles and the webhook still get it.
        """
        await self._persist(ctx, "")
        self._remember(ctx, "")
        call_log(logger, ctx.call_id).info(
            "hand-over %s stored (queue %s)", ctx.context_id, ctx.queue
        )
        self._fan_out("handover", ctx, "")
        if self._sweeper is None and not self._closed:
            self._sweeper = asyncio.create_task(self._sweep(), name="handover-sweep")

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
        ctx = found[0].with_status(status, self._clock())
        if status in NOBODY_TOOK_IT:
            ctx = ctx.without_identifiers()
        await self._persist(ctx, detail)
        self._remember(ctx, detail)
        call_log(logger, ctx.call_id).info("hand-over %s: %s", context_id, status)
        self._fan_out("status", ctx, detail)
        return ctx

    def callback_changed(self, event: str, callback: Callback) -> None:
        """A callback was requested, claimed, released or closed (the records store has
        it already): push it to the consoles and the webhook (``callback.<event>``)."""
        message = callback_event(event, callback)
        for _ in range(self._fanout.send(message)):
            logger.warning("agent console too slow, dropped (callback %s)", callback.callback_id)
        if self._webhook is not None and not self._closed:
            self._webhook.submit(f"callback.{event}", message["callback"])

    async def expire_identifiers(self) -> int:
        """Redact the contexts whose identifiers are due (consoles get them redacted) and
        forget those erased or purged by ``callbot records``; how many were redacted."""
        expired = await asyncio.to_thread(self._store.expire_identifiers, self._clock())
        for ctx, detail in expired:
            if ctx.context_id in self._memory:
                self._memory[ctx.context_id] = (ctx, detail)
            self._fan_out("status", ctx, detail, webhook=False)
        remembered = list(self._memory)
        kept = await asyncio.to_thread(self._store.known, remembered)
        for context_id in remembered:
            if context_id not in kept:
                self._memory.pop(context_id, None)
        return len(expired)

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
        """Live events ``{"type": "handover"|"status", "context": {...}, "detail": str}``
        and ``{"type": "callback", "event": ..., "callback": {...}}``."""
        return self._fanout.subscribe()

    @property
    def subscribers(self) -> int:
        return len(self._fanout)

    @property
    def webhook_stats(self) -> WebhookStats:
        """Zeros when no webhook is configured."""
        return self._webhook.stats if self._webhook is not None else WebhookStats()

    async def flush_webhook(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued webhook POST was delivered or given up (tests, shutdown)."""
        if self._webhook is not None:
            await self._webhook.flush(timeout_s)

    async def aclose(self, grace_s: float = 2.0) -> None:
        """End subscriptions, give pending webhook POSTs ``grace_s``, close the store."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._fanout.close()
        if self._webhook is not None:
            await self._webhook.aclose(grace_s)
        await asyncio.to_thread(self._store.close)

    async def _persist(self, ctx: HandoverContext, detail: str) -> None:
        try:
            await asyncio.to_thread(self._store.save, ctx, detail)
        except sqlite3.Error:
            call_log(logger, ctx.call_id).exception("hand-over %s NOT stored", ctx.context_id)

    def _remember(self, ctx: HandoverContext, detail: str) -> None:
        self._memory[ctx.context_id] = (ctx, detail)
        self._memory.move_to_end(ctx.context_id)
        while len(self._memory) > self._memory_limit:
            self._memory.popitem(last=False)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_s)
            try:
                await self.expire_identifiers()
            except sqlite3.Error:
                logger.exception(
                    "hand-over identifiers not expired (next try in %.0f s)", self._sweep_s
                )

    def _fan_out(
        self, kind: str, ctx: HandoverContext, detail: str, *, webhook: bool = True
    ) -> None:
        event: Event = {"type": kind, "context": ctx.to_json(), "detail": detail}
        for _ in range(self._fanout.send(event)):
            logger.warning("agent console too slow, dropped (hand-over %s)", ctx.context_id)
        if webhook and self._webhook is not None and not self._closed:
            self._webhook.submit(kind, ctx.to_json())
