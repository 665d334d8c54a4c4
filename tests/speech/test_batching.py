"""The batching rules (sans-I/O, time passed in) and the worker threads that serve them."""

import threading
from concurrent.futures import CancelledError, Future

import pytest

from callbot.speech.batching import Batcher, BatchQueue, Decoded, Priority

FINAL, EARLY = Priority.FINAL, Priority.EARLY


def items(batch: list) -> list:
    return [p.item for p in batch]


class TestBatchQueue:
    def test_with_nothing_on_its_way_a_request_does_not_wait(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.02, max_batch=8)
        queue.submit("a", group=5.0, priority=FINAL, now_s=10.0)
        assert items(queue.take(10.0)) == ["a"]
        assert len(queue) == 0 and queue.due_at() is None

    def test_a_request_waits_for_announced_ones_the_gathering_window_at_most(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.02, max_batch=8)
        for _ in range(3):
            queue.announce()
        queue.submit("a", group=5.0, priority=FINAL, now_s=10.0, announced=True)
        assert queue.due_at() == pytest.approx(10.02)
        assert queue.take(10.01) == []
        queue.submit("b", group=5.0, priority=FINAL, now_s=10.01, announced=True)
        assert queue.take(10.019) == []
        assert items(queue.take(10.02)) == ["a", "b"]  # the third is late: not waited for

    def test_the_last_announced_request_arriving_or_withdrawn_ends_the_wait(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=60.0, max_batch=8)
        queue.announce()
        queue.announce()
        queue.submit("a", group=5.0, priority=FINAL, now_s=0.0, announced=True)
        queue.retract()
        assert items(queue.take(0.0)) == ["a"]
        queue.announce()
        queue.submit("b", group=5.0, priority=FINAL, now_s=1.0)
        assert queue.take(1.0) == []
        queue.submit("c", group=5.0, priority=FINAL, now_s=1.5, announced=True)
        assert items(queue.take(1.5)) == ["b", "c"]

    def test_a_full_group_is_due_at_once(self) -> None:
        queue: BatchQueue[int] = BatchQueue(gather_s=60.0, max_batch=3)
        for _ in range(5):
            queue.announce()
        for n in range(4):
            queue.submit(n, group=5.0, priority=FINAL, now_s=1.0, announced=True)
        assert queue.due_at() == float("-inf")
        assert items(queue.take(1.0)) == [0, 1, 2]
        assert queue.take(1.0) == []  # the fourth waits for the fifth, a minute at most
        assert items(queue.take(61.0)) == [3]

    def test_a_batch_holds_one_window_only(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.0, max_batch=8)
        queue.submit("short", group=5.0, priority=FINAL, now_s=0.0)
        queue.submit("long", group=10.0, priority=FINAL, now_s=0.1)
        queue.submit("short too", group=5.0, priority=FINAL, now_s=0.2)
        assert items(queue.take(1.0)) == ["short", "short too"]
        assert items(queue.take(1.0)) == ["long"]

    def test_final_turns_go_before_early_ones_in_a_batch(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.0, max_batch=2)
        queue.submit("early 1", group=5.0, priority=EARLY, now_s=0.0)
        queue.submit("early 2", group=5.0, priority=EARLY, now_s=0.1)
        queue.submit("final", group=5.0, priority=FINAL, now_s=0.2)
        assert items(queue.take(1.0)) == ["final", "early 1"]
        assert items(queue.take(1.0)) == ["early 2"]

    def test_a_group_with_a_final_turn_goes_before_an_older_early_only_group(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.0, max_batch=8)
        queue.submit("early", group=10.0, priority=EARLY, now_s=0.0)
        queue.submit("final", group=5.0, priority=FINAL, now_s=0.5)
        assert items(queue.take(1.0)) == ["final"]
        assert items(queue.take(1.0)) == ["early"]

    def test_a_cancelled_request_leaves_the_queue(self) -> None:
        queue: BatchQueue[str] = BatchQueue(gather_s=0.0, max_batch=8)
        gone = queue.submit("gone", group=5.0, priority=FINAL, now_s=0.0)
        queue.submit("kept", group=5.0, priority=FINAL, now_s=0.0)
        assert queue.cancel(gone) and not queue.cancel(gone)
        assert items(queue.take(1.0)) == ["kept"]


class Recorder:
    """A decoder that records its batches; the first one can be held on a gate."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[tuple[float, list[str]]] = []
        self.started = threading.Event()
        self.gate = threading.Event()
        if not hold_first:
            self.gate.set()

    def __call__(self, group: float, batch: list[str]) -> list[str]:
        self.started.set()
        self.gate.wait(10)
        self.batches.append((group, list(batch)))
        return [text.upper() for text in batch]


def result(future: Future[Decoded[str]]) -> Decoded[str]:
    return future.result(timeout=10)


class TestBatcher:
    def test_requests_arriving_while_a_batch_runs_are_decoded_together(self) -> None:
        decode = Recorder(hold_first=True)
        batcher: Batcher[str, str] = Batcher(decode, gather_s=0.0, max_batch=8)
        first = batcher.submit("first", group=5.0, priority=FINAL)
        assert decode.started.wait(10)
        later = [batcher.submit(t, group=5.0, priority=FINAL) for t in ("a", "b", "c")]
        decode.gate.set()
        assert result(first).result == "FIRST" and result(first).batch_size == 1
        decoded = [result(f) for f in later]
        assert [d.result for d in decoded] == ["A", "B", "C"]
        assert {d.batch_size for d in decoded} == {3}
        assert decode.batches == [(5.0, ["first"]), (5.0, ["a", "b", "c"])]
        assert all(d.queued_s >= 0 and d.batch_s >= 0 for d in decoded)
        batcher.close()

    def test_a_full_batch_does_not_wait_for_the_gathering_window(self) -> None:
        decode = Recorder()
        batcher: Batcher[str, str] = Batcher(decode, gather_s=3600.0, max_batch=2)
        for _ in range(3):
            batcher.announce()
        futures = [batcher.submit(t, group=5.0, priority=FINAL, announced=True) for t in ("a", "b")]
        assert [result(f).result for f in futures] == ["A", "B"]
        batcher.close()

    def test_a_batch_waiting_for_an_announced_request_leaves_when_it_is_retracted(self) -> None:
        decode = Recorder()
        batcher: Batcher[str, str] = Batcher(decode, gather_s=3600.0, max_batch=8)
        batcher.announce()
        waiting = batcher.submit("a", group=5.0, priority=FINAL)
        assert not waiting.done() and batcher.waiting == 1
        batcher.retract()
        assert result(waiting).result == "A"
        batcher.close()

    def test_a_final_turn_overtakes_waiting_early_ones(self) -> None:
        decode = Recorder(hold_first=True)
        batcher: Batcher[str, str] = Batcher(decode, gather_s=0.0, max_batch=1)
        busy = batcher.submit("busy", group=5.0, priority=FINAL)
        assert decode.started.wait(10)
        early = batcher.submit("early", group=5.0, priority=EARLY)
        final = batcher.submit("final", group=5.0, priority=FINAL)
        decode.gate.set()
        for future in (busy, early, final):
            result(future)
        assert [b[1] for b in decode.batches] == [["busy"], ["final"], ["early"]]
        batcher.close()

    def test_a_cancelled_request_is_never_decoded(self) -> None:
        decode = Recorder(hold_first=True)
        batcher: Batcher[str, str] = Batcher(decode, gather_s=0.0, max_batch=8)
        busy = batcher.submit("busy", group=5.0, priority=FINAL)
        assert decode.started.wait(10)
        dropped = batcher.submit("dropped", group=5.0, priority=FINAL)
        kept = batcher.submit("kept", group=5.0, priority=FINAL)
        assert dropped.cancel()
        assert batcher.waiting == 1
        decode.gate.set()
        result(busy), result(kept)
        assert [b[1] for b in decode.batches] == [["busy"], ["kept"]]
        batcher.close()

    def test_a_failing_batch_fails_each_of_its_requests(self) -> None:
        def broken(group: float, batch: list[str]) -> list[str]:
            raise RuntimeError("decoder crashed")

        batcher: Batcher[str, str] = Batcher(broken, gather_s=3600.0, max_batch=2)
        futures = [batcher.submit(t, group=5.0, priority=FINAL) for t in ("a", "b")]
        for future in futures:
            with pytest.raises(RuntimeError, match="decoder crashed"):
                result(future)
        batcher.close()

    def test_close_cancels_what_still_waits(self) -> None:
        batcher: Batcher[str, str] = Batcher(Recorder(), gather_s=3600.0, max_batch=8)
        batcher.announce()  # keeps the batch gathering
        waiting = batcher.submit("never", group=5.0, priority=FINAL)
        batcher.close()
        with pytest.raises(CancelledError):
            result(waiting)
        with pytest.raises(RuntimeError, match="closed"):
            batcher.submit("late", group=5.0, priority=FINAL)
