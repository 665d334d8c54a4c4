"""The concurrent-call limit: a call over it is refused before the bot answers.

Why refuse rather than queue: each call holds a share of the CPU that Whisper needs;
one call too many makes every caller wait longer at every turn. A refused caller is
better served by the human queue (ARI path: continue in the dialplan to the fallback
queue) or, at worst, a short busy message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from callbot.media.types import CallHandler, CallInfo, InboundEvent, MediaSink

logger = logging.getLogger(__name__)

BusyHandler = Callable[[CallInfo, MediaSink], Awaitable[None]]


class CallAdmission:
    """Counts calls in progress against ``max_concurrent_calls`` (0: no limit)."""

    def __init__(self, max_concurrent_calls: int) -> None:
        if max_concurrent_calls < 0:
            raise ValueError("max_concurrent_calls must be >= 0")
        self.max_concurrent_calls = max_concurrent_calls
        self.active = 0
        self.refused = 0
        self.closed = False
        """Draining (shutdown): every new call is refused."""

    @property
    def full(self) -> bool:
        return self.closed or 0 < self.max_concurrent_calls <= self.active

    def try_admit(self, reclaim: Callable[[], bool] | None = None) -> bool:
        """Take a slot (True), or count a refusal (False). Single-threaded (event loop).

        At the limit, ``reclaim()`` may end a stalled call (a line that never showed life)
        to hand its slot over: the count then runs one over until that call has ended."""
        if self.full and (self.closed or reclaim is None or not reclaim()):
            self.refused += 1
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active = max(0, self.active - 1)


async def hang_up(info: CallInfo, sink: MediaSink) -> None:
    """The default busy handling: end the call at once (Asterisk falls back)."""
    await sink.hangup()


def admitting(
    handler: CallHandler,
    admission: CallAdmission,
    on_busy: BusyHandler = hang_up,
    on_refused: Callable[[str], None] | None = None,
    reclaim: Callable[[], bool] | None = None,
) -> CallHandler:
    """``handler`` behind the limit: over it, ``on_busy`` runs instead of the call.

    ``on_busy`` may say a short pre-synthesized message before hanging up, or hand the
    caller to a human; ``on_refused("busy")`` is for metrics; ``reclaim`` may free a slot
    held by a stalled call (see :meth:`CallAdmission.try_admit`).
    """

    async def admitted(
        info: CallInfo, inbound: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        if not admission.try_admit(reclaim):
            logger.warning("refused: %d calls in progress (limit)", admission.active)
            if on_refused is not None:
                on_refused("busy")
            await on_busy(info, sink)
            return
        try:
            await handler(info, inbound, sink)
        finally:
            admission.release()

    return admitted
