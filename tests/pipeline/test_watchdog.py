"""LineWatch: when a silent line's prompt counts as heard, and when no media ends a call."""

from __future__ import annotations

from callbot.pipeline.watchdog import LineWatch

TIMEOUT_S = 20.0


def test_a_line_that_never_sent_anything_times_out_from_the_start() -> None:
    watch = LineWatch(0.0, mark_grace_s=2.0)
    watch.audio_queued(4.0, now_s=0.5)  # the greeting
    assert watch.mark_sent() == 6.5
    assert watch.media_deadline_s(TIMEOUT_S) == 20.0
    assert not watch.media_timed_out(19.9, TIMEOUT_S) and watch.media_timed_out(20.0, TIMEOUT_S)


def test_a_long_greeting_on_a_silent_line_gets_its_grace_first() -> None:
    watch = LineWatch(0.0, mark_grace_s=2.0)
    watch.audio_queued(25.0, now_s=0.5)  # longer than the time-out
    watch.mark_sent()
    assert watch.media_deadline_s(TIMEOUT_S) == 27.5


def test_later_prompts_on_a_line_never_heard_from_do_not_push_the_deadline() -> None:
    watch = LineWatch(0.0, mark_grace_s=2.0)
    watch.audio_queued(4.0, now_s=0.5)
    watch.mark_sent()
    watch.audio_queued(4.0, now_s=18.0)  # a reprompt playing at the time-out
    watch.mark_sent()
    assert watch.media_deadline_s(TIMEOUT_S) == 20.0


def test_a_live_line_times_out_after_its_last_event_or_the_end_of_the_bot_audio() -> None:
    watch = LineWatch(0.0, mark_grace_s=2.0)
    watch.line_event(3.0)  # a confirmed mark: the line is up, though it suppresses silence
    assert watch.alive and watch.media_deadline_s(TIMEOUT_S) == 23.0
    watch.audio_queued(30.0, now_s=5.0)  # the caller listens, silently, to a long message
    assert watch.media_deadline_s(TIMEOUT_S) == 55.0
    watch.flushed(10.0)  # barge-in: the rest will never play
    assert watch.media_deadline_s(TIMEOUT_S) == 30.0


def test_audio_queued_while_playing_plays_after_it() -> None:
    watch = LineWatch(0.0, mark_grace_s=1.0)
    watch.audio_queued(2.0, now_s=1.0)
    watch.audio_queued(2.0, now_s=1.5)
    assert watch.playout_end_s == 5.0
    watch.audio_queued(1.0, now_s=10.0)  # after a pause: plays from now
    assert watch.playout_end_s == 11.0


def test_stalled_means_no_sign_of_life_and_a_prompt_overdue() -> None:
    watch = LineWatch(0.0, mark_grace_s=2.0)
    assert not watch.stalled  # young: the greeting may still be playing
    watch.mark_overdue()
    assert watch.stalled
    watch.line_event(9.0)
    assert not watch.stalled
