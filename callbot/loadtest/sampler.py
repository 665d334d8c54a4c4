"""CPU and resident memory of the callbot process, sampled during a load test (psutil).

CPU is in percent of one core (200 % = both cores of a 2-core machine busy), as
``top`` shows it; it covers every thread of the process (Whisper, the TTS, the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from callbot.errors import ConfigError, MissingExtra

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: float
    """Seconds since the sampler started."""
    cpu_percent: float
    rss_mib: float


class ProcessSampler:
    """Samples one process every ``interval_s`` until :meth:`stop`; use ``async with``."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        try:  # here, not at the top: the command line imports this module for every command
            import psutil
        except ModuleNotFoundError as exc:
            raise MissingExtra("psutil", "loadtest") from exc
        try:
            self._process = psutil.Process(pid)
            self._process.cpu_percent(None)  # the first call only sets the reference
        except psutil.Error as exc:
            raise ConfigError(f"cannot sample process {pid}: {exc}") from exc
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self.started_at_s = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProcessSampler:
        self.started_at_s = time.monotonic()
        self._task = asyncio.create_task(self._run(), name=f"sampler-{self.pid}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psutil

        while True:
            await asyncio.sleep(self.interval_s)
            try:
                with self._process.oneshot():
                    cpu = self._process.cpu_percent(None)
                    rss = self._process.memory_info().rss / (1 << 20)
            except psutil.Error as exc:
                logger.warning("sampler: process %d: %s; sampling stops", self.pid, exc)
                return
            at = time.monotonic() - self.started_at_s
            self.samples.append(Sample(round(at, 2), round(cpu, 1), round(rss, 1)))
