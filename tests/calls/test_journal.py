"""The call journal as the source of the call record: one token, growing revisions."""

from __future__ import annotations

from callbot.audio.formats import AudioFormat
from callbot.calls.journal import CallJournal
from callbot.media.types import CallInfo


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
