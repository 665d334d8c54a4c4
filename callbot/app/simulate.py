"""``callbot simulate``: one call through a simulated Asterisk against an in-process bot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import AudioFormat
from callbot.config import Settings
from callbot.simulator.run import Target, merge, open_peer, simulate, wait_for_record
from callbot.simulator.script import Turn


async def simulate_once(
    settings: Settings,
    turns: list[Turn],
    transport: str,
    media_format: AudioFormat,
    speed: float = 1.0,
    *,
    now: dt.datetime | None = None,
) -> tuple[dict[str, Any], npt.NDArray[np.int16]]:
    """Start an in-process callbot, run one simulated call (its dialog's clock fixed at
    ``now`` when given), return its JSON record."""
    from callbot.app.service import Callbot

    bot = await Callbot.start(settings, now=now)
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
