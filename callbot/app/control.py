"""``callbot control``: drives one Asterisk for N workers; run two, one leads.

No models: it answers callers in Stasis, places each call's media on the least-loaded
ready worker (:class:`~callbot.cluster.directory.WorkerDirectory`), carries out the
workers' transfers (``cluster_commands``), moves a call whose worker died to another
one, and serves ``/agent``, ``/dashboard``, ``/metrics``, ``/healthz`` and ``/readyz``.

Leadership is a PostgreSQL advisory lock (:mod:`callbot.cluster.leader`). The standby
serves HTTP and waits; when the leader dies its lock goes with its connection, the
standby takes it, registers the Stasis app and adopts the calls in progress (their
workers never stopped talking to the callers). A leader that loses its lock's connection
exits at once: it cannot know whether another one leads now. On SIGTERM the leader lets
go of Asterisk without touching the calls, for the standby to adopt them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from callbot.app.bridge import RunningBridge, build_bridge
from callbot.app.serve import stop_signals
from callbot.app.service import Operations
from callbot.app.shared import open_hub, shared_database
from callbot.app.without_bot import ari_call_info
from callbot.bridge.ari_client import AriClient
from callbot.bridge.settings import MediaTransport
from callbot.bridge.warm_transfer import RenderWav
from callbot.cluster import commands, db
from callbot.cluster.directory import WorkerDirectory
from callbot.cluster.leader import LeaderLock, LostLeadership, lock_key
from callbot.cluster.nodes import NodeHeartbeat, NodeStatus
from callbot.cluster.worker_control import transfer_from_payload
from callbot.config import Settings
from callbot.errors import AriError, ConfigError, StartupError
from callbot.handover.hub import HandoverHub
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import CallInfo, InboundEvent, MediaSink
from callbot.protocols import ari_asterisk
from callbot.records.outcome import Outcome
from callbot.web.app import WebContext
from callbot.web.ports import check_ports
from callbot.web.serving import RunningServer, serve_app
from callbot.web.site import build_site

logger = logging.getLogger(__name__)


async def run_control(settings: Settings) -> None:
    cluster = settings.cluster
    url = cluster.database(settings.records.url)
    if not settings.ari.url:
        raise ConfigError("callbot control drives Asterisk: set ari.url (CALLBOT_ARI_URL)")
    check_ports(settings.server)
    await db.prepare(url)
    node = cluster.node
    hub = await asyncio.to_thread(open_hub, settings)  # shared with the workers
    bridge: RunningBridge | None = None
    leading = False

    def active_calls() -> int:
        return len(bridge.bridge.registry) if bridge is not None else 0

    ops = await Operations.open(settings, active_calls)
    await hub.start(ops.store)  # the workers' hand-overs on this node's console too

    def failed_over(call_id: str, caller: str, lost: str, to: str) -> None:
        ops.metrics.failovers.labels(to).inc()
        where = "moved to another worker" if to == "worker" else "sent to the fallback queue"
        detail = f"worker {lost} lost the call; the caller was {where}"
        ops.ended_without_bot(call_id, caller, Outcome.FAILED_OVER, detail, to, (call_id,))

    directory = WorkerDirectory(
        url,
        cluster,
        audiosocket=settings.ari.transport is MediaTransport.AUDIOSOCKET,
        on_failed_over=failed_over,
    )
    http = await _serve_http(settings, ops, hub, node)
    heartbeat = NodeHeartbeat(
        url,
        node,
        "control",
        lambda: NodeStatus(ready=True, leader=leading, active_calls=active_calls()),
        interval_s=cluster.heartbeat_s,
    )
    background = [
        asyncio.create_task(heartbeat.run(), name="cluster-heartbeat"),
        asyncio.create_task(directory.run(), name="cluster-directory"),
    ]
    stop, _ = stop_signals()  # the standby adopts the calls: nothing to hurry
    lock: LeaderLock | None = None
    try:
        identity: asyncio.Task[str] = asyncio.create_task(_asterisk_id(settings))
        if not await _first(identity, stop):
            return
        key = lock_key(identity.result(), settings.ari.app)
        lock = LeaderLock(url, key, retry_s=cluster.leader_retry_s)
        if not await _first(lock.acquire(), stop):
            return
        leading = True
        ops.metrics.cluster_leader.set(1)
        await heartbeat.beat()
        await directory.refresh()
        bridge = build_bridge(settings, hub=hub, synthesize=await _summary_voice(settings))
        running = bridge
        bridge.bridge.placement = directory
        bridge.bridge.on_unserved = ops.unserved

        async def transfer(command: commands.Command) -> commands.Outcome:
            moved, context, caller = transfer_from_payload(dict(command.payload))
            info = ari_call_info(command.call_id, caller or "")
            ok = await running.control.transfer(info, moved, context)
            return commands.Outcome(ok, "transferred" if ok else "transfer failed")

        server = commands.CommandServer(url, {"transfer": transfer})
        background.append(asyncio.create_task(server.run(), name="cluster-commands"))
        bridge.start()
        watch = asyncio.create_task(lock.watch(), name="leader-watch")
        background.append(watch)
        await _first(watch, stop)
        if watch.done() and not watch.cancelled():
            lost = watch.exception()
            if isinstance(lost, LostLeadership):
                raise StartupError(f"{lost}: stopping so a standby can lead")
    finally:
        ops.metrics.cluster_leader.set(0)
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if bridge is not None:
            await _let_go(bridge)
        if lock is not None:
            await lock.release()
        await heartbeat.leave()
        await directory.close()
        await http.stop()
        await hub.aclose()
        await ops.close()


async def _asterisk_id(settings: Settings) -> str:
    """The Asterisk's ``entity_id`` (the leader lock's key), retried until ARI answers."""
    async with AriClient(settings.ari) as client:
        while True:
            try:
                return ari_asterisk.parse_entity_id(
                    await client.request(ari_asterisk.get_info("system"))
                )
            except AriError as exc:
                logger.error("ARI unreachable (%s): retrying before standing for leader", exc)
                await asyncio.sleep(settings.cluster.leader_retry_s)


async def _first(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Wait for ``work`` or ``stop``; True when ``work`` finished first."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task not in done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    return True


async def _let_go(bridge: RunningBridge) -> None:
    """Disconnect from ARI leaving every call as it is (the next leader adopts them)."""
    if bridge.task is not None:
        bridge.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bridge.task
    await bridge.control.warm.aclose()
    await bridge.client.close()


async def _summary_voice(settings: Settings) -> RenderWav | None:
    """The voice that says the summary an agent hears before taking a call (only when
    ``ari.sounds_dir`` is set: the control role loads no other model)."""
    if settings.ari.sounds_dir is None:
        return None
    from callbot.speech.voices import VoiceLibrary

    voices = VoiceLibrary(settings.tts, settings.voices_dir)
    return voices.render_wav


async def _serve_http(
    settings: Settings, ops: Operations, hub: HandoverHub, node: str
) -> RunningServer:
    async def no_media(
        info: CallInfo, inbound: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        logger.warning("the control role serves no media: point Asterisk at the workers")

    web = WebContext(
        handler=no_media,
        media=ChanWebsocketSettings(),
        softphone=False,
        ready=ops.readiness,
        metrics=ops.metrics,
        active_calls=ops.readiness.active_calls,
        records=ops.recent,
        info={"role": "control", "node": node},
        shared_database=shared_database(settings),
    )
    app = build_site(settings, web, ops.store, hub)
    server = settings.server
    return await serve_app(app, server.host, server.port, header_timeout_s=server.header_timeout_s)
