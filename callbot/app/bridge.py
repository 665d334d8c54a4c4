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

from callbot.bridge.ari_client import AriClient
from callbot.bridge.control import AriCallControl
from callbot.bridge.stasis import StasisBridge
from callbot.bridge.warm_transfer import HandoverPublisher, RenderWav
from callbot.config import Settings

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


def build_bridge(
    settings: Settings,
    hub: HandoverPublisher | None = None,
    synthesize: RenderWav | None = None,
) -> RunningBridge:
    """Client, Stasis app and call control from ``settings.ari`` (not started).

    ``hub`` receives each hand-over's context before the caller leaves the bot;
    ``synthesize`` writes the summary the agent hears before taking the call.
    """
    ari = settings.ari
    client = AriClient(ari)
    bridge = StasisBridge(client, ari)
    control = AriCallControl(bridge, ari, hub=hub, synthesize=synthesize)
    return RunningBridge(client, bridge, control)
