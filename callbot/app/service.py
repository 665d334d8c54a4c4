"""Assembles a running callbot from settings: shared models, call runner, servers.

Models load once, off the event loop, before the first call is accepted; every
call then shares them (see :mod:`callbot.speech`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from callbot.app.shared import open_hub, shared_database
from callbot.app.without_bot import ari_call_info, record_without_bot
from callbot.bridge.calls import Unserved
from callbot.bridge.recovery import Recovered
from callbot.bridge.stasis import audiosocket_call_id
from callbot.config import Settings
from callbot.dialplan.backoffice import BackOffice
from callbot.dialplan.store import DialplanStore, LoadedDialplan
from callbot.errors import PortUnavailable
from callbot.handover.hub import HandoverHub
from callbot.media.admission import CallAdmission, admitting
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.session import SessionSettings
from callbot.media.types import CallHandler, CallInfo
from callbot.observability.health import Readiness
from callbot.observability.metrics import CallMetrics
from callbot.pipeline.call import CallRunner, CallServices
from callbot.pipeline.control import CallControl, NoCallControl
from callbot.records.callbacks import Callback
from callbot.records.outcome import Outcome
from callbot.records.spool import open_spool
from callbot.records.store import RecordStore, open_store
from callbot.records.writer import RecordWriter
from callbot.speech.asr import WhisperAsr
from callbot.speech.bias import IntentWords, build_vocabulary
from callbot.speech.voices import VoiceLibrary
from callbot.web.app import WebContext
from callbot.web.exposure import check_exposure
from callbot.web.serving import RunningServer, serve_app
from callbot.web.site import build_site

logger = logging.getLogger(__name__)

WS_MAX_MESSAGE_BYTES = 128 * 1024
"""Largest websocket message callbot accepts (Asterisk sends 20 ms frames and short text)."""


@dataclass
class Engines:
    """The process-wide models, loaded once."""

    asr: WhisperAsr
    voices: VoiceLibrary
    dialplans: DialplanStore

    @classmethod
    def load(cls, settings: Settings) -> Engines:
        """Blocking: loads Whisper, the dialplan and its voice, and warms them up."""
        dialplans = DialplanStore.load(settings.dialplan)
        asr = WhisperAsr.load(settings.asr)
        asr.warm_up()
        engines = cls(asr, VoiceLibrary(settings.tts, settings.voices_dir), dialplans)
        engines.prepare(dialplans.current())
        return engines

    def prepare(self, loaded: LoadedDialplan) -> None:
        """Load the voice of a (new) dialplan and synthesize its fixed prompts (blocking);
        bias recognition toward its words (``asr.bias``)."""
        plan = loaded.dialplan
        self.voices.prepare(plan.language, plan.voice, loaded.fixed_prompts)
        intents = (IntentWords(i.label, i.examples) for i in plan.intents)
        self.asr.use_vocabulary(build_vocabulary(intents, plan.language))


@dataclass
class Operations:
    """What ops see of a running bot: records store, metrics, readiness, admission."""

    metrics: CallMetrics
    readiness: Readiness
    admission: CallAdmission
    store: RecordStore | None
    writer: RecordWriter | None
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    fallback_queue: str = ""
    """Where the ARI bridge sends the callers the bot does not take (``ari``'s)."""

    @classmethod
    async def open(cls, settings: Settings, active_calls: Callable[[], int]) -> Operations:
        metrics = CallMetrics()
        metrics.track_active(active_calls)
        limit = settings.security.max_concurrent_calls
        store = writer = None
        if settings.records.enabled:
            store, writer = await asyncio.to_thread(_open_records, settings)
            metrics.track_records(writer.stats)
        readiness = Readiness(active_calls, limit, models_loaded=True)
        return cls(
            metrics,
            readiness,
            CallAdmission(limit),
            store,
            writer,
            fallback_queue=settings.ari.fallback_extension,
        )

    def call_progress(self, record: dict[str, Any], info: CallInfo) -> None:
        """A call going on (at its start, after each turn): its record stored (redacted),
        so that a crash loses at most the turn in progress."""
        if self.writer is not None and not self.writer.submit(
            record, info.caller_number, final=False
        ):
            self.metrics.error("records")

    def call_ended(
        self,
        record: dict[str, Any],
        info: CallInfo,
        *,
        finishes: tuple[str, ...] = (),
        callback: Callback | None = None,
    ) -> None:
        """Every finished call: kept for /api/calls, counted, stored (redacted), with the
        callback the caller asked for. ``finishes``: ids of an in-progress record a dead
        process left for this call."""
        self.recent.append(record)
        self.metrics.observe_record(record)
        if self.writer is not None and not self.writer.submit(
            record, info.caller_number, finishes=finishes, callback=callback
        ):
            self.metrics.error("records")

    def ended_without_bot(
        self,
        call_id: str,
        caller_number: str,
        outcome: Outcome,
        detail: str,
        to: str,
        finishes: tuple[str, ...] = (),
    ) -> None:
        """The record of a call no pipeline of this process carried (see
        :func:`~callbot.app.without_bot.record_without_bot`)."""
        record = record_without_bot(
            call_id, caller_number, outcome, detail, to, self.fallback_queue
        )
        self.call_ended(record, ari_call_info(call_id, caller_number), finishes=finishes)

    def unserved(self, caller: Unserved) -> None:
        """A record for a caller the ARI bridge sent on before any bot leg came up
        (outcome ``sent_to_fallback``, or ``hung_up_by_caller`` when it left first)."""
        outcome = Outcome.HUNG_UP_BY_CALLER if caller.to == "gone" else Outcome.SENT_TO_FALLBACK
        self.ended_without_bot(
            caller.call_id, caller.caller_number, outcome, caller.reason, caller.to
        )

    async def close(self) -> None:
        self.readiness.shutting_down = True
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        if self.store is not None:
            await asyncio.to_thread(self.store.close)


@dataclass
class Callbot:
    """A running callbot: HTTP (softphone, /media websocket), AudioSocket, optional ARI."""

    settings: Settings
    engines: Engines
    runner: CallRunner
    ops: Operations
    web: WebContext
    http: RunningServer
    audiosocket: AudioSocketServer | None
    audiosocket_port: int | None
    backoffice: BackOffice
    dialplan_watch: asyncio.Task[None] | None
    hub: HandoverHub
    """Hand-over contexts for agents (console, webhook)."""

    @property
    def records(self) -> deque[dict[str, Any]]:
        """The most recent call records (newest last)."""
        return self.ops.recent

    @property
    def http_port(self) -> int:
        return self.http.port

    @property
    def http_url(self) -> str:
        return f"http://{_url_host(self.settings.server.host)}:{self.http_port}"

    @property
    def media_url(self) -> str:
        return f"ws://{_url_host(self.settings.server.host)}:{self.http_port}/media"

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        engines: Engines | None = None,
        control: CallControl | None = None,
        hub: HandoverHub | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        now: dt.datetime | None = None,
        wrap_handler: Callable[[CallHandler], CallHandler] | None = None,
    ) -> Callbot:
        """``wrap_handler``: around every call's handler (a cluster worker tells the
        control role which calls the bot ends)."""
        check_exposure(settings)
        if engines is None:
            engines = await asyncio.to_thread(Engines.load, settings)
        if hub is None:
            hub = await asyncio.to_thread(open_hub, settings)
        authorization = settings.backoffice.authorization
        backoffice = BackOffice(headers={"Authorization": authorization} if authorization else None)
        services = CallServices(
            asr=engines.asr,
            synthesizer_for=engines.voices.synthesizer,
            dialplans=engines.dialplans,
            vad=settings.vad,
            call=settings.call,
            control=control or NoCallControl(),
            backoffice=backoffice,
            now=now,
        )
        runner = CallRunner(services)
        ops = await Operations.open(settings, lambda: runner.active_calls)
        await hub.start(ops.store)  # with a shared store: the other nodes' events too

        def finished(record: dict[str, Any], info: CallInfo, callback: Callback | None) -> None:
            ops.call_ended(record, info, callback=callback)
            if callback is not None:
                hub.callback_changed("requested", callback)
            if on_record is not None:
                on_record(record)

        runner.on_record = finished
        runner.on_progress = ops.call_progress
        handler = admitting(
            runner,
            ops.admission,
            on_busy=runner.refuse,
            on_refused=ops.metrics.call_refused,
            reclaim=runner.reclaim_stalled,
        )
        if wrap_handler is not None:
            handler = wrap_handler(handler)
        try:
            web, http = await _serve_web(settings, engines, handler, ops, hub)
        except PortUnavailable as exc:
            await ops.close()
            raise exc.about("server.host", "server.port") from None
        audiosocket, audiosocket_port = None, None
        if settings.server.audiosocket:
            audiosocket = AudioSocketServer(
                handler,
                AudioSocketSettings(
                    host=settings.server.host,
                    port=settings.server.audiosocket_port,
                    session=SessionSettings(gap_fill_ms=settings.call.gap_fill_ms),
                ),
            )
            try:
                _, audiosocket_port = await audiosocket.start()
            except PortUnavailable as exc:
                await http.stop()
                await ops.close()
                raise exc.about("server.host", "server.audiosocket_port") from None
        logger.info(
            "callbot ready: http://%s:%d (media /media), audiosocket %s",
            settings.server.host,
            http.port,
            audiosocket_port or "off",
        )
        watcher = None
        if settings.dialplan_reload_s > 0:
            watcher = asyncio.create_task(
                engines.dialplans.watch(settings.dialplan_reload_s, on_reload=engines.prepare),
                name="dialplan-watch",
            )
        return cls(
            settings,
            engines,
            runner,
            ops,
            web,
            http,
            audiosocket,
            audiosocket_port,
            backoffice,
            watcher,
            hub,
        )

    def begin_drain(self) -> None:
        """Stop taking calls (``/readyz`` 503, new media connections refused); calls in
        progress go on."""
        self.ops.readiness.shutting_down = True
        self.ops.admission.closed = True

    async def drain(self, timeout_s: float, *, hurry: asyncio.Event | None = None) -> int:
        """Wait for calls in progress (bounded), then hand the rest to humans with context."""
        self.begin_drain()
        return await self.runner.drain(timeout_s, hurry=hurry)

    def record_recovered(self, recovered: Iterable[Recovered]) -> None:
        """Records for the callers a previous process left stranded (outcome ``interrupted``)."""
        for lost in recovered:
            to = {"fallback": "sent to the fallback queue", "hangup": "hung up"}
            detail = "callbot died during the call; at restart the caller was " + to.get(
                lost.to, "not released (ARI request failed)"
            )
            # The dead process may have left an in-progress record of this call (the call
            # id is the channel's, or its AudioSocket UUID): finish that one instead.
            ids = (lost.channel_id, audiosocket_call_id(lost.channel_id))
            self.ops.ended_without_bot(
                lost.channel_id, lost.caller_number, Outcome.INTERRUPTED, detail, lost.to, ids
            )

    async def stop(self) -> None:
        self.ops.readiness.shutting_down = True
        if self.dialplan_watch is not None:
            self.dialplan_watch.cancel()
        if self.audiosocket is not None:
            await self.audiosocket.stop()
        await self.http.stop()
        await self.hub.aclose()
        await self.backoffice.aclose()
        await self.ops.close()


async def _serve_web(
    settings: Settings,
    engines: Engines,
    handler: CallHandler,
    ops: Operations,
    hub: HandoverHub,
) -> tuple[WebContext, RunningServer]:
    server = settings.server
    # No credentials here: the site's access gate checks them.
    media = ChanWebsocketSettings(session=SessionSettings(gap_fill_ms=settings.call.gap_fill_ms))
    web = WebContext(
        handler=handler,
        media=media,
        ready=ops.readiness,
        metrics=ops.metrics,
        active_calls=ops.readiness.active_calls,
        records=ops.recent,
        info={
            "dialplan": engines.dialplans.current().name,
            "asr": f"whisper {engines.asr.device}/{engines.asr.compute_type}",
        },
        shared_database=shared_database(settings),
    )
    app = build_site(settings, web, ops.store, hub)
    http = await serve_app(
        app,
        server.host,
        server.port,
        header_timeout_s=server.header_timeout_s,
        ws="websockets-sansio",
        ws_max_size=WS_MAX_MESSAGE_BYTES,
    )
    return web, http


def _open_records(settings: Settings) -> tuple[RecordStore, RecordWriter]:
    """The records store and its writer, with the spool (blocking: connects, migrates, and
    reads what a previous process left in the spool). A PostgreSQL server that is down
    at start-up does not stop callbot: records wait in the spool until it answers."""
    records = settings.records
    store = open_store(records.url, settings.privacy.caller_salt, wait_for_database=True)
    try:
        spool = open_spool(records.spool_path, records.spool_max_records, records.spool_max_bytes)
    except BaseException:
        store.close()
        raise
    return store, RecordWriter(store, spool, records)


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
