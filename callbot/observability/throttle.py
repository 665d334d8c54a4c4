"""A warning that cannot flood the log: one INFO line per case, one WARNING a minute at most.

Connections that never become a call (a port probe, a health check, a stuck peer, a
half-open HTTP request) are normal one at a time and worth a warning only in numbers:
300 idle probes a minute must not write 300 warnings. Each case is logged at INFO (DEBUG
if asked); a WARNING with the count since the last one is written at most once per
``interval_s``. Time is injected (``clock``), so tests never wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from callbot.logs import call_log


class ThrottledWarning:
    """Counts one kind of event; see the module docstring.

    Example::

        unstarted = ThrottledWarning(logger, "media connection(s) closed before a call started")
        unstarted.note("no MEDIA_START within %.1f s", 5.0, call_id=call_id)
    """

    def __init__(
        self,
        logger: logging.Logger,
        summary: str,
        *,
        interval_s: float = 60.0,
        level: int = logging.INFO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._summary = summary
        self._interval_s = interval_s
        self._level = level
        self._clock = clock
        self._last_warning_s: float | None = None
        self.pending = 0
        """Cases since the last WARNING."""
        self.total = 0
        """Cases since this object was made."""

    def note(self, message: str, *args: object, call_id: str | None = None) -> None:
        """One case: ``message % args`` at the case level (a line about ``call_id`` when
        given: see :func:`~callbot.logs.call_log`), and the WARNING when it is due."""
        log = self._logger if call_id is None else call_log(self._logger, call_id)
        log.log(self._level, message, *args)
        self.total += 1
        self.pending += 1
        now = self._clock()
        if self._last_warning_s is None or now - self._last_warning_s >= self._interval_s:
            since = (
                ""
                if self._last_warning_s is None
                else f" in the last {now - self._last_warning_s:.0f} s"
            )
            self._logger.warning(
                "%d %s%s (each logged at %s)",
                self.pending,
                self._summary,
                since,
                logging.getLevelName(self._level),
            )
            self._last_warning_s = now
            self.pending = 0
