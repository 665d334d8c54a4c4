"""The call journal as the source of the call record: one token, growing revisions."""

from __future__ import annotations

import pytest

from callbot.audio.formats import AudioFormat
from callbot.calls.journal import CallJournal
from callbot.dialplan import CallbackRequest, Say, TurnOutcome, TurnResult
from callbot.media.types import CallInfo
from callbot.records.outcome import Outcome


def journal(call_id: str = "c1") -> CallJournal:
    return CallJournal(CallInfo(call_id, "chan_websocket", AudioFormat.from_asterisk_name("ulaw")))


def test_each_snapshot_is_a_newer_revision_of_one_record() -> None:
    call = journal()
    first, second = call.snapshot(), call.snapshot()
    assert (first["revision"], second["revision"]) == (1, 2)
    assert first["record_token"] == second["record_token"] == call.record_token
    assert journal().record_token != call.record_token  # another call, same id: another token
    assert call.to_dict()["revision"] == 2  # reading does not bump it


def test_a_turn_is_reported_complete_when_the_next_one_begins() -> None:
    call = journal()
    completed: list[int] = []
    call.on_turn_done = lambda: completed.append(len(call.turns))
    call.new_turn().caller_text = "bonjour"
    assert completed == []  # turn 1 is going on
    call.new_turn()
    call.new_turn()
    assert completed == [1, 2]


def test_the_record_does_not_share_the_journal_lists() -> None:
    call = journal()
    record = call.snapshot()
    call.errors.append("later")
    assert record["errors"] == []


def test_a_turn_decided_keeps_the_verdict_what_was_said_and_what_the_call_gained() -> None:
    call = journal()
    turn = call.new_turn(caller_text="rappelez-moi", caller_ended_at_s=1.0, asr_s=0.2)
    result = TurnResult(
        (Say("Entendu."), CallbackRequest("0612345678", "rappels"), Say("Au revoir.")),
        TurnOutcome.CALLBACK,
        intent="rappel",
        confidence=0.87654,
        slots=(("date", "demain"),),
        survey_score=4,
    )
    call.turn_decided(turn, result)
    assert (turn.intent, turn.confidence, turn.outcome) == ("rappel", 0.877, TurnOutcome.CALLBACK)
    assert turn.bot_text == ["Entendu.", "Au revoir."] and turn.slots == ["date"]
    assert (call.callback_queue, call.survey_score) == ("rappels", 4)
    record = call.to_dict()
    assert "0612345678" not in str(record) and "demain" not in str(record)
    assert type(record["turns"][0]["outcome"]) is str  # a plain string for the stores


def test_the_cut_answer_is_the_one_whose_audio_left_last() -> None:
    call = journal()
    call.bot_audio_out(10.0)  # the greeting
    first = call.new_turn(caller_text="bonjour", caller_ended_at_s=11.0)
    call.bot_audio_out(11.5)
    call.bot_audio_out(11.7)
    second = call.new_turn(dtmf="1")  # a key opens the next turn before the cut
    call.barged_in()
    assert (first.first_audio_at_s, first.server_latency_ms, first.barged_in) == (11.5, 500, True)
    assert second.first_audio_at_s is None and not second.barged_in
    assert call.greeting_first_audio_at_s == 10.0


def test_the_first_outcome_wins_until_corrected() -> None:
    call = journal()
    call.finish(Outcome.TRANSFERRED, "intent conseiller", by="bot")
    call.finish(Outcome.HUNG_UP_BY_CALLER, "hangup", by="caller")
    assert (call.outcome, call.hung_up_by) == (Outcome.TRANSFERRED, "bot")
    call.correct(Outcome.TRANSFER_FAILED)
    record = call.snapshot()
    assert (record["outcome"], record["outcome_detail"]) == ("transfer_failed", "intent conseiller")
    assert type(record["outcome"]) is str
    with pytest.raises(ValueError):
        call.correct("abandoned")  # type: ignore[arg-type]
