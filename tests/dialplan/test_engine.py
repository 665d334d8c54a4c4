"""Whole dialogs driven with strings: the engine is a pure state machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.dialplan import (
    DialogEngine,
    Dialplan,
    Ending,
    Hangup,
    Say,
    Transfer,
    TurnOutcome,
    load_dialplan,
    parse_dialplan,
)
from callbot.dialplan.states import AwaitingConfirm
from tests.dialplan.conftest import DIALPLANS, MINIMAL_YAML
from tests.dialplan.flows import OPEN, engine_at, flows

CALL = {"caller_number": "0612345678", "call_id": "call-1"}
SHIPPED = sorted(DIALPLANS.glob("*.yaml"))


def texts(actions: object) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]  # type: ignore[attr-defined]


@pytest.fixture
def engine(assurance: Dialplan) -> DialogEngine:
    engine = DialogEngine(assurance, CALL, now=OPEN)  # agents answer: transfers happen
    engine.start()
    return engine


class TestGreeting:
    def test_greeting_names_the_main_keys(self, assurance: Dialplan) -> None:
        """The whole keypad menu is said only after a key that selects nothing."""
        turn = DialogEngine(assurance, CALL).start()
        assert turn.outcome is TurnOutcome.GREETING
        assert texts(turn) == [assurance.greeting]
        assert "tapez 0 pour un conseiller" in assurance.greeting

    def test_start_twice_is_a_bug(self, engine: DialogEngine) -> None:
        with pytest.raises(RuntimeError):
            engine.start()

    def test_templates_filled_from_call_vars(self) -> None:
        text = MINIMAL_YAML.replace("Bonjour, que", "Bonjour $caller_number, ${call_id} que")
        turn = DialogEngine(parse_dialplan(text), {"caller_number": "0612"}).start()
        assert texts(turn) == ["Bonjour 0612,  que puis-je faire pour vous ?"]


class TestAnswers:
    def test_answer_then_follow_up(self, engine: DialogEngine, assurance: Dialplan) -> None:
        turn = engine.on_utterance("euh bonjour j'ai perdu ma carte vital hier")
        assert turn.outcome is TurnOutcome.MATCHED
        assert turn.intent == "carte_vitale_perdue"
        assert turn.confidence is not None and turn.confidence >= assurance.matching.high
        assert texts(turn) == [
            assurance.intent("carte_vitale_perdue").answer,
            "Puis-je vous aider pour autre chose ?",
        ]
        assert not turn.ended and not engine.ended

    def test_follow_up_bare_no_asks_the_survey_then_ends_call(self, engine: DialogEngine) -> None:
        engine.on_utterance("j'ai perdu ma carte vitale")
        turn = engine.on_utterance("non c'est tout merci")
        assert turn.outcome is TurnOutcome.FOLLOW_UP
        assert texts(turn) == ["Avant de raccrocher, notez ce service de 1 à 5 sur votre clavier."]
        assert not turn.ended
        turn = engine.on_dtmf("4")
        assert (turn.outcome, turn.survey_score) == (TurnOutcome.SURVEY, 4)
        assert turn.actions == (
            Say("Merci pour votre note.", interruptible=False),
            Say("Merci de votre appel. Au revoir et bonne journée.", interruptible=False),
            Hangup("caller done"),
        )
        assert turn.ended and engine.ended

    def test_follow_up_yes_invites(self, engine: DialogEngine) -> None:
        engine.on_utterance("j'ai perdu ma carte vitale")
        turn = engine.on_utterance("oui")
        assert texts(turn) == ["Je vous écoute."]
        assert engine.on_utterance("je voudrais changer mon RIB").intent == "changement_rib"

    def test_follow_up_with_a_new_request(self, engine: DialogEngine) -> None:
        engine.on_utterance("j'ai perdu ma carte vitale")
        assert engine.on_utterance("oui mon médecin traitant").intent == "medecin_traitant"

    def test_transfer_intent(self, engine: DialogEngine) -> None:
        turn = engine.on_utterance("je veux faire une réclamation")
        assert turn.intent == "reclamation"
        say, transfer = turn.actions
        assert isinstance(say, Say) and not say.interruptible
        assert isinstance(transfer, Transfer)
        assert transfer.queue == "reclamations"
        assert transfer.reason == "réclamation, traitement par un conseiller uniquement"
        assert transfer.summary is not None and "reclamation" in transfer.summary
        assert turn.ended

    def test_hangup_intent(self, engine: DialogEngine) -> None:
        turn = engine.on_utterance("merci au revoir")
        assert turn.intent == "au_revoir" and not turn.ended  # the survey first
        turn = engine.on_no_input()
        assert turn.actions[-1] == Hangup("intent au_revoir")
        assert turn.ended

    def test_events_after_end_are_ignored(self, engine: DialogEngine) -> None:
        engine.on_utterance("merci au revoir")
        engine.on_dtmf("5")
        for turn in (engine.on_utterance("allô ?"), engine.on_dtmf("1"), engine.on_no_input()):
            assert turn.outcome is TurnOutcome.IGNORED and turn.actions == ()
        assert engine.on_error().actions == ()


class TestEndings:
    @pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
    def test_the_goodbye_intent_says_goodbye_once(self, path: Path) -> None:
        plan = load_dialplan(path)
        engine = DialogEngine(plan, CALL)
        engine.start()
        intent = next(i for i in plan.intents if i.then == "hangup")
        turn = engine.on_utterance(intent.examples[0])
        assert turn.intent == intent.id
        said = " ".join(texts(turn)).lower()
        if not turn.ended:  # the satisfaction question
            turn = engine.on_dtmf("5")
            said += " " + " ".join(texts(turn)).lower()
        assert turn.actions[-1] == Hangup(f"intent {intent.id}")
        assert said.count("au revoir" if plan.language.startswith("fr") else "goodbye") == 1

    @pytest.mark.parametrize(
        ("answer", "said"),
        [
            ("Merci à vous, au revoir !", ["Merci à vous, au revoir !"]),
            ("C'est noté.", ["C'est noté.", "Au revoir."]),
        ],
    )
    def test_an_answer_ending_with_the_goodbye_is_not_followed_by_it(
        self, answer: str, said: list[str]
    ) -> None:
        text = MINIMAL_YAML + (
            f"  - id: fin\n    examples: [je vais raccrocher]\n"
            f"    then: hangup\n    answer: {answer}\n"
        )
        engine = DialogEngine(parse_dialplan(text))
        engine.start()
        assert texts(engine.on_utterance("je vais raccrocher")) == said

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
    def test_the_agent_key_hands_over_in_a_few_words(self, path: Path) -> None:
        """The caller joins the queue once the hand-over sentence is heard: keep it short."""
        engine = DialogEngine(load_dialplan(path), CALL, now=OPEN)
        engine.start()
        turn = engine.on_dtmf("0")
        assert isinstance(turn.actions[-1], Transfer)
        (sentence,) = texts(turn)
        assert len(sentence.split()) <= 6, sentence


class TestClarification:
    UNSURE = "je voudrais recevoir mon attestation de droits par courrier"
    """A held-out phrasing: asked about with the ``doubtful`` thresholds."""

    @pytest.fixture
    def engine(self, doubtful: Dialplan) -> DialogEngine:
        engine = DialogEngine(doubtful, CALL, now=OPEN)
        engine.start()
        return engine

    def test_unsure_match_asks(self, engine: DialogEngine, doubtful: Dialplan) -> None:
        turn = engine.on_utterance(self.UNSURE)
        assert turn.outcome is TurnOutcome.CLARIFY
        assert turn.intent == "attestation_droits"
        assert turn.confidence is not None
        assert doubtful.matching.low <= turn.confidence < doubtful.matching.high
        assert texts(turn) == ["Vous voulez parler de votre attestation de droits, c'est bien ça ?"]

    @pytest.mark.parametrize("yes", ["oui", "Ouais.", "euh exactement", "yes", "oui c'est ça"])
    def test_yes_answers(self, engine: DialogEngine, assurance: Dialplan, yes: str) -> None:
        engine.on_utterance(self.UNSURE)
        turn = engine.on_utterance(yes)
        assert turn.outcome is TurnOutcome.CONFIRMED
        assert turn.intent == "attestation_droits"
        assert texts(turn)[0] == assurance.intent("attestation_droits").answer

    @pytest.mark.parametrize("no", ["non", "pas du tout", "no", "Non."])
    def test_no_reprompts(self, engine: DialogEngine, no: str) -> None:
        engine.on_utterance(self.UNSURE)
        turn = engine.on_utterance(no)
        assert turn.outcome is TurnOutcome.NO_MATCH
        assert texts(turn) == [
            "Très bien. Pouvez-vous me redire l'objet de votre appel, en d'autres mots ?"
        ]
        assert engine.state.no_match_count == 1

    def test_no_with_the_real_request(self, engine: DialogEngine) -> None:
        engine.on_utterance(self.UNSURE)
        turn = engine.on_utterance("non, c'est pour changer mon RIB")
        assert turn.intent == "changement_rib"

    def test_silence_repeats_question(self, engine: DialogEngine) -> None:
        engine.on_utterance(self.UNSURE)
        turn = engine.on_no_input()
        assert texts(turn)[-1].startswith("Vous voulez parler de votre attestation")
        assert engine.on_utterance("oui").outcome is TurnOutcome.CONFIRMED

    def test_builtin_english_wording(self) -> None:
        text = MINIMAL_YAML.replace("fr-FR", "en-US").replace(
            "examples: [j'ai besoin d'une attestation de droits]",
            "examples: [I need a certificate of insurance rights]",
        )
        engine = DialogEngine(parse_dialplan(text + "matching: {high: 0.95, low: 0.2}\n"))
        turn = engine.on_utterance("I would like a certificate for my employer")
        assert turn.outcome is TurnOutcome.CLARIFY
        assert texts(turn) == ["Did you mean I need a certificate of insurance rights?"]


class TestMisunderstanding:
    def test_no_match_reprompts_then_transfers(self, engine: DialogEngine) -> None:
        first = engine.on_utterance("mon chat a mangé une souris")
        assert first.outcome is TurnOutcome.NO_MATCH and first.intent is None
        assert texts(first)[0].startswith("Excusez-moi, je n'ai pas compris")
        second = engine.on_utterance("quel temps fait-il")
        assert texts(second)[0].startswith("Je n'ai toujours pas compris")
        third = engine.on_utterance("des fouineurs ont mangé le système")
        assert third.ended
        transfer = third.actions[-1]
        assert isinstance(transfer, Transfer)
        assert (transfer.queue, transfer.reason) == ("conseillers", "not understood")
        assert transfer.summary is not None
        assert "last words: 'des fouineurs" in transfer.summary

    def test_answer_resets_no_match_count(self, engine: DialogEngine) -> None:
        engine.on_utterance("pizza")
        engine.on_utterance("pizza")
        engine.on_utterance("j'ai déménagé")
        assert engine.state.no_match_count == 0
        assert not engine.on_utterance("pizza").ended


class TestNoInput:
    def test_reprompts_then_goodbye_and_hangup(
        self, engine: DialogEngine, assurance: Dialplan
    ) -> None:
        prompts = assurance.no_input.prompts
        assert texts(engine.on_no_input()) == [prompts[0]]
        assert texts(engine.on_no_input()) == [prompts[1]]
        last = engine.on_no_input()
        assert last.outcome is TurnOutcome.NO_INPUT and last.ended
        assert last.actions == (
            Say("Je n'ai pas eu de réponse, je vais mettre fin à l'appel.", False),
            Say("Merci de votre appel. Au revoir et bonne journée.", False),
            Hangup("no input", Ending.NO_INPUT),
        )

    def test_speech_resets_count(self, engine: DialogEngine) -> None:
        engine.on_no_input()
        engine.on_no_input()
        engine.on_utterance("j'ai déménagé")
        assert not engine.on_no_input().ended


class TestDtmf:
    def test_digit_selects_intent(self, engine: DialogEngine) -> None:
        turn = engine.on_dtmf("2")
        assert (turn.outcome, turn.intent, turn.confidence) == (
            TurnOutcome.MATCHED,
            "carte_vitale_perdue",
            1.0,
        )

    def test_digit_zero_transfers(self, engine: DialogEngine) -> None:
        turn = engine.on_dtmf("0")
        assert isinstance(turn.actions[-1], Transfer) and turn.ended

    def test_unknown_digit_repeats_menu(self, engine: DialogEngine, assurance: Dialplan) -> None:
        turn = engine.on_dtmf("7")
        assert turn.outcome is TurnOutcome.NO_MATCH
        assert texts(turn) == ["Ce choix n'existe pas.", assurance.menu.prompt]  # type: ignore[union-attr]

    def test_not_a_digit(self, engine: DialogEngine) -> None:
        with pytest.raises(ValueError):
            engine.on_dtmf("x")


class TestErrors:
    def test_apology_then_transfer(self, engine: DialogEngine) -> None:
        engine.on_utterance("j'ai déménagé")
        turn = engine.on_error()
        assert turn.outcome is TurnOutcome.ERROR and turn.ended
        assert turn.actions[0] == Say(
            "Je suis désolée, je rencontre un problème technique. "
            "Je vous transfère vers un conseiller.",
            False,
        )
        transfer = turn.actions[1]
        assert isinstance(transfer, Transfer) and transfer.reason == "error"
        assert transfer.summary is not None and "changement_adresse" in transfer.summary

    def test_apology_then_hangup(self) -> None:
        engine = DialogEngine(parse_dialplan(MINIMAL_YAML + "on_error: hangup\n"))
        turn = engine.on_error()
        assert turn.actions == (
            Say("Désolé, un problème technique.", False),
            Say("Au revoir.", False),
            Hangup("error", Ending.ERROR),
        )


def test_turn_result_iterates_actions(engine: DialogEngine) -> None:
    turn = engine.on_dtmf("1")
    assert list(turn) == list(turn.actions)


class TestAnswered:
    """``TurnResult.answered``: the turn gave the caller the answer of its intent (the
    records count a call as contained only with such a turn)."""

    def test_a_direct_answer(self) -> None:
        turn = engine_at(OPEN).on_utterance("j'ai besoin d'une attestation de droits")
        assert turn.outcome is TurnOutcome.MATCHED and turn.answered

    def test_slot_questions_answer_nothing_until_the_last_value(self) -> None:
        engine = engine_at(OPEN)
        first = engine.on_utterance("je veux donner mon numéro de téléphone")
        assert first.outcome is TurnOutcome.MATCHED and not first.answered
        readback = engine.on_utterance("06 12 34 56 78")
        assert readback.outcome is TurnOutcome.SLOT and not readback.answered
        done = engine.on_utterance("oui")
        assert texts(done)[0] == "Nous vous rappellerons au 06 12 34 56 78."
        assert done.intent == "rappel_numero" and done.answered

    def test_a_did_you_mean_is_no_answer_its_yes_is(self) -> None:
        engine = engine_at(OPEN)
        engine.state.phase = AwaitingConfirm(engine.dialplan.intent("attestation"), 0.5)
        turn = engine.on_utterance("oui")
        assert turn.outcome is TurnOutcome.CONFIRMED and turn.answered

    def test_an_answer_that_ends_the_call_is_an_answer(self) -> None:
        assert engine_at(OPEN).on_utterance("merci au revoir").answered  # says "Merci."

    def test_a_transfer_a_goodbye_and_silence_answer_nothing(self) -> None:
        assert not engine_at(OPEN).on_utterance("je veux parler à un conseiller").answered
        bare_goodbye = flows(**{"    answer: Merci.\n": ""})
        assert not engine_at(OPEN, bare_goodbye).on_utterance("merci au revoir").answered
        assert not engine_at(OPEN).on_no_input().answered
