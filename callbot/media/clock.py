"""Time as the media layer reads it: injected, so that pacing and timers are testable.

Pacers, gap-fill and the handler's drain take a :class:`Clock`. A running callbot uses
:data:`SYSTEM_CLOCK` (``time.monotonic`` and ``asyncio.sleep``); tests use a
:class:`ManualClock` and move it by hand, so that they assert exact frame counts at exact
times instead of ranges over a real second on a busy machine. Shipped here rather than
under ``tests/``, like httpx's ``MockTransport``: the simulated Asterisk peers take one too.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any, Protocol

SETTLE_TURNS = 20
"""Event-loop turns :meth:`ManualClock.advance` gives woken tasks to run (and to go back
to sleep, or to write to a socket and the peer to read it) before it moves on."""


class Clock(Protocol):
    """Monotonic seconds, and a way to wait for them to pass."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real one."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


async def wait_done(clock: Clock, waited: asyncio.Future[Any], timeout_s: float) -> bool:
    """Wait until ``waited`` is done or ``timeout_s`` of ``clock`` time has passed; True if
    done. ``waited`` is left as it is (never cancelled here)."""
    if waited.done():
        return True
    timer = asyncio.ensure_future(clock.sleep(timeout_s))
    try:
        await asyncio.wait({waited, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    return waited.done()


async def wait_event(clock: Clock, event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` of ``clock`` time has passed."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        return await wait_done(clock, waiter, timeout_s)
    finally:
        waiter.cancel()


class ManualClock:
    """A clock that moves only when told: sleepers wake in deadline order as
    :meth:`advance` passes their deadlines, each woken task running before the next."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now_s = start_s
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now_s

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now_s + seconds, next(self._order), wake))
        await wake

    @property
    def sleepers(self) -> int:
        """Tasks asleep on this clock now."""
        return sum(not wake.done() for _, _, wake in self._sleepers)

    async def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, waking every sleeper due on the way, in order."""
        target_s = self._now_s + seconds
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= target_s:
            due_s, _, wake = heapq.heappop(self._sleepers)
            if wake.done():  # its sleeper was cancelled
                continue
            self._now_s = max(self._now_s, due_s)
            wake.set_result(None)
            await _settle()
        self._now_s = target_s
        await _settle()


async def _settle() -> None:
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)
