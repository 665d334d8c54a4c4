"""``callbot serve``: recover stranded callers, start, serve until a signal, drain."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import TYPE_CHECKING

from callbot.app.shared import open_hub
from callbot.config import Settings
from callbot.errors import AriError
from callbot.web.ports import check_ports

if TYPE_CHECKING:
    from callbot.app.bridge import RunningBridge
    from callbot.app.service import Callbot
    from callbot.bridge.recovery import Recovered

logger = logging.getLogger(__name__)


async def serve_forever(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM, then drain: see :func:`_shut_down`.

    Order matters for callers. Stranded callers of a previous process are released
    first, before the (slow) imports and model load; the Stasis app registers last, once
    the media server listens, so until then ``Stasis()`` fails at once and Asterisk's
    dialplan sends new callers to a human instead of to a bot that is not there yet.
    """
    check_ports(settings.server)  # a taken port is known in well under a second, not after models
    recovered = await _recover_stranded(settings)
    from callbot.app.service import Callbot, Engines  # heavy: pipecat, Whisper, Piper

    engines = await asyncio.to_thread(Engines.load, settings)
    hub = await asyncio.to_thread(open_hub, settings)
    bridge = None
    if settings.ari.url:
        from callbot.app.bridge import build_bridge

        # Before the bot: its calls transfer through ARI, with the context in the hub.
        bridge = build_bridge(settings, hub=hub, synthesize=engines.voices.render_wav)
    bot = await Callbot.start(
        settings, engines=engines, hub=hub, control=bridge.control if bridge else None
    )
    bot.record_recovered(recovered)
    if bridge is not None:
        bridge.bridge.on_unserved = bot.ops.unserved
    stop, hurry = stop_signals()
    if bot.web.softphone:
        logger.info("softphone: open %s/ in a browser and allow the microphone", bot.http_url)
    if bridge is not None:
        bridge.start()  # only now: Asterisk dials the media server as soon as a caller comes
    try:
        await stop.wait()
    finally:
        await _shut_down(settings, bot, bridge, hurry)


def stop_signals() -> tuple[asyncio.Event, asyncio.Event]:
    """(stop, hurry): the first SIGINT/SIGTERM sets ``stop`` (drain), a second one
    ``hurry`` (hand the calls in progress over at once)."""
    stop, hurry = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (hurry if stop.is_set() else stop).set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    return stop, hurry


async def _recover_stranded(settings: Settings) -> list[Recovered]:
    """Release the callers a crashed predecessor left in Stasis (ARI REST only, bounded)."""
    if not settings.ari.url:
        return []
    from callbot.bridge.ari_client import AriClient
    from callbot.bridge.recovery import recover_stranded

    started = time.monotonic()
    async with AriClient(settings.ari) as client:
        try:
            async with asyncio.timeout(settings.ari.startup_timeout_s):
                recovered = await recover_stranded(client, settings.ari)
        except (AriError, TimeoutError) as exc:
            logger.warning(
                "ARI not reachable at start-up (%s): stranded callers, if any, are released "
                "when the Stasis app connects",
                exc or "timeout",
            )
            return []
    if recovered:
        logger.warning(
            "released %d stranded caller(s) in %.0f ms",
            len(recovered),
            (time.monotonic() - started) * 1000,
        )
    return recovered


async def _shut_down(
    settings: Settings, bot: Callbot, bridge: RunningBridge | None, hurry: asyncio.Event
) -> None:
    """Graceful stop: take no new call (new callers go to the fallback queue), let calls
    in progress finish for up to ``server.drain_timeout_s``, hand the rest to humans with
    their context, then let go of Asterisk."""
    timeout_s = settings.server.drain_timeout_s
    logger.info(
        "shutting down: %d call(s) in progress, draining for up to %.0f s",
        bot.runner.active_calls,
        timeout_s,
    )
    if bridge is not None:
        bridge.bridge.begin_drain()
    handed = await bot.drain(timeout_s, hurry=hurry)
    logger.info("drained (%d call(s) handed over): stopping", handed)
    if bridge is not None:
        await bridge.stop()
    await bot.stop()
