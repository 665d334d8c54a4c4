"""The hand-over context from a call journal: redaction, intents, identity, timing."""

from __future__ import annotations

from callbot.audio.formats import AudioFormat, Codec
from callbot.calls.journal import CallJournal
from callbot.dialplan import Transfer, TurnOutcome
from callbot.handover.build import build_context
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo

NIR_SAID = "1 85 05 78 006 084 36"
INFO = CallInfo("call-1", "chan_websocket", AudioFormat(Codec.SLIN, 16000), "0612345678")


def journal() -> CallJournal:
    j = CallJournal(INFO, started_at_s=100.0)
    t1 = j.new_turn()
    t1.caller_text, t1.intent = "je voudrais ma carte vitale", "carte_vitale"
    t1.bot_text = ["Quel est votre numéro de sécurité sociale ?"]
    t2 = j.new_turn()
    t2.caller_text, t2.slots = f"c'est le {NIR_SAID}", ["nir"]
    t2.bot_text = [f"J'ai noté {NIR_SAID}."]
    t3 = j.new_turn()
    t3.caller_text, t3.intent = "je veux parler à quelqu'un", "conseiller"
    return j


def test_context_from_journal_is_redacted_and_complete() -> None:
    transfer = Transfer("accueil", "demande un conseiller", slots=(("nir", "185057800608436"),))
    labels = {"carte_vitale": "la carte Vitale", "conseiller": "parler à un conseiller"}
    ctx = build_context(
        journal(), transfer, INFO, intent_labels=labels, now_unix=5.0, now_monotonic=142.5
    )
    assert ctx.intents == ("carte_vitale", "conseiller")
    assert ctx.identity_checked and ctx.bot_time_s == 42.5 and ctx.created_at == 5.0
    assert ctx.slots == (("nir", "185057800608436"),)  # as the engine gives them
    assert ctx.caller_number == "0612345678" and ctx.language == "fr-FR"
    texts = [t.text for t in ctx.turns]
    assert "c'est le <NIR>" in texts and "J'ai noté <NIR>." in texts
    assert all(NIR_SAID not in t for t in texts) and NIR_SAID not in ctx.summary
    assert ctx.summary == (
        "Appel au sujet de : la carte Vitale puis parler à un conseiller; identité vérifiée "
        "(NIR); la personne demande « je veux parler à quelqu'un ». "
        "Transfert : demande un conseiller."
    )
    assert [t.speaker for t in ctx.turns] == ["caller", "bot", "caller", "bot", "caller"]
    assert len(ctx.context_id) == 32


def test_context_without_journal_and_english_transfer() -> None:
    transfer = Transfer("helpdesk", "no match twice", skill="billing", language="en-US")
    ctx = build_context(None, transfer, INFO)
    assert ctx.turns == () and ctx.intents == () and not ctx.identity_checked
    assert ctx.skill == "billing" and ctx.language == "en-US"
    assert ctx.summary == (
        "Call with no clear topic; identity not checked. Transferred: no match twice."
    )


def test_json_round_trip() -> None:
    ctx = build_context(journal(), Transfer("accueil", "x", slots=(("nir", "1"),)), INFO)
    ctx = ctx.with_status("answered", 9.0)
    again = HandoverContext.from_json(ctx.to_json())
    assert again == ctx and again.status == "answered" and again.status_at == 9.0


def test_engine_reasons_are_worded_in_the_callers_language() -> None:
    """Issue 15: "Transfert : not understood." The agent read the engine's English code."""
    french = build_context(journal(), Transfer("accueil", "not understood"), INFO)
    assert french.summary.endswith("Transfert : demande non comprise.")
    assert french.reason == "demande non comprise" and french.reason_code == "not understood"
    assert "not understood" not in french.summary
    english = build_context(None, Transfer("helpdesk", "slot nir no input"), INFO, language="en")
    assert english.summary.endswith("Transferred: social security number: no answer.")
    labels = {"carte_vitale": "la carte Vitale"}
    spoken = build_context(
        None, Transfer("accueil", "intent carte_vitale"), INFO, intent_labels=labels
    )
    assert spoken.reason == "demande : la carte Vitale"


def test_digits_typed_into_a_slot_stay_out_of_the_turns() -> None:
    """A NIR keyed one digit a turn would outlive the context's expiry in its turns."""
    j = CallJournal(INFO, started_at_s=100.0)
    for key, outcome in (("0", TurnOutcome.MATCHED), ("1", TurnOutcome.SLOT), ("#", None)):
        turn = j.new_turn()
        turn.dtmf, turn.outcome = key, outcome
    ctx = build_context(j, Transfer("accueil", "x"), INFO)
    assert [t.text for t in ctx.turns] == ["[DTMF 0]", "[DTMF]", "[DTMF #]"]
