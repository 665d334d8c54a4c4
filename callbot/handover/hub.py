"""The hand-over hub: stores every context durably, pushes it to consoles, POSTs it to a CRM.

Order matters and is the point of this module: :meth:`HandoverHub.publish` returns only
once the context is committed to disk (:mod:`callbot.handover.store`), so a caller who
leaves the bot leaves a trace. Only then does it fan the context out to live consoles
(:mod:`callbot.handover.fanout`: a slow one is dropped, it never holds the transfer back)
and queue it for the webhook (:mod:`callbot.handover.webhook`: one background worker,
ordered, bounded, with timeouts and retries). A dead console or CRM changes nothing for
the caller: the channel variables still carry the summary.

One hub per process: live push reaches the consoles connected to this process. Nodes
sharing PostgreSQL (:mod:`callbot.handover.postgres`) share the contexts, and each hub
pushes the others' changes to its own consoles (:mod:`callbot.handover.relay`).

Caller identifiers (number, captured values) are for the agents of this hand-over only:
once it ended without one (abandoned, transfer failed) or ``identifiers_ttl_s`` after
its last news, the store rewrites it without them (:meth:`HandoverHub.expire_identifiers`,
at start-up and every :data:`SWEEP_S` while contexts are published) and the consoles get
the redacted context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from callbot.handover.callback import callback_event
from callbot.handover.context import NOBODY_TOOK_IT, STATUSES, HandoverContext
from callbot.handover.fanout import SUBSCRIBER_QUEUE, Event, Fanout, Subscription, context_event
from callbot.handover.recent import RecentContexts
from callbot.handover.relay import NodeRelay
from callbot.handover.settings import HandoverSettings
from callbot.handover.statuses import status_detail
from callbot.handover.store import HandoverStore
from callbot.handover.table import CREATED, DEFAULT_IDENTIFIERS_TTL_S, STATUS, HandoverTable
from callbot.handover.webhook import WebhookStats, WebhookWorker
from callbot.logs import call_log
from callbot.records.callbacks import PENDING, Callback
from callbot.records.store import RecordStore

if TYPE_CHECKING:
    from callbot.handover.postgres_listen import ChangeListener

logger = logging.getLogger(__name__)

MEMORY_LIMIT = 500
"""Contexts kept in memory for the console (the newest); older ones are read from disk."""
SWEEP_S = 60.0
"""How often expired identifiers are redacted, and erased contexts forgotten."""
IDENTIFIERS_EXPIRED = "expired"
"""Webhook event (``handover.expired``) of a context rewritten without its identifiers."""


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
        store: HandoverTable | None = None,
    ) -> None:
        """``store_path`` None keeps contexts in memory only (tests, tools); ``caller_salt``
        files each context under the caller's key (export, erasure); ``clock``: unix s.
        ``store``: an opened one instead (PostgreSQL, shared with other nodes: see
        :meth:`start`), with its own salt and ``identifiers_ttl_s``."""
        self._store = store or HandoverStore(
            store_path if store_path is not None else ":memory:",
            caller_salt=caller_salt,
            identifiers_ttl_s=identifiers_ttl_s,
        )
        self._clock = clock
        self._sweep_s = min(SWEEP_S, self._store.identifiers_ttl_s)
        self._sweeper: asyncio.Task[None] | None = None
        self._memory = RecentContexts(memory_limit)
        try:
            self._store.expire_identifiers(clock())  # what a stopped process left in clear
            self._memory.replace(self._store.newest(memory_limit))
        except self._store.errors as exc:  # a shared database down: read when it answers
            logger.warning("hand-over store unavailable at start-up (%s)", type(exc).__name__)
        self._fanout = Fanout(subscriber_queue)
        self._relay = NodeRelay(self._store, self._memory, self._fanout, self.snapshot)
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
        cls,
        settings: HandoverSettings,
        caller_salt: str | None = None,
        *,
        database_url: str | None = None,
    ) -> HandoverHub:
        """Blocking (opens the store): call at start-up, before serving calls.
        ``caller_salt``: the records' (``privacy.caller_salt``); ``database_url``: the
        PostgreSQL database shared with the other nodes (instead of ``store_path``)."""
        store = None
        if database_url:
            from callbot.handover.postgres import PostgresHandoverStore

            store = PostgresHandoverStore(
                database_url,
                caller_salt=caller_salt,
                identifiers_ttl_s=settings.identifiers_ttl_s,
            )
        return cls(
            settings.store_path,
            settings.webhook_url,
            webhook_authorization=settings.webhook_authorization,
            webhook_timeout_s=settings.webhook_timeout_s,
            webhook_attempts=settings.webhook_attempts,
            caller_salt=caller_salt,
            identifiers_ttl_s=settings.identifiers_ttl_s,
            store=store,
        )

    async def start(self, records: RecordStore | None = None) -> None:
        """Serve: expire identifiers on time and, with a shared store, push the other
        nodes' changes to this process's consoles (their callbacks read from
        ``records``). Idempotent; a hub never started still stores and pushes its own."""
        if records is not None:
            self._relay.records = records
        self._start_sweeper()
        if not self._closed:
            self._relay.start()

    @property
    def listener(self) -> ChangeListener | None:
        """What hears the other nodes (None: a store of this process alone, or not
        started)."""
        return self._relay.listener

    async def publish(self, ctx: HandoverContext) -> None:
        """Store ``ctx`` (durable when this returns), then push it live and to the webhook.

        A storage failure is logged, not raised: the transfer must still happen (the
        channel variables carry the summary); consoles and the webhook still get it.
        """
        await self._persist(ctx, "", CREATED)
        self._memory.remember(ctx, "")
        call_log(logger, ctx.call_id).info(
            "hand-over %s stored (queue %s)", ctx.context_id, ctx.queue
        )
        self._fan_out(CREATED, ctx, "")
        self._start_sweeper()

    async def update(
        self, context_id: str, status: str, detail: str = ""
    ) -> HandoverContext | None:
        """Record a queue outcome (one of :data:`STATUSES`); None if the id is unknown.
        ``detail`` is kept as the agent reads it, in the call's language
        (:func:`~callbot.handover.statuses.status_detail`)."""
        if status not in STATUSES:
            raise ValueError(f"unknown hand-over status {status!r}")
        try:  # the stored one: another node may have changed it (identifiers expired)
            found = await asyncio.to_thread(self._store.load, context_id)
        except self._store.errors:
            found = self._memory.get(context_id)  # the store is down: what was last seen
        if found is None:
            logger.warning("hand-over %s: status %s for an unknown context", context_id, status)
            return None
        ctx = found[0].with_status(status, self._clock())
        detail = status_detail(status, detail, ctx.language)
        if status in NOBODY_TOOK_IT:
            ctx = ctx.without_identifiers()
        await self._persist(ctx, detail, STATUS)
        self._memory.remember(ctx, detail)
        call_log(logger, ctx.call_id).info("hand-over %s: %s", context_id, status)
        self._fan_out(STATUS, ctx, detail)
        return ctx

    def callback_changed(self, event: str, callback: Callback) -> None:
        """A callback was requested, claimed, released or closed (the records store has
        it already): push it to the consoles and the webhook (``callback.<event>``)."""
        message = callback_event(event, callback)
        self._fanout.push(message, f"callback {callback.callback_id}")
        if self._webhook is not None and not self._closed:
            self._webhook.submit(f"callback.{event}", message["callback"])
        if not self._closed:
            self._relay.announce_callback(callback.callback_id, event)

    async def expire_identifiers(self) -> int:
        """Redact the contexts whose identifiers are due (consoles get them redacted, the
        webhook a ``handover.expired`` event so that a CRM drops them too) and forget those
        erased or purged by ``callbot records``; how many were redacted."""
        expired = await asyncio.to_thread(self._store.expire_identifiers, self._clock())
        for ctx, detail in expired:
            self._memory.refresh(ctx, detail)
            self._fan_out(STATUS, ctx, detail, webhook=False)
            if self._webhook is not None and not self._closed:
                self._webhook.submit(IDENTIFIERS_EXPIRED, ctx.to_json())
        self._memory.keep(await asyncio.to_thread(self._store.known, self._memory.ids()))
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
        return [ctx for ctx, _ in self._memory.newest(limit)]

    def subscribe(self) -> Subscription:
        """Live events ``{"type": "handover"|"status", "context": {...}, "detail": str}``,
        ``{"type": "callback", "event": ..., "callback": {...}}``, and a
        :meth:`snapshot` when this node missed the other nodes' changes for a while."""
        return self._fanout.subscribe()

    async def snapshot(self, records: RecordStore | None = None) -> Event:
        """What a console starts from: the newest contexts (with their last detail),
        newest first, and the callbacks still owed, from ``records``."""
        owed = (
            [] if records is None else await asyncio.to_thread(records.callbacks, statuses=PENDING)
        )
        return {
            "type": "snapshot",
            "handovers": [{**c.to_json(), "detail": d} for c, d in self._memory.newest()],
            "callbacks": [c.for_agents() for c in owed],
        }

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
        await self._relay.aclose()
        self._fanout.close()
        if self._webhook is not None:
            await self._webhook.aclose(grace_s)
        await asyncio.to_thread(self._store.close)

    async def _persist(self, ctx: HandoverContext, detail: str, kind: str) -> None:
        try:
            await asyncio.to_thread(self._store.save, ctx, detail, kind=kind)
        except self._store.errors:
            call_log(logger, ctx.call_id).exception("hand-over %s NOT stored", ctx.context_id)

    def _start_sweeper(self) -> None:
        if self._sweeper is None and not self._closed:
            self._sweeper = asyncio.create_task(self._sweep(), name="handover-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_s)
            try:
                await self.expire_identifiers()
            except self._store.errors:
                logger.exception(
                    "hand-over identifiers not expired (next try in %.0f s)", self._sweep_s
                )

    def _fan_out(
        self, kind: str, ctx: HandoverContext, detail: str, *, webhook: bool = True
    ) -> None:
        self._fanout.push(context_event(kind, ctx, detail), f"hand-over {ctx.context_id}")
        if webhook and self._webhook is not None and not self._closed:
            self._webhook.submit(kind, ctx.to_json())
