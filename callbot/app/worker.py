"""``callbot worker``: the media endpoint and the pipeline, one of N behind a control role.

Like ``callbot serve`` without ARI: it loads the models, serves ``/media`` and
AudioSocket, and registers in the cluster's PostgreSQL, publishing every
``cluster.heartbeat_s`` whether it is ready, its calls and its capacity. Transfers go to
the control leader as commands; the calls the bot ends itself are announced first, so
the control knows a media leg that drops without that word is this worker failing.

Draining: SIGTERM, or ``callbot cluster drain NODE`` (the row's flag, read back at the
next heartbeat): no new call is placed here, calls in progress finish; on SIGTERM, after
``server.drain_timeout_s`` the rest are handed to humans with their context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from callbot.app.serve import stop_signals
from callbot.cluster import db
from callbot.cluster.commands import CommandClient
from callbot.cluster.dialplans import DialplanSync
from callbot.cluster.nodes import NodeHeartbeat, NodeStatus
from callbot.cluster.worker_control import ClusterCallControl, telling_ends
from callbot.config import Settings
from callbot.web.ports import check_ports

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    cluster = settings.cluster
    url = cluster.database(settings.records.url)
    check_ports(settings.server)
    await db.prepare(url)
    from callbot.app.service import Callbot, Engines  # heavy: pipecat, Whisper, Piper

    engines = await asyncio.to_thread(Engines.load, settings)
    node = cluster.node
    client = CommandClient(url, node, timeout_s=cluster.command_timeout_s)
    bot = await Callbot.start(
        settings,
        engines=engines,
        control=ClusterCallControl(client),
        wrap_handler=lambda handler: telling_ends(handler, client),
    )
    readiness = bot.ops.readiness
    capacity = settings.security.max_concurrent_calls or 1_000

    def status() -> NodeStatus:
        return NodeStatus(
            ready=readiness.models_loaded and not readiness.shutting_down,
            draining=readiness.shutting_down,
            active_calls=bot.runner.active_calls,
            capacity=capacity,
            dialplan_version=engines.dialplans.current().digest[:12],
        )

    heartbeat = NodeHeartbeat(
        url,
        node,
        "worker",
        status,
        interval_s=cluster.heartbeat_s,
        websocket_connection=cluster.websocket_connection or settings.ari.websocket_connection,
        audiosocket_address=cluster.audiosocket_address or settings.ari.audiosocket_host,
        on_drain=bot.begin_drain,
    )
    sync = DialplanSync(
        url, engines.dialplans, node, interval_s=cluster.heartbeat_s, on_reload=engines.prepare
    )
    await sync.sync()  # the cluster's version before the first call
    await heartbeat.beat()  # registered before the first call can be placed
    beating = asyncio.create_task(heartbeat.run(), name="cluster-heartbeat")
    syncing = asyncio.create_task(sync.run(), name="cluster-dialplans")
    logger.info("worker %s ready (capacity %d calls)", node, capacity)
    stop, hurry = stop_signals()
    try:
        await stop.wait()
    finally:
        logger.info("worker %s draining: %d call(s) in progress", node, bot.runner.active_calls)
        bot.begin_drain()
        with contextlib.suppress(*db.UNAVAILABLE):
            await heartbeat.beat()  # no new call from now on, not a heartbeat later
        handed = await bot.drain(settings.server.drain_timeout_s, hurry=hurry)
        logger.info("drained (%d call(s) handed over): stopping", handed)
        beating.cancel()
        syncing.cancel()
        await sync.close()
        await heartbeat.leave()
        await bot.stop()
        await client.close()
