"""Wires the ARI bridge into a running callbot (``callbot serve`` with ``[ari] url``).

The call runner's services are fixed when the callbot starts, so the order is:
:func:`build_bridge` (client, Stasis app, call control; no I/O), then
``Callbot.start(settings, control=bridge.control)``, then :meth:`RunningBridge.start`
once the media server listens (Asterisk dials it as soon as a caller arrives).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from callbot.bridge.ari_client import AriClient, AriSettings
from callbot.bridge.control import (
    AriCallControl,
    HandoverPublisher,
    Synthesizer,
    TransferSettings,
)
from callbot.bridge.stasis import MediaTransport, StasisBridge, StasisSettings
from callbot.config import AriConnection, Settings
from callbot.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class RunningBridge:
    """The ARI client, the Stasis app, and the task consuming its events."""

    client: AriClient
    bridge: StasisBridge
    control: AriCallControl
    task: asyncio.Task[None] | None = field(default=None)

    def start(self) -> None:
        """Register the Stasis app (connect the events websocket, reconnecting forever)."""
        if self.task is None:
            self.task = asyncio.create_task(self.bridge.run(), name="ari-bridge")
            logger.info("ARI bridge started (Stasis app %s)", self.client.settings.app)

    async def stop(self) -> None:
        """Callers to the fallback context (or hung up), then disconnect from ARI."""
        await self.bridge.stop()
        await self.control.warm.aclose()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.client.close()


def ari_settings(conn: AriConnection) -> AriSettings:
    if not conn.url:
        raise ConfigError("ari.url is not set")
    url = conn.url.rstrip("/")
    if not url.endswith("/ari"):
        url += "/ari"
    return AriSettings(
        url=url,
        username=conn.username,
        password=conn.password or "",
        app=conn.app,
        request_timeout_s=conn.request_timeout_s,
        reconnect_max_delay_s=conn.reconnect_max_delay_s,
    )


def stasis_settings(conn: AriConnection) -> StasisSettings:
    try:
        transport = MediaTransport(conn.media_transport)
    except ValueError:
        raise ConfigError(
            f"ari.media_transport: expected websocket or audiosocket, got {conn.media_transport!r}"
        ) from None
    return StasisSettings(
        media_transport=transport,
        websocket_connection=conn.websocket_connection,
        media_format=conn.media_format,
        transport_data=conn.transport_data,
        audiosocket_host=conn.audiosocket_host,
        media_start_timeout_s=conn.media_start_timeout_s,
        fallback_context=conn.fallback_context,
        fallback_extension=conn.fallback_extension,
        shutdown_timeout_s=conn.shutdown_timeout_s,
    )


def transfer_settings(conn: AriConnection) -> TransferSettings:
    return TransferSettings(
        queue_context=conn.queue_context,
        context_url_base=conn.context_url_base,
        sounds_dir=conn.sounds_dir,
        sounds_prefix=conn.sounds_prefix,
        queue_timeout_s=conn.queue_timeout_s,
        agent_accept_timeout_s=conn.agent_accept_timeout_s,
        callback_wait_s=conn.callback_wait_s,
    )


def build_bridge(
    settings: Settings,
    hub: HandoverPublisher | None = None,
    synthesize: Synthesizer | None = None,
) -> RunningBridge:
    """Client, Stasis app and call control from ``settings.ari`` (not started).

    ``hub`` receives each hand-over's context before the caller leaves the bot;
    ``synthesize`` writes the summary the agent hears before taking the call.
    """
    conn = settings.ari
    client = AriClient(ari_settings(conn))
    bridge = StasisBridge(client, stasis_settings(conn))
    control = AriCallControl(bridge, transfer_settings(conn), hub=hub, synthesize=synthesize)
    return RunningBridge(client, bridge, control)
