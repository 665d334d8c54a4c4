"""The long-running entry points behind ``callbot serve`` and ``callbot simulate``."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import AudioFormat
from callbot.config import Settings
from callbot.handover.hub import HandoverHub
from callbot.ports import check_ports
from callbot.service import Callbot, Engines
from callbot.simulator.run import Target, merge, open_peer, simulate, wait_for_record
from callbot.simulator.script import Turn

logger = logging.getLogger(__name__)


async def serve_forever(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; calls in progress get a polite end."""
    check_ports(settings.server)  # a taken port is known in well under a second, not after models
    engines = await asyncio.to_thread(Engines.load, settings)
    hub = await asyncio.to_thread(HandoverHub.from_settings, settings.handover)
    bridge = None
    if settings.ari.url:
        from callbot.bridge.runtime import build_bridge

        # Before the bot: its calls transfer through ARI, with the context in the hub.
        bridge = build_bridge(settings, hub=hub, synthesize=engines.voices.render_wav)
    bot = await Callbot.start(
        settings, engines=engines, hub=hub, control=bridge.control if bridge else None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if settings.server.softphone:
        logger.info("softphone: open %s/ in a browser and allow the microphone", bot.http_url)
    if bridge is not None:
        bridge.start()  # only now: Asterisk dials the media server as soon as a caller comes
    try:
        await stop.wait()
    finally:
        logger.info("shutting down")
        if bridge is not None:
            await bridge.stop()
        await bot.stop()


async def simulate_once(
    settings: Settings,
    turns: list[Turn],
    transport: str,
    media_format: AudioFormat,
    speed: float = 1.0,
) -> tuple[dict[str, Any], npt.NDArray[np.int16]]:
    """Start an in-process callbot, run one simulated call, return its JSON record."""
    bot = await Callbot.start(settings)
    try:
        audiosocket = (settings.server.host, bot.audiosocket_port) if bot.audiosocket_port else None
        target = Target(
            media_url=bot.media_url,
            audiosocket=audiosocket,
            username=settings.server.media_username,
            password=settings.server.media_password,
        )
        peer = open_peer(target, transport, media_format, speed=speed)
        trace = await simulate(peer, turns)
        record = await wait_for_record(bot.records, trace.call_id)
        return merge(trace, record, peer), peer.recording.audio()
    finally:
        await bot.stop()
