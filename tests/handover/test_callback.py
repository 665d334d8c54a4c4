"""A callback request as the agents' work item: built from the call's journal with the
summary a transfer would give, and announced to consoles as one event shape."""

from __future__ import annotations

import pytest

from callbot.dialplan import CallbackRequest, Say, TurnOutcome, TurnResult
from callbot.handover.callback import build_callback, callback_event
from tests.handover.test_build import NIR_SAID, journal


def asked(preferred_time: str | None = "demain matin") -> CallbackRequest:
    return CallbackRequest(
        "0698765432",
        "rappels",
        reason="demande un conseiller",
        intent="conseiller",
        language="fr-FR",
        preferred_time=preferred_time,
    )


def test_the_work_item_has_what_the_agent_needs_to_call_back() -> None:
    labels = {"carte_vitale": "la carte Vitale", "conseiller": "parler à un conseiller"}
    callback = build_callback(journal(), asked(), intent_labels=labels, now_unix=5.0)
    assert (callback.call_id, callback.created_at, callback.queue) == ("call-1", 5.0, "rappels")
    assert (callback.number, callback.preferred_time) == ("0698765432", "demain matin")
    assert (callback.intent, callback.language, callback.status) == ("conseiller", "fr-FR", "open")
    assert callback.summary.startswith(
        "Appel au sujet de : la carte Vitale puis parler à un conseiller; identité vérifiée (NIR)"
    )
    assert "demande un conseiller" in callback.reason
    assert NIR_SAID not in callback.summary and len(callback.callback_id) == 32
    assert build_callback(journal(), asked()).callback_id != callback.callback_id


def test_the_journal_keeps_the_request_out_of_the_record() -> None:
    call = journal()
    request = asked(None)
    call.turn_decided(call.new_turn(), TurnResult((Say("Entendu."), request), TurnOutcome.CALLBACK))
    assert call.callback == request and call.callback_queue == "rappels"
    assert "0698765432" not in str(call.to_dict())


def test_events() -> None:
    callback = build_callback(journal(), asked())
    event = callback_event("claimed", callback)
    assert (event["type"], event["event"]) == ("callback", "claimed")
    assert event["callback"]["number"] == "0698765432" and "number_hash" not in event["callback"]
    with pytest.raises(ValueError):
        callback_event("lost", callback)
