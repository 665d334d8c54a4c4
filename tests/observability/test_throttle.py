"""ThrottledWarning: one line per case, one WARNING a minute at most (clock injected)."""

from __future__ import annotations

import logging

import pytest

from callbot.observability.throttle import ThrottledWarning

LOGGER = logging.getLogger("tests.throttle")


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_flood_writes_one_warning_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    tally = ThrottledWarning(LOGGER, "connection(s) closed early", clock=clock)
    with caplog.at_level(logging.INFO, logger="tests.throttle"):
        for n in range(3300):  # what a probe produced in a minute
            clock.now_s = 100.0 + n * 59.0 / 3300
            tally.note("connection %d closed early", n)
        assert warnings(caplog) == ["1 connection(s) closed early (each logged at INFO)"]
        clock.now_s = 161.0
        tally.note("connection %d closed early", 3300)
    last = "3300 connection(s) closed early in the last 61 s (each logged at INFO)"
    assert warnings(caplog)[1] == last
    assert len(warnings(caplog)) == 2
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 3301 and infos[-1].getMessage() == "connection 3300 closed early"
    assert tally.total == 3301 and tally.pending == 0


def test_case_level_can_be_debug(caplog: pytest.LogCaptureFixture) -> None:
    tally = ThrottledWarning(LOGGER, "half-open request(s)", level=logging.DEBUG, clock=Clock())
    with caplog.at_level(logging.DEBUG, logger="tests.throttle"):
        tally.note("request from %s closed", "127.0.0.1:5")
        tally.note("request from %s closed", "127.0.0.1:6")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.WARNING, logging.DEBUG]


def test_a_case_about_a_call_names_it_and_the_count_names_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tally = ThrottledWarning(LOGGER, "connection(s) closed early", clock=Clock())
    with caplog.at_level(logging.INFO, logger="tests.throttle"):
        tally.note("closed before MEDIA_START", call_id="c-1")
    case, count = caplog.records
    assert (case.call_id, case.getMessage()) == ("c-1", "closed before MEDIA_START")  # type: ignore[attr-defined]
    assert getattr(count, "call_id", None) is None
