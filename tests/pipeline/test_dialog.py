"""DialogProcessor alone: turns, back-office look-ups and the call journal."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import InputDTMFFrame, InterruptionFrame
from pipecat.tests.utils import SleepFrame, run_test

from callbot.audio.formats import ULAW_8K
from callbot.calls.journal import CallJournal
from callbot.dialplan import DialogEngine, Transfer
from callbot.dialplan.actions import Fetch, HookResult
from callbot.logs import log_filters
from callbot.media.types import CallInfo
from callbot.pipeline.dialog import DialogProcessor
from callbot.pipeline.frames import BotSpeechFrame, CallActionFrame, CallerTextFrame
from tests.dialplan.flows import OPEN, flows

INFO = CallInfo(call_id="c1", transport="chan_websocket", media_format=ULAW_8K)
IDENTIFIED = ["où en est mon remboursement", "1 85 05 78 006 084 91", "oui", "le 3 mars 1985"]


class BackOffice:
    def __init__(self, result: HookResult | None = None, delay_s: float = 0.0) -> None:
        self.result, self.delay_s = result, delay_s
        self.asked: list[Fetch] = []

    async def fetch(self, action: Fetch, call_id: str = "-") -> HookResult:
        self.asked.append(action)
        await asyncio.sleep(self.delay_s)
        return self.result or HookResult(action.hook, "timeout", detail="timeout")


async def say(backoffice: BackOffice | None) -> tuple[list[str], CallJournal]:
    journal = CallJournal(INFO)
    dialog = DialogProcessor(
        DialogEngine(flows(), now=OPEN), journal, no_input_timeout_s=0, backoffice=backoffice
    )
    frames = [CallerTextFrame(text=t) for t in IDENTIFIED] + [SleepFrame(0.3)]
    down, _ = await run_test(dialog, frames_to_send=frames)
    return [f.text for f in down if isinstance(f, BotSpeechFrame)], journal


async def test_a_back_office_answer_is_said_with_its_fields() -> None:
    data = {"statut": "payé", "paiement": {"montant": "32 euros", "date": "3 mars"}}
    backoffice = BackOffice(HookResult("remboursement", "ok", data=data), delay_s=0.05)
    said, journal = await say(backoffice)
    assert backoffice.asked and backoffice.asked[0].url.endswith("/185057800608491")
    assert said[-2] == "Je consulte votre dossier."
    assert "32 euros" in said[-1] and "payé" in said[-1]
    assert journal.turns[-1].hook_status == "ok" and journal.turns[-1].answered
    # Slot names are recorded, never their values (a NIR is health data).
    captured = [name for turn in journal.turns for name in turn.slots]
    assert "nir" in captured and "185057800608491" not in str(journal.to_dict())


async def test_a_reply_missing_its_fields_is_recorded_as_the_engine_saw_it() -> None:
    """A 2xx reply without the hook's declared fields: the caller hears the fallback, and
    the record says ``malformed`` (not the transport's ``ok``) and no answer given."""
    backoffice = BackOffice(HookResult("remboursement", "ok", data={"statut": "payé"}))
    said, journal = await say(backoffice)
    assert said[-2] == "Je ne peux pas consulter votre dossier pour le moment."
    last = journal.turns[-1]
    assert (last.hook_status, last.answered) == ("malformed", False)
    assert journal.to_dict()["turns"][-1]["hook_status"] == "malformed"


async def test_a_silent_back_office_gets_the_fallback_sentence() -> None:
    said, journal = await say(BackOffice(None))
    assert said[-2:] == [
        "Je ne peux pas consulter votre dossier pour le moment.",
        "Je vous passe un conseiller.",
    ]
    assert journal.turns[-1].hook_status == "timeout"


async def test_without_a_back_office_the_caller_still_hears_the_fallback() -> None:
    said, _ = await say(None)
    assert said[-2:] == [
        "Je ne peux pas consulter votre dossier pour le moment.",
        "Je vous passe un conseiller.",
    ]


async def keys(*digits: str) -> list[object]:
    """What the dialog sends down when the caller presses ``digits`` during the greeting."""
    dialog = DialogProcessor(
        DialogEngine(flows(), now=OPEN), CallJournal(INFO), no_input_timeout_s=0
    )
    pressed = [InputDTMFFrame(button=KeypadEntry(d)) for d in digits]
    down, _ = await run_test(dialog, frames_to_send=[*pressed, SleepFrame(0.1)])
    return [f for f in down if isinstance(f, BotSpeechFrame | InterruptionFrame | CallActionFrame)]


async def test_a_key_stops_the_prompt_before_its_answer_is_said() -> None:
    greeting, interruption, answer = await keys("4")
    assert isinstance(greeting, BotSpeechFrame) and greeting.text == flows().greeting
    assert isinstance(interruption, InterruptionFrame)
    assert isinstance(answer, BotSpeechFrame) and answer.turn == 1


async def test_keys_do_not_cut_the_last_words_once_the_call_is_ending() -> None:
    frames = await keys("0", "4")
    kinds = [type(f) for f in frames]
    # The 0 interrupts the greeting and decides the transfer; the 4 changes nothing.
    assert kinds == [BotSpeechFrame, InterruptionFrame, BotSpeechFrame, CallActionFrame]
    assert isinstance(frames[-1], CallActionFrame) and isinstance(frames[-1].action, Transfer)


async def test_each_caller_turn_is_one_line_with_what_was_heard_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for log_filter in log_filters():  # those of every callbot handler: redaction too
        caplog.handler.addFilter(log_filter)
    journal = CallJournal(INFO)
    dialog = DialogProcessor(
        DialogEngine(flows(), now=OPEN), journal, no_input_timeout_s=0, backoffice=None
    )
    asked = CallerTextFrame(text=IDENTIFIED[0], asr_s=0.4, speech_s=1.6, queued_s=0.1, early=True)
    with caplog.at_level(logging.INFO, logger="callbot.pipeline"):
        await run_test(dialog, frames_to_send=[asked, CallerTextFrame(text=IDENTIFIED[1])])
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("callbot.pipeline")]
    decided = [
        f"{t.outcome} intent={t.intent} confidence="
        + ("-" if t.confidence is None else f"{t.confidence:.2f}")
        for t in journal.turns
    ]
    assert lines == [
        "turn 1: heard 'où en est mon remboursement' (1.6 s of speech, recognised in 0.30 s, "
        f"queued 0.10 s, early): {decided[0]}",
        f"turn 2: heard '<NIR>' (0.0 s of speech, recognised in 0.00 s, queued 0.00 s): "
        f"{decided[1]}",
    ]
