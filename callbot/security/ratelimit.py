"""Failed logins per client address, in a sliding window: past the limit, answer 429.

Sans-I/O: the clock is injected, nothing here sleeps or touches a socket. Memory is
bounded: at most ``max_clients`` addresses are tracked (the longest-quiet goes first),
each with at most ``max_failures`` timestamps.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    """``max_failures`` wrong credentials per ``window_s`` and per client, then refusal."""

    def __init__(
        self,
        max_failures: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after_s(self, client: str) -> int:
        """Seconds ``client`` must wait before trying again (0: it may try now)."""
        if self.max_failures <= 0:
            return 0
        times = self._recent(client)
        if times is None or len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[0] + self.window_s - self._clock()))

    def failed(self, client: str) -> bool:
        """Count one failure; True when this one reached the limit (log it once)."""
        if self.max_failures <= 0:
            return False
        times = self._recent(client)
        if times is None:
            times = self._failures[client] = deque(maxlen=self.max_failures)
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
        times.append(self._clock())
        self._failures.move_to_end(client)
        return len(times) == self.max_failures

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times
