"""The stored call is the pipeline's journal, redacted: test with a real ``CallJournal``."""

from __future__ import annotations

from callbot.audio.formats import SLIN_16K
from callbot.calls.journal import CallJournal
from callbot.media.types import CallInfo
from callbot.records.model import from_journal


def test_from_a_real_journal() -> None:
    j = CallJournal(CallInfo("call-1", "softphone", SLIN_16K, caller_number="0612345678"))
    j.dialplan, j.voice = "assurance-maladie", "espeak:fr"
    turn = j.new_turn()
    turn.caller_text = "je m'appelle Jean, né le 12/03/1985, tél 06 12 34 56 78"
    turn.intent, turn.confidence, turn.outcome = "attestation_droits", 0.8, "matched"
    turn.caller_ended_at_s, turn.first_audio_at_s, turn.asr_s = 10.0, 10.75, 0.25
    turn.bot_text = ["Votre numéro 06 12 34 56 78 est noté."]
    j.greeting_first_audio_at_s = j.started_at_s + 0.4
    j.survey_score = 5
    j.finish("transferred", "intent conseiller")

    call = from_journal(j.to_dict(), "abc")

    assert call.call_id == "call-1" and call.transport == "softphone"
    assert call.outcome == "transferred" and call.outcome_detail == "intent conseiller"
    assert call.caller_hash == "abc" and call.survey_score == 5
    assert call.answered_by_bot and not call.contained
    assert call.greeting_ms is not None and 399 <= call.greeting_ms <= 401
    [stored] = call.turns
    assert stored.latency_ms == 750.0 and stored.asr_ms == 250.0
    assert "je m'appelle" in (stored.caller_text or "")
    for secret in ("12/03/1985", "06 12 34 56 78"):
        assert secret not in (stored.caller_text or "")
        assert secret not in stored.bot_text[0]
    assert "0612345678" not in repr(call)


def test_digits_typed_into_a_slot_are_not_kept() -> None:
    """Issue 15: a NIR keyed on the phone, one digit a turn, was stored digit by digit."""
    j = CallJournal(CallInfo("call-2", "softphone", SLIN_16K, caller_number="0612345678"))
    for key, outcome in (("0", "matched"), ("1", "slot"), ("8", "slot"), ("#", "slot")):
        turn = j.new_turn()
        turn.dtmf, turn.outcome = key, outcome
    j.finish("transferred", "intent conseiller")
    call = from_journal(j.to_dict(), None)
    assert [t.dtmf for t in call.turns] == ["0", "<DTMF>", "<DTMF>", "#"]
