"""How fast bot audio goes onto a line: edge policy, on an injected clock.

The two lines differ, so the pacing does:

* chan_websocket: Asterisk queues and plays what it gets at its own pace, up to 1000
  frames (MEDIA_XOFF at 900). :class:`LeadPacer` sends as fast as allowed, but never more
  than ``max_lead_s`` ahead of the estimated playout (:class:`PlayoutEstimate`), so a
  barge-in never has much to flush, and not at all between MEDIA_XOFF and MEDIA_XON.
* AudioSocket: Asterisk writes each frame straight to the channel, with no buffer and no
  pacing of its own. The edge sends exactly one frame per 20 ms (:class:`FrameTicker`),
  taken from a :class:`PlayoutQueue` that pads with silence when the bot has nothing to say.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from callbot.audio.formats import FRAME_MS
from callbot.media.clock import SYSTEM_CLOCK, Clock, wait_event

FRAME_S = FRAME_MS / 1000


class PlayoutEstimate:
    """How far the bot audio sent so far runs ahead of the line's playout.

    The line plays one frame per ptime tick, so what was sent ends at ``ends_at_s``. Pure:
    times are the clock's seconds, passed in.
    """

    def __init__(self) -> None:
        self.ends_at_s = 0.0

    def sent(self, duration_s: float, now_s: float) -> None:
        self.ends_at_s = max(self.ends_at_s, now_s) + duration_s

    def lead_s(self, now_s: float) -> float:
        return max(0.0, self.ends_at_s - now_s)

    def reset(self) -> None:
        self.ends_at_s = 0.0


class LeadPacer:
    """chan_websocket's output pacing: when the next message of bot audio may go.

    ``may_send`` says whether the line takes audio now (False between MEDIA_XOFF and
    MEDIA_XON); :meth:`wake` is called when that may have changed. Audio belongs to a
    generation: :meth:`flush` starts a new one, and whatever of the old one still waits
    is dropped.
    """

    def __init__(
        self, max_lead_s: float, may_send: Callable[[], bool], clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._max_lead_s = max_lead_s
        self._may_send = may_send
        self._clock = clock
        self._playout = PlayoutEstimate()
        self._wake = asyncio.Event()
        self._stopped = False
        self.generation = 0

    def lead_s(self) -> float:
        return self._playout.lead_s(self._clock.monotonic())

    async def wait_turn(self, generation: int) -> bool:
        """Until audio of ``generation`` may go; False once it was flushed or the pacer
        stopped (the audio is then dropped)."""
        while True:
            if self._stopped or generation != self.generation:
                return False
            self._wake.clear()
            lead_over_s = self.lead_s() - self._max_lead_s
            if not self._may_send():
                await self._wake.wait()  # until MEDIA_XON, a flush or the end
            elif lead_over_s > 0:
                await wait_event(self._clock, self._wake, lead_over_s)
            else:
                return True

    def sent(self, duration_s: float) -> None:
        """``duration_s`` of audio just went to the line."""
        self._playout.sent(duration_s, self._clock.monotonic())

    def wake(self) -> None:
        self._wake.set()

    def flush(self) -> None:
        """Barge-in: the line dropped what it had; audio still waiting here is dropped."""
        self.generation += 1
        self._playout.reset()
        self._wake.set()

    def stop(self) -> None:
        """The call is over: nothing more goes out."""
        self._stopped = True
        self._wake.set()


class FrameTicker:
    """One frame due every ``frame_s``, at ``start + n * frame_s``: no drift builds up.

    After a stall longer than ``max_late_frames`` frames (a blocked event loop) the
    schedule starts again from now instead of bursting the missed frames.
    """

    def __init__(
        self, clock: Clock = SYSTEM_CLOCK, *, max_late_frames: int = 5, frame_s: float = FRAME_S
    ) -> None:
        self._clock = clock
        self._max_late_s = max_late_frames * frame_s
        self._frame_s = frame_s
        self._start_s = clock.monotonic()
        self._tick = 0

    async def next_frame(self) -> float:
        """Wait until the next frame is due; returns how late it was when the schedule
        started again (0.0 when on time)."""
        late_s = self._clock.monotonic() - (self._start_s + self._tick * self._frame_s)
        restarted_s = 0.0
        if late_s < 0:
            await self._clock.sleep(-late_s)
        elif late_s > self._max_late_s:
            restarted_s = late_s
            self._start_s, self._tick = self._clock.monotonic(), 0
        self._tick += 1
        return restarted_s


@dataclass(frozen=True, slots=True)
class _Mark:
    mark_id: str


class PlayoutQueue:
    """Bot audio waiting for a frame-paced line, with marks between chunks. Pure."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._items: deque[bytes | _Mark] = deque()
        self._head_offset = 0

    @property
    def queued_bytes(self) -> int:
        total = sum(len(item) for item in self._items if isinstance(item, bytes))
        return total - self._head_offset

    def push_audio(self, data: bytes) -> None:
        if data:
            self._items.append(data)

    def push_mark(self, mark_id: str) -> None:
        self._items.append(_Mark(mark_id))

    def clear(self) -> None:
        """Barge-in: drop all audio and, like chan_websocket's FLUSH_MEDIA, pending marks."""
        self._items.clear()
        self._head_offset = 0

    def next_frame(self) -> tuple[bytes, bool, list[str]]:
        """One frame of queued audio padded with silence, whether it carried any bot audio,
        and the marks whose preceding audio is all in this frame or earlier ones."""
        out = bytearray()
        marks: list[str] = []
        while self._items:
            head = self._items[0]
            if isinstance(head, _Mark):
                marks.append(head.mark_id)
                self._items.popleft()
                continue
            if len(out) == self.frame_bytes:
                break
            take = head[self._head_offset : self._head_offset + self.frame_bytes - len(out)]
            out += take
            self._head_offset += len(take)
            if self._head_offset == len(head):
                self._items.popleft()
                self._head_offset = 0
        had_audio = bool(out)
        out += bytes(self.frame_bytes - len(out))
        return bytes(out), had_audio, marks
