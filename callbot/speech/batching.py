"""Gathers recognition requests from different calls into batches.

Whisper decodes a batch of utterances in one CTranslate2 call for much less than the
sum of decoding them one by one on a GPU (and for somewhat less on a CPU), but only
when they share an encoder window. :class:`BatchQueue` is the sans-I/O core that says
which requests run together and when; :class:`Batcher` runs it on worker threads, so
decodes never block the event loop.

The rules:

- requests are grouped by encoder window (a batch is one tensor);
- a group becomes due when it fills ``max_batch``, when no other request is on its
  way (announced: being prepared, e.g. its features computed), or when its oldest
  request has waited ``gather_s``: gathering never delays a request by more than that,
  and not at all when nothing could join;
- final utterances go before speculative (early) ones, in a batch and between groups,
  so early decodes never starve final ones.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Priority(enum.IntEnum):
    FINAL = 0
    """The caller's turn is over: someone is waiting for this text."""
    EARLY = 1
    """Speculative: the caller paused and may go on talking."""


@dataclass(eq=False, slots=True)
class Pending(Generic[T]):
    """A request waiting in the queue (identity matters: two equal items are two requests)."""

    item: T
    group: float
    """Requests of one group can run in one batch (the encoder window, seconds)."""
    priority: Priority
    submitted_s: float

    @property
    def rank(self) -> tuple[int, float]:
        return (self.priority, self.submitted_s)


@dataclass(slots=True)
class BatchQueue(Generic[T]):
    """Which requests run together, and when; time is passed in (``now_s``)."""

    gather_s: float
    max_batch: int
    incoming: int = 0
    """Requests announced and not yet submitted: worth waiting for."""
    _groups: dict[float, list[Pending[T]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups.values())

    def announce(self) -> None:
        """A request is on its way (submitted later with ``announced=True``)."""
        self.incoming += 1

    def retract(self) -> None:
        """An announced request will not come after all."""
        self.incoming -= 1

    def submit(
        self,
        item: T,
        *,
        group: float,
        priority: Priority,
        now_s: float,
        announced: bool = False,
    ) -> Pending[T]:
        if announced:
            self.incoming -= 1
        pending = Pending(item, group, priority, now_s)
        self._groups.setdefault(group, []).append(pending)
        return pending

    def cancel(self, pending: Pending[T]) -> bool:
        """Withdraw a request not yet taken; False if it already left the queue."""
        group = self._groups.get(pending.group, [])
        if pending not in group:
            return False
        group.remove(pending)
        if not group:
            del self._groups[pending.group]
        return True

    def due_at(self) -> float | None:
        """When the next batch is due (a time already past: now); None when empty."""
        times = [self._due_at(group) for group in self._groups.values()]
        return min(times, default=None)

    def take(self, now_s: float) -> list[Pending[T]]:
        """The next batch to run, best first; empty when none is due yet."""
        due = [group for group in self._groups.values() if self._due_at(group) <= now_s]
        if not due:
            return []
        best = min(due, key=lambda group: min(p.rank for p in group))
        best.sort(key=lambda p: p.rank)
        batch, rest = best[: self.max_batch], best[self.max_batch :]
        if rest:
            self._groups[batch[0].group] = rest
        else:
            del self._groups[batch[0].group]
        return batch

    def _due_at(self, group: list[Pending[T]]) -> float:
        if len(group) >= self.max_batch or self.incoming <= 0:
            return -float("inf")
        return min(p.submitted_s for p in group) + self.gather_s


@dataclass(frozen=True, slots=True)
class Decoded(Generic[R]):
    """One request's result with what it cost."""

    result: R
    queued_s: float
    """From submission to the start of its batch (seconds)."""
    batch_s: float
    """Wall time of the whole batch (seconds)."""
    batch_size: int


DecodeBatch = Callable[[float, list[T]], list[R]]
"""Decodes the items of one group (its key first), one result per item, in order."""


class Batcher(Generic[T, R]):
    """:class:`BatchQueue` served by worker threads; results come back as futures.

    Cancelling a future withdraws its request if it is still queued.
    """

    def __init__(
        self,
        decode: DecodeBatch[T, R],
        *,
        gather_s: float,
        max_batch: int,
        workers: int = 1,
        name: str = "batch",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._decode = decode
        self._clock = clock
        self._queue: BatchQueue[tuple[T, Future[Decoded[R]]]] = BatchQueue(gather_s, max_batch)
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def waiting(self) -> int:
        """Requests queued, not yet in a batch."""
        with self._ready:
            return len(self._queue)

    def announce(self) -> None:
        """A request is being prepared: a batch due now may wait (``gather_s`` at most)
        for it. Follow with ``submit(..., announced=True)`` or :meth:`retract`."""
        with self._ready:
            self._queue.announce()

    def retract(self) -> None:
        with self._ready:
            self._queue.retract()
            self._ready.notify()

    def submit(
        self, item: T, *, group: float, priority: Priority, announced: bool = False
    ) -> Future[Decoded[R]]:
        future: Future[Decoded[R]] = Future()
        with self._ready:
            if self._closed:
                if announced:
                    self._queue.retract()
                raise RuntimeError("batcher closed")
            pending = self._queue.submit(
                (item, future),
                group=group,
                priority=priority,
                now_s=self._clock(),
                announced=announced,
            )
            self._ready.notify()
        future.add_done_callback(lambda f: self._withdraw(f, pending))
        return future

    def close(self) -> None:
        """Stop the workers once their batch is done; queued requests are cancelled."""
        with self._ready:
            self._closed = True
            left = []
            while batch := self._queue.take(float("inf")):
                left += batch
            self._ready.notify_all()
        for pending in left:
            pending.item[1].cancel()

    def _withdraw(
        self, future: Future[Decoded[R]], pending: Pending[tuple[T, Future[Decoded[R]]]]
    ) -> None:
        if future.cancelled():
            with self._ready:
                self._queue.cancel(pending)

    def _next_batch(self) -> list[Pending[tuple[T, Future[Decoded[R]]]]] | None:
        with self._ready:
            while not self._closed:
                now = self._clock()
                batch = self._queue.take(now)
                if batch:
                    return batch
                due = self._queue.due_at()
                self._ready.wait(None if due is None else max(0.0, due - now))
            return None

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            live = [p for p in batch if p.item[1].set_running_or_notify_cancel()]
            if live:
                self._run(live)

    def _run(self, batch: list[Pending[tuple[T, Future[Decoded[R]]]]]) -> None:
        started = self._clock()
        try:
            results = self._decode(batch[0].group, [p.item[0] for p in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:  # every caller of the batch hears of it
            logger.exception("batch of %d failed", len(batch))
            for pending in batch:
                pending.item[1].set_exception(exc)
            return
        batch_s = self._clock() - started
        for pending, result in zip(batch, results, strict=True):
            queued_s = started - pending.submitted_s
            pending.item[1].set_result(Decoded(result, queued_s, batch_s, len(batch)))
