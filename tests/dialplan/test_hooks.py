"""Back-office hooks in the engine: identity first, then Fetch, then answer or fallback."""

from __future__ import annotations

import pytest

from callbot.dialplan import DialogEngine, Dialplan, Fetch, HookResult, Say, Transfer, TurnOutcome
from callbot.dialplan.hooks import build_fetch, reply_fields
from callbot.dialplan.validators import SlotValue
from tests.dialplan.flows import NIR, OPEN, engine_at, flows, texts

REPLY = {"statut": "payé", "paiement": {"montant": 32.5, "date": "2025-03-03"}}


def identified(engine: DialogEngine) -> Fetch:
    """Say the request, give and confirm the NIR, give the birth date: the Fetch."""
    engine.on_utterance("où en est mon remboursement")
    engine.on_utterance("1 85 05 78 006 084 91")
    engine.on_utterance("oui")
    turn = engine.on_utterance("le 12 juin 1985")
    assert turn.actions[0] == Say("Je consulte votre dossier.")
    fetch = turn.actions[-1]
    assert isinstance(fetch, Fetch)
    return fetch


def test_fetch_only_after_identity() -> None:
    engine = engine_at(OPEN)
    first = engine.on_utterance("où en est mon remboursement")
    assert texts(first) == ["Votre numéro de sécurité sociale ?"]
    assert not any(isinstance(a, Fetch) for a in first.actions)
    fetch = identified(engine)
    assert fetch == Fetch(
        "remboursement",
        "GET",
        f"http://127.0.0.1:9/remboursements/{NIR}",
        (("naissance", "1985-06-12"),),
        2.0,
    )


def test_answer_from_reply() -> None:
    engine = engine_at(OPEN)
    identified(engine)
    turn = engine.on_hook_result(HookResult("remboursement", "ok", REPLY))
    assert turn.outcome is TurnOutcome.HOOK and turn.intent == "suivi_remboursement"
    assert texts(turn) == ["Votre remboursement de 32,50 est payé depuis le 3 mars 2025."]
    assert not turn.ended


def test_events_while_waiting_say_nothing() -> None:
    engine = engine_at(OPEN)
    identified(engine)
    assert engine.on_utterance("allô ?").actions == ()
    assert engine.on_no_input().actions == ()
    assert engine.on_hook_result(HookResult("other", "ok", REPLY)).outcome is TurnOutcome.IGNORED


@pytest.mark.parametrize(
    "result",
    [
        HookResult("remboursement", "timeout"),
        HookResult("remboursement", "error", detail="HTTP 500"),
        HookResult("remboursement", "malformed"),
        HookResult("remboursement", "ok", {"statut": "payé"}),  # fields missing
        HookResult("remboursement", "ok", {"statut": {"x": 1}, "paiement": REPLY["paiement"]}),
    ],
)
def test_fallback_then_transfer(result: HookResult) -> None:
    engine = engine_at(OPEN)
    identified(engine)
    turn = engine.on_hook_result(result)
    assert texts(turn)[0] == "Je ne peux pas consulter votre dossier pour le moment."
    transfer = turn.actions[-1]
    assert isinstance(transfer, Transfer) and turn.ended
    assert transfer.reason.startswith("hook remboursement ")
    assert ("nir", NIR) in transfer.slots


def test_not_found_sentence() -> None:
    engine = engine_at(OPEN)
    identified(engine)
    turn = engine.on_hook_result(HookResult("remboursement", "not_found"))
    assert texts(turn)[0] == "Je ne trouve pas de dossier à ce nom."


def test_fallback_then_continue() -> None:
    plan = flows(**{"    not_found: Je": "    on_failure: continue\n    not_found: Je"})
    engine = engine_at(OPEN, plan)
    identified(engine)
    turn = engine.on_hook_result(HookResult("remboursement", "timeout"))
    assert texts(turn) == ["Je ne peux pas consulter votre dossier pour le moment."]
    assert not turn.ended


def test_build_fetch_post_sends_json_members() -> None:
    hook = flows().hook("remboursement").model_copy(update={"method": "POST"})
    values = {"nir": SlotValue(NIR, ""), "naissance": SlotValue("1985-06-12", "")}
    fetch = build_fetch(hook, values)
    assert fetch.params == (("nir", NIR), ("naissance", "1985-06-12"))


def test_url_values_are_encoded() -> None:
    hook = flows().hook("remboursement")
    values = {"nir": SlotValue("2A/../x y", ""), "naissance": SlotValue("d", "")}
    assert build_fetch(hook, values).url.endswith("/remboursements/2A%2F..%2Fx%20y")


def test_reply_fields_are_sayable() -> None:
    hook = flows().hook("remboursement")
    assert reply_fields(hook, REPLY, "fr-FR") == {
        "montant": "32,50",
        "statut": "payé",
        "date": "3 mars 2025",
    }
    assert reply_fields(hook, {**REPLY, "paiement": None}, "fr-FR") is None


class TestAmounts:
    """``amounts: [montant]``: the sum is said in euros, not as a bare number."""

    def plan(self, language: str = "fr-FR") -> Dialplan:
        return flows(
            **{
                "    fields: {montant:": "    amounts: [montant]\n    fields: {montant:",
                "language: fr-FR": f"language: {language}",
            }
        )

    def test_answer_says_euros(self) -> None:
        engine = engine_at(OPEN, self.plan())
        identified(engine)
        turn = engine.on_hook_result(HookResult("remboursement", "ok", REPLY))
        assert texts(turn) == ["Votre remboursement de 32 euros 50 est payé depuis le 3 mars 2025."]

    @pytest.mark.parametrize(
        ("montant", "french", "english"),
        [
            (12.5, "12 euros 50", "12.50 euros"),
            (12, "12 euros", "12 euros"),
            ("12.50", "12 euros 50", "12.50 euros"),
            (1, "1 euro", "1 euro"),
            (0.5, "50 centimes", "50 cents"),
            (1234.05, "1234 euros 05", "1234.05 euros"),
        ],
    )
    def test_sayable(self, montant: object, french: str, english: str) -> None:
        reply = {**REPLY, "paiement": {"montant": montant, "date": "2025-03-03"}}
        hook = self.plan().hook("remboursement")
        assert (reply_fields(hook, reply, "fr-FR") or {})["montant"] == french
        assert (reply_fields(hook, reply, "en-US") or {})["montant"] == english

    @pytest.mark.parametrize("montant", ["douze", True, -3, "NaN"])
    def test_an_amount_that_is_no_sum_is_malformed(self, montant: object) -> None:
        reply = {**REPLY, "paiement": {"montant": montant, "date": "2025-03-03"}}
        assert reply_fields(self.plan().hook("remboursement"), reply, "fr-FR") is None

    def test_other_numbers_keep_the_decimal_comma(self) -> None:
        assert reply_fields(flows().hook("remboursement"), REPLY, "fr-FR") == {
            "montant": "32,50",
            "statut": "payé",
            "date": "3 mars 2025",
        }


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (HookResult("remboursement", "ok", REPLY), "ok"),
        (HookResult("remboursement", "ok", {"statut": "payé"}), "malformed"),  # fields missing
        (HookResult("remboursement", "timeout"), "timeout"),
        (HookResult("remboursement", "not_found"), "not_found"),
    ],
)
def test_the_turn_says_the_status_the_engine_acted_on(result: HookResult, status: str) -> None:
    """A 2xx reply missing a declared field gets the fallback: its turn says ``malformed``
    (the call record keeps it), not the transport's ``ok``; only real fields answer."""
    plan = flows(**{"    not_found: Je": "    on_failure: continue\n    not_found: Je"})
    engine = engine_at(OPEN, plan)
    identified(engine)
    turn = engine.on_hook_result(result)
    assert turn.hook_status == status
    assert turn.answered is (status == "ok")
