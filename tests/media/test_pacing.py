"""Output pacing on a hand-moved clock: lead bound and XOFF (chan_websocket), 20 ms ticks
and the playout queue (AudioSocket)."""

from __future__ import annotations

import asyncio

import pytest

from callbot.media.clock import ManualClock
from callbot.media.pacing import FRAME_S, FrameTicker, LeadPacer, PlayoutEstimate, PlayoutQueue


def test_playout_estimate() -> None:
    playout = PlayoutEstimate()
    playout.sent(2.0, now_s=100.0)
    playout.sent(1.0, now_s=100.5)
    assert playout.lead_s(101.0) == pytest.approx(2.0)
    assert playout.lead_s(200.0) == 0.0
    playout.sent(0.5, now_s=200.0)
    assert playout.lead_s(200.0) == pytest.approx(0.5)
    playout.reset()
    assert playout.lead_s(200.0) == 0.0


class TestLeadPacer:
    async def test_audio_waits_while_it_runs_too_far_ahead(self) -> None:
        clock = ManualClock()
        pacer = LeadPacer(max_lead_s=1.0, may_send=lambda: True, clock=clock)
        assert await pacer.wait_turn(pacer.generation)
        pacer.sent(1.5)  # 500 ms over the bound
        turn = asyncio.create_task(pacer.wait_turn(pacer.generation))
        await clock.advance(0.49)
        assert not turn.done()
        await clock.advance(0.02)
        assert turn.done() and turn.result() is True
        assert pacer.lead_s() == pytest.approx(0.99)

    async def test_xoff_holds_audio_until_woken(self) -> None:
        clock = ManualClock()
        may_send = False
        pacer = LeadPacer(max_lead_s=1.0, may_send=lambda: may_send, clock=clock)
        turn = asyncio.create_task(pacer.wait_turn(pacer.generation))
        await clock.advance(60.0)  # no time-out: only MEDIA_XON lets it go
        assert not turn.done()
        may_send = True
        pacer.wake()
        assert await asyncio.wait_for(turn, 1.0) is True

    async def test_a_flush_drops_what_waits_and_resets_the_lead(self) -> None:
        clock = ManualClock()
        pacer = LeadPacer(max_lead_s=1.0, may_send=lambda: True, clock=clock)
        pacer.sent(5.0)
        old = pacer.generation
        turn = asyncio.create_task(pacer.wait_turn(old))
        await clock.advance(0.1)
        pacer.flush()
        assert await asyncio.wait_for(turn, 1.0) is False
        assert pacer.lead_s() == 0.0
        assert await pacer.wait_turn(pacer.generation) is True
        assert await pacer.wait_turn(old) is False

    async def test_stop_releases_a_sender_held_by_xoff(self) -> None:
        pacer = LeadPacer(max_lead_s=1.0, may_send=lambda: False, clock=ManualClock())
        turn = asyncio.create_task(pacer.wait_turn(pacer.generation))
        await asyncio.sleep(0)
        pacer.stop()
        assert await asyncio.wait_for(turn, 1.0) is False


class TestFrameTicker:
    async def test_one_frame_every_20_ms_without_drift(self) -> None:
        clock = ManualClock()
        ticker = FrameTicker(clock)
        due: list[float] = []

        async def tick() -> None:
            while True:
                await ticker.next_frame()
                due.append(clock.monotonic())

        ticking = asyncio.create_task(tick())
        await clock.advance(1.0 + FRAME_S / 2)
        ticking.cancel()
        start = due[0]
        assert len(due) == 51  # at 0, then every 20 ms up to 1 s
        assert [round((t - start) / FRAME_S, 6) for t in due] == list(range(51))

    async def test_a_stall_restarts_the_schedule_instead_of_bursting(self) -> None:
        clock = ManualClock()
        ticker = FrameTicker(clock, max_late_frames=5)
        assert await ticker.next_frame() == 0.0
        await clock.advance(0.2)  # the event loop was blocked for ten frames
        assert await ticker.next_frame() == pytest.approx(0.18)
        waiting = asyncio.create_task(ticker.next_frame())
        await clock.advance(FRAME_S / 2)
        assert not waiting.done()  # the next one is due a whole frame after the restart
        await clock.advance(FRAME_S)
        assert waiting.done() and waiting.result() == 0.0

    async def test_a_small_delay_is_caught_up(self) -> None:
        clock = ManualClock()
        ticker = FrameTicker(clock, max_late_frames=5)
        await ticker.next_frame()
        await clock.advance(3 * FRAME_S + FRAME_S / 2)  # three frames late: within bounds
        assert [await ticker.next_frame() for _ in range(3)] == [0.0, 0.0, 0.0]
        waiting = asyncio.create_task(ticker.next_frame())
        await asyncio.sleep(0)
        assert not waiting.done()
        await clock.advance(FRAME_S)
        assert waiting.done()


def test_playout_queue_frames_padding_and_marks() -> None:
    queue = PlayoutQueue(frame_bytes=4)
    queue.push_mark("m0")
    queue.push_audio(b"abcdef")
    queue.push_mark("m1")
    queue.push_audio(b"gh")
    queue.push_mark("m2")
    assert queue.queued_bytes == 8
    assert queue.next_frame() == (b"abcd", True, ["m0"])
    assert queue.next_frame() == (b"efgh", True, ["m1", "m2"])
    assert queue.next_frame() == (b"\x00" * 4, False, [])
    queue.push_audio(b"xyz")
    queue.push_mark("gone")
    queue.clear()
    assert queue.next_frame() == (b"\x00" * 4, False, [])
    queue.push_audio(b"xy")
    assert queue.next_frame() == (b"xy\x00\x00", True, [])
