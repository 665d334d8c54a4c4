"""A short answer, then "Voulez-vous plus de détails ?": yes says the rest, anything else
goes on as after any answer, and a new request is heard as one."""

from __future__ import annotations

import pytest

from callbot.dialplan import DialogEngine, Dialplan, HookResult, Transfer, TurnOutcome
from callbot.dialplan import parse_dialplan as parse
from callbot.dialplan.states import AwaitingFollowUp, Idle, OfferingDetails
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.flows import OPEN, engine_at, flows, texts
from tests.dialplan.test_hooks import identified

WITHOUT_FOLLOW_UP = (
    MINIMAL_YAML
    + """\
    dtmf: 3
  - id: paternite
    examples: [le congé de paternité, combien de jours de congé pour le papa]
    answer: Le congé de paternité dure vingt-cinq jours.
    details: Quatre jours sont à prendre juste après la naissance.
  - id: conseiller
    examples: [je veux parler à un conseiller]
    dtmf: 0
    then: transfer
  - id: au_revoir
    examples: [merci au revoir]
    then: hangup
"""
)
DETAILS_YAML = WITHOUT_FOLLOW_UP + (
    "follow_up:\n  prompt: Puis-je vous aider pour autre chose ?\n  on_yes: Je vous écoute.\n"
)
SHORT = "Le congé de paternité dure vingt-cinq jours."
QUESTION = "Voulez-vous plus de détails ?"
DETAILS = "Quatre jours sont à prendre juste après la naissance."
FOLLOW_UP = "Puis-je vous aider pour autre chose ?"


def offered(dialplan: Dialplan | None = None) -> DialogEngine:
    """A call that has just heard the short answer and the question."""
    engine = DialogEngine(dialplan or parse(DETAILS_YAML), {"call_id": "details-1"}, now=OPEN)
    engine.start()
    turn = engine.on_utterance("le congé de paternité")
    assert texts(turn) == [SHORT, QUESTION]
    return engine


class TestTheOffer:
    def test_the_short_answer_answers_and_asks(self) -> None:
        engine = DialogEngine(parse(DETAILS_YAML), {"call_id": "details-1"}, now=OPEN)
        engine.start()
        turn = engine.on_utterance("combien de jours de congé pour le papa")
        assert (turn.outcome, turn.intent, turn.answered) == (
            TurnOutcome.MATCHED,
            "paternite",
            True,
        )
        assert texts(turn) == [SHORT, QUESTION]
        assert engine.state.phase == OfferingDetails(
            parse(DETAILS_YAML).intent("paternite"), DETAILS
        )

    def test_an_intent_without_details_goes_straight_on(self) -> None:
        engine = DialogEngine(parse(DETAILS_YAML), {"call_id": "details-1"}, now=OPEN)
        engine.start()
        turn = engine.on_utterance("j'ai besoin d'une attestation de droits")
        assert texts(turn) == ["Votre attestation est dans votre compte.", FOLLOW_UP]
        assert engine.state.phase == AwaitingFollowUp()

    def test_the_dialplan_words_its_own_question(self) -> None:
        own = DETAILS_YAML + "more_details:\n  prompt: Je vous en dis plus ? Tapez 1.\n"
        assert texts(offered_turn(own)) == [SHORT, "Je vous en dis plus ? Tapez 1."]

    def test_english_has_its_question_built_in(self) -> None:
        english = (
            DETAILS_YAML.replace("language: fr-FR", "language: en-US")
            .replace("le congé de paternité,", "paternity leave,")
            .replace("Le congé de paternité dure", "Paternity leave lasts")
        )
        engine = DialogEngine(parse(english), {"call_id": "details-1"}, now=OPEN)
        engine.start()
        turn = engine.on_utterance("paternity leave")
        assert texts(turn)[-1] == "Would you like more details?"
        assert texts(engine.on_utterance("yes please"))[0] == DETAILS


def offered_turn(text: str) -> object:
    engine = DialogEngine(parse(text), {"call_id": "details-1"}, now=OPEN)
    engine.start()
    return engine.on_utterance("le congé de paternité")


class TestYes:
    @pytest.mark.parametrize("reply", ["oui", "oui s'il vous plaît", "euh je veux bien", "allez-y"])
    def test_yes_says_the_details_then_goes_on(self, reply: str) -> None:
        engine = offered()
        turn = engine.on_utterance(reply)
        assert texts(turn) == [DETAILS, FOLLOW_UP]
        assert (turn.outcome, turn.intent) == (TurnOutcome.DETAILS, "paternite")
        assert engine.state.phase == AwaitingFollowUp()

    def test_the_details_turn_is_not_a_second_answer(self) -> None:
        """The short answer's turn answered the question; KPIs count the intent once."""
        assert not offered().on_utterance("oui").answered

    def test_key_1_is_yes(self) -> None:
        assert texts(offered().on_dtmf("1")) == [DETAILS, FOLLOW_UP]

    def test_asking_the_same_again_is_a_yes(self) -> None:
        turn = offered().on_utterance("et le congé de paternité alors")
        assert texts(turn) == [DETAILS, FOLLOW_UP]

    def test_without_a_follow_up_question_the_bot_listens(self) -> None:
        engine = offered(parse(WITHOUT_FOLLOW_UP))
        assert texts(engine.on_utterance("oui")) == [DETAILS]
        assert engine.state.phase == Idle()


class TestNo:
    @pytest.mark.parametrize("reply", ["non", "non merci", "non ça ira", "bof"])
    def test_no_or_nothing_asked_goes_on(self, reply: str) -> None:
        engine = offered()
        turn = engine.on_utterance(reply)
        assert texts(turn) == [FOLLOW_UP]
        assert (turn.outcome, turn.intent) == (TurnOutcome.DETAILS, "paternite")
        assert engine.state.no_match_count == 0  # not a misunderstanding
        assert engine.state.phase == AwaitingFollowUp()

    def test_key_2_is_no(self) -> None:
        assert texts(offered().on_dtmf("2")) == [FOLLOW_UP]

    def test_a_key_that_selects_nothing_goes_on(self) -> None:
        assert texts(offered().on_dtmf("9")) == [FOLLOW_UP]

    def test_a_silence_is_a_no_and_no_silence_in_a_row(self) -> None:
        engine = offered()
        turn = engine.on_no_input()
        assert texts(turn) == [FOLLOW_UP]
        assert turn.outcome is TurnOutcome.NO_INPUT and not turn.ended
        assert engine.state.no_input_count == 0

    def test_then_the_follow_up_question_works_as_ever(self) -> None:
        engine = offered()
        engine.on_utterance("non")
        assert engine.on_utterance("oui").outcome is TurnOutcome.FOLLOW_UP


class TestAnotherRequest:
    def test_words_of_another_intent_are_that_intent(self) -> None:
        turn = offered().on_utterance("il me faut une attestation de droits")
        assert (turn.outcome, turn.intent) == (TurnOutcome.MATCHED, "attestation")
        assert texts(turn)[0] == "Votre attestation est dans votre compte."

    def test_no_then_another_request(self) -> None:
        turn = offered().on_utterance("non, il me faut une attestation de droits")
        assert turn.intent == "attestation"

    def test_yes_then_another_request(self) -> None:
        turn = offered().on_utterance("oui mais je veux parler à un conseiller")
        transfer = turn.actions[-1]
        assert isinstance(transfer, Transfer) and transfer.queue == "agents"

    def test_goodbye_ends_the_call(self) -> None:
        turn = offered().on_utterance("merci au revoir")
        assert turn.intent == "au_revoir" and turn.ended

    def test_a_menu_key_selects_its_intent(self) -> None:
        turn = offered().on_dtmf("3")
        assert (turn.outcome, turn.intent) == (TurnOutcome.MATCHED, "attestation")

    def test_key_0_hands_over(self) -> None:
        turn = offered().on_dtmf("0")
        assert turn.ended and isinstance(turn.actions[-1], Transfer)


def test_a_back_office_answer_has_its_details_filled() -> None:
    """Details may use what the answer may: the slots and the hook's fields."""
    plan = flows(
        **{
            "    answer: Votre remboursement de ${montant} est ${statut} depuis le ${date}.\n": (
                "    answer: Votre remboursement de ${montant} est ${statut}.\n"
                "    details: Depuis le ${date}, pour le numéro ${nir}.\n"
            )
        }
    )
    engine = engine_at(OPEN, plan)
    fetch = identified(engine)
    reply = {"paiement": {"montant": "12.50", "date": "3 mars"}, "statut": "payé"}
    turn = engine.on_hook_result(HookResult(fetch.hook, "ok", reply))
    assert texts(turn) == ["Votre remboursement de 12.50 est payé.", QUESTION]
    assert turn.answered and turn.hook_status == "ok"
    said = texts(engine.on_utterance("oui"))
    assert said[0] == "Depuis le 3 mars, pour le numéro 1 85 05 78 006 084, clé 91."
