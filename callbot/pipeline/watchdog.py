"""What a call's line has shown of life, for the guards that end a call nobody is on.

Two guards read one :class:`LineWatch` (pure: every time is passed in, monotonic seconds):

* a prompt the line never confirms counts as heard :attr:`~LineWatch.playout_end_s` plus a
  grace after it was queued (see :class:`~callbot.pipeline.output.LineOutput`), so the
  no-input timer starts even when Asterisk never sends MEDIA_MARK_PROCESSED;
* no media at all from the line for ``media_timeout_s`` ends the call
  (:meth:`LineWatch.media_timed_out`).

"No media" is read on the wire events, never on the pipeline's audio: the call runner
fills gaps with silence (lines that suppress silence send nothing while the caller is
quiet), and a line that suppresses silence still confirms each prompt. So, in order:

* a line that has sent something (audio, a key, a confirmed mark) is *alive*: it times out
  ``media_timeout_s`` after its last event or the end of the bot's audio, whichever is
  later (a caller silent through a long prompt on such a line is not cut off);
* a line that never sent anything times out ``media_timeout_s`` after the call started,
  but never before its first prompt has had its grace to be confirmed (a long greeting
  on a line that suppresses silence is confirmed only at its end).

A line with no sign of life whose prompt went unconfirmed past its time is *stalled*
(:attr:`LineWatch.stalled`): the call runner may end it at once to give its slot to a new
caller.
"""

from __future__ import annotations


class LineWatch:
    """One call's line: last event, signs of life, and when the bot's audio ends."""

    def __init__(self, started_at_s: float, *, mark_grace_s: float) -> None:
        self.started_at_s = started_at_s
        self.mark_grace_s = mark_grace_s
        """How long after its expected end a prompt counts as heard without confirmation."""
        self.last_event_at_s = started_at_s
        self.alive = False
        """The line has sent audio, a key or a mark confirmation."""
        self.playout_end_s = started_at_s
        """When the bot audio queued so far will have been played, at real time."""
        self.overdue_marks = 0
        """Prompts counted as heard although the line never confirmed them."""
        self._first_mark_due_s: float | None = None

    def line_event(self, now_s: float) -> None:
        """The line sent something (audio, a key, a confirmed mark)."""
        self.alive = True
        self.last_event_at_s = now_s

    def audio_queued(self, duration_s: float, now_s: float) -> None:
        """``duration_s`` of bot audio left for the line (played after what is queued)."""
        self.playout_end_s = max(self.playout_end_s, now_s) + duration_s

    def flushed(self, now_s: float) -> None:
        """Barge-in: the line dropped every bot sample not yet played."""
        self.playout_end_s = min(self.playout_end_s, now_s)

    def mark_sent(self) -> float:
        """A mark follows the audio queued so far: when it counts as heard if the line
        never confirms it."""
        due_s = self.playout_end_s + self.mark_grace_s
        if self._first_mark_due_s is None:
            self._first_mark_due_s = due_s
        return due_s

    def mark_overdue(self) -> None:
        self.overdue_marks += 1

    @property
    def stalled(self) -> bool:
        """No sign of life, and a prompt already went unconfirmed past its time."""
        return not self.alive and self.overdue_marks > 0

    def media_deadline_s(self, timeout_s: float) -> float:
        """When the no-media guard ends the call if nothing else comes from the line."""
        if self.alive:
            return max(self.last_event_at_s, self.playout_end_s) + timeout_s
        return max(self.started_at_s + timeout_s, self._first_mark_due_s or 0.0)

    def media_timed_out(self, now_s: float, timeout_s: float) -> bool:
        return now_s >= self.media_deadline_s(timeout_s)
