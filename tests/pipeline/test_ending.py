"""CallEnding alone: the outcome each way a call ends leaves, and the polite end."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.audio.formats import ULAW_8K
from callbot.calls.journal import CallJournal
from callbot.dialplan import Action, Ending, Hangup, Say, Transfer
from callbot.dialplan.store import DialplanStore
from callbot.media.types import CallEnded, CallInfo
from callbot.pipeline.control import CallControl, CallHandover, NoCallControl
from callbot.pipeline.ending import (
    CAPACITY_REASON,
    SHUTDOWN_REASON,
    Apology,
    CallEnding,
    refuse_call,
)
from callbot.pipeline.watchdog import LineWatch
from callbot.records.outcome import Outcome
from tests.pipeline.doubles import Control, LineRecorder

INFO = CallInfo(call_id="c1", transport="chan_websocket", media_format=ULAW_8K)
DIALPLAN = Path(__file__).parent / "dialplans" / "call-fr.yaml"


def ending(
    control: CallControl, *, language: str = "fr-FR", alive: bool = True
) -> tuple[CallEnding, LineRecorder, CallJournal]:
    journal, line = CallJournal(INFO), LineRecorder()
    watch = LineWatch(0.0, mark_grace_s=1.0)
    if alive:
        watch.line_event(0.5)
    handover = CallHandover(control, journal, language=language)
    return CallEnding(journal, handover, line, watch), line, journal


def apology(said: list[str], *actions: Action) -> Apology:
    async def say(text: str) -> None:
        said.append(text)

    return Apology(lambda: actions, say, grace_s=2.0)


SORRY = (Say("Désolé, un problème technique."), Transfer("conseillers", "error"))


async def test_a_failure_hands_the_caller_over_after_the_apology() -> None:
    control, said = Control(True), []
    end, line, journal = ending(control)
    end.fail("boom")
    assert end.finished.is_set()
    await end.close(apology(said, *SORRY))
    assert said == ["Désolé, un problème technique."] and line.calls == ["flush"]
    assert journal.outcome is Outcome.TRANSFERRED and journal.outcome_detail == "failure: boom"
    assert journal.transfer_queue == "conseillers" and journal.errors == ["boom"]
    [(transfer, context)] = control.handed
    assert transfer.reason == "error"
    assert context is not None and context.queue == "conseillers" and context.call_id == "c1"


async def test_a_failure_without_call_control_hangs_up() -> None:
    said: list[str] = []
    end, line, journal = ending(NoCallControl())
    end.fail("boom")
    await end.close(apology(said, *SORRY))
    assert line.calls == ["flush", "hangup"]
    assert (journal.outcome, journal.hung_up_by) == (Outcome.FAILED, "bot")


async def test_at_shutdown_the_transfer_says_why_in_the_dialplan_language() -> None:
    control, said = Control(True), []
    end, _, journal = ending(control, language="en-GB")
    end.shut_down()
    await end.close(apology(said, *SORRY))
    assert journal.outcome is Outcome.TRANSFERRED_ON_SHUTDOWN
    assert control.handed[0][0].reason == SHUTDOWN_REASON["en"]


async def test_the_line_ended_by_a_protocol_error() -> None:
    end, line, journal = ending(Control(True))
    end.line_ended(CallEnded("protocol error: close 1009 by bot", "bot", protocol_error=True))
    await end.close(apology([], *SORRY))
    assert line.calls == []  # nobody left to apologise to
    assert (journal.outcome, journal.hung_up_by) == (Outcome.PROTOCOL_ERROR, "bot")
    assert journal.outcome_detail == "protocol error: close 1009 by bot"


async def test_the_caller_hanging_up_after_the_bot_did_changes_nothing() -> None:
    end, line, journal = ending(Control(True))
    await end.carry_out(Hangup("goodbye"))
    end.line_ended(CallEnded("hangup", "caller"))
    await end.close(apology([], *SORRY))
    assert line.calls == ["hangup"] and end.finished.is_set()
    assert (journal.outcome, journal.outcome_detail) == (Outcome.ANSWERED, "goodbye")


@pytest.mark.parametrize(
    ("ending_", "outcome"),
    [
        (Ending.RESOLVED, Outcome.ANSWERED),
        (Ending.NO_INPUT, Outcome.NO_INPUT),
        (Ending.CALLBACK, Outcome.CALLBACK_REQUESTED),
        (Ending.CLOSED, Outcome.OUT_OF_HOURS),
        (Ending.UNRESOLVED, Outcome.UNRESOLVED),
        (Ending.ERROR, Outcome.FAILED),
    ],
)
async def test_the_outcome_of_a_bot_hang_up_says_why(ending_: Ending, outcome: Outcome) -> None:
    """Three silences are no resolved call: each ending of the dialog has its outcome."""
    end, line, journal = ending(Control(True))
    await end.carry_out(Hangup("why", ending_))
    await end.close(apology([], *SORRY))
    assert line.calls == ["hangup"]
    assert (journal.outcome, journal.outcome_detail, journal.hung_up_by) == (outcome, "why", "bot")


async def test_a_bot_hang_up_on_a_line_that_never_sent_anything_is_a_media_timeout() -> None:
    end, _, journal = ending(Control(True), alive=False)
    await end.carry_out(Hangup("no input", Ending.NO_INPUT))
    await end.close(apology([], *SORRY))
    assert journal.outcome is Outcome.MEDIA_TIMEOUT
    assert journal.outcome_detail == "nothing ever came from the line"


async def test_no_media_ends_the_call_politely_as_a_media_timeout() -> None:
    said: list[str] = []
    end, line, journal = ending(NoCallControl())
    end.no_media("no media from the line for 20 s")
    await end.close(apology(said, Say("Désolé."), Hangup("error")))
    assert said == ["Désolé."] and line.calls == ["flush", "hangup"]
    assert journal.outcome is Outcome.MEDIA_TIMEOUT
    assert journal.outcome_detail == "no media from the line for 20 s"


@pytest.mark.parametrize(
    ("control", "stopping", "outcome", "line_calls"),
    [
        (Control(True), False, Outcome.CAPACITY, []),
        (NoCallControl(), False, Outcome.CAPACITY, ["hangup"]),
        (Control(True), True, Outcome.TRANSFERRED_ON_SHUTDOWN, []),
        (NoCallControl(), True, Outcome.ENDED_ON_SHUTDOWN, ["hangup"]),
    ],
)
async def test_a_refused_call(
    control: CallControl, stopping: bool, outcome: Outcome, line_calls: list[str]
) -> None:
    line = LineRecorder()
    store = DialplanStore.load(DIALPLAN)
    journal = await refuse_call(INFO, line, dialplans=store, control=control, stopping=stopping)
    assert journal.outcome is outcome and journal.hung_up_by == "bot"
    assert line.calls == line_calls
    handed = line_calls == []
    assert journal.transfer_queue == ("conseillers" if handed else None)
    if isinstance(control, Control) and not stopping:
        assert control.handed[0][0].reason == CAPACITY_REASON["fr"]
