"""What the engine waits for, one phase at a time: every event goes to the current phase.

These are the cases where two waits used to compete (a key during "did you mean...?",
a silence during slot questions...): each phase now decides alone.
"""

from __future__ import annotations

from typing import get_args

import pytest

from callbot.dialplan import DialogEngine, Dialplan, HookResult, Transfer, TurnOutcome
from callbot.dialplan.engine import HANDLERS
from callbot.dialplan.states import (
    AwaitingCallback,
    AwaitingConfirm,
    AwaitingFollowUp,
    AwaitingHook,
    Ended,
    FillingSlots,
    Idle,
    InSurvey,
    Phase,
)
from tests.dialplan.flows import NIGHT, OPEN, engine_at, texts
from tests.dialplan.test_hooks import identified

UNSURE = "je voudrais recevoir mon attestation de droits par courrier"
"""Matches ``attestation_droits`` of the shipped health-insurance dialplan, unsure with
the ``doubtful`` thresholds."""
LOST_CARD = "j'ai perdu ma carte vitale"
FOLLOW_UP = "Puis-je vous aider pour autre chose ?"


@pytest.fixture
def engine(assurance: Dialplan) -> DialogEngine:
    engine = DialogEngine(assurance, {"call_id": "states-1"}, now=OPEN)
    engine.start()
    return engine


def test_every_phase_but_ended_has_one_handler() -> None:
    assert set(HANDLERS) == set(get_args(Phase)) - {Ended}


def test_a_call_starts_idle(engine: DialogEngine) -> None:
    assert engine.state.phase == Idle()


class TestAwaitingConfirm:
    @pytest.fixture
    def engine(self, doubtful: Dialplan) -> DialogEngine:
        engine = DialogEngine(doubtful, {"call_id": "states-1"}, now=OPEN)
        engine.start()
        return engine

    def test_a_key_drops_the_question_and_selects(self, engine: DialogEngine) -> None:
        engine.on_utterance(UNSURE)
        assert isinstance(engine.state.phase, AwaitingConfirm)
        turn = engine.on_dtmf("2")
        assert (turn.outcome, turn.intent) == (TurnOutcome.MATCHED, "carte_vitale_perdue")
        assert engine.state.phase == AwaitingFollowUp()

    def test_an_unknown_key_drops_the_question(
        self, engine: DialogEngine, assurance: Dialplan
    ) -> None:
        engine.on_utterance(UNSURE)
        turn = engine.on_dtmf("7")
        assert turn.outcome is TurnOutcome.NO_MATCH
        assert texts(turn) == ["Ce choix n'existe pas.", assurance.menu.prompt]  # type: ignore[union-attr]
        assert engine.state.phase == Idle()
        assert engine.on_utterance("oui").outcome is not TurnOutcome.CONFIRMED

    def test_silences_repeat_the_question_then_end_the_call(self, engine: DialogEngine) -> None:
        engine.on_utterance(UNSURE)
        for _ in range(2):
            turn = engine.on_no_input()
            assert turn.outcome is TurnOutcome.NO_INPUT
            assert texts(turn)[-1].startswith("Vous voulez parler de votre attestation")
        assert engine.on_no_input().ended and engine.state.phase == Ended()


class TestAwaitingFollowUp:
    def test_a_key_is_a_menu_choice_not_a_yes(self, engine: DialogEngine) -> None:
        engine.on_utterance(LOST_CARD)
        turn = engine.on_dtmf("1")
        assert (turn.outcome, turn.intent) == (TurnOutcome.MATCHED, "attestation_droits")

    def test_silence_repeats_the_question(self, engine: DialogEngine, assurance: Dialplan) -> None:
        engine.on_utterance(LOST_CARD)
        turn = engine.on_no_input()
        assert texts(turn) == [assurance.no_input.prompts[0], FOLLOW_UP]
        assert engine.state.phase == AwaitingFollowUp()
        engine.on_utterance("non")
        assert engine.state.phase == InSurvey("caller done")


class TestFillingSlots:
    def test_silence_is_the_slot_s_not_the_call_s(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance("je veux déclarer une date de soins")
        assert isinstance(engine.state.phase, FillingSlots)
        turn = engine.on_no_input()
        assert turn.outcome is TurnOutcome.SLOT and not turn.ended
        assert engine.state.no_input_count == 0
        assert isinstance(engine.state.phase, FillingSlots)

    def test_a_key_answers_the_slot_not_the_menu(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance("je veux donner mon numéro de téléphone")
        turn = engine.on_dtmf("0")  # the menu key of "conseiller": buffered here
        assert (turn.outcome, turn.actions) == (TurnOutcome.SLOT, ())
        assert isinstance(engine.state.phase, FillingSlots)


class TestAwaitingHook:
    @staticmethod
    def waiting() -> DialogEngine:
        engine = engine_at(OPEN)
        identified(engine)
        assert isinstance(engine.state.phase, AwaitingHook)
        return engine

    def test_words_keys_and_silence_wait_for_the_reply(self) -> None:
        engine = self.waiting()
        turns = engine.state.turns
        for turn in (engine.on_utterance("allô ?"), engine.on_dtmf("0"), engine.on_no_input()):
            assert (turn.outcome, turn.actions, turn.ended) == (TurnOutcome.HOOK, (), False)
        assert engine.state.turns == turns + 2
        assert isinstance(engine.state.phase, AwaitingHook)

    def test_the_reply_moves_on(self) -> None:
        engine = self.waiting()
        turn = engine.on_hook_result(HookResult("remboursement", "timeout"))
        assert isinstance(turn.actions[-1], Transfer) and engine.state.phase == Ended()


def test_a_reply_nobody_waits_for_is_ignored(engine: DialogEngine) -> None:
    turn = engine.on_hook_result(HookResult("remboursement", "ok", {}))
    assert (turn.outcome, turn.ended) == (TurnOutcome.IGNORED, False)
    assert engine.state.phase == Idle()


class TestAwaitingCallback:
    def test_silence_repeats_the_offer(self) -> None:
        engine = engine_at(NIGHT)
        engine.on_dtmf("0")
        assert engine.state.phase == AwaitingCallback()
        turn = engine.on_no_input()
        assert texts(turn) == ["Je ne vous entends pas.", "Souhaitez-vous être rappelé ?"]
        assert engine.state.phase == AwaitingCallback()

    def test_yes_asks_the_callback_number(self) -> None:
        engine = engine_at(NIGHT)
        engine.on_dtmf("0")
        engine.on_utterance("oui")
        phase = engine.state.phase
        assert isinstance(phase, FillingSlots) and phase.intent is None


def test_the_survey_hears_a_request_as_no_score() -> None:
    engine = engine_at(OPEN)
    engine.on_utterance("merci au revoir")
    assert engine.state.phase == InSurvey("intent au_revoir")
    turn = engine.on_utterance("mon attestation de droits")
    assert (turn.outcome, turn.intent, turn.survey_score) == (TurnOutcome.SURVEY, None, None)
    assert turn.ended


def test_after_the_end_a_late_reply_is_ignored(engine: DialogEngine) -> None:
    engine.on_utterance("merci au revoir")
    engine.on_dtmf("5")  # the survey's score
    turn = engine.on_hook_result(HookResult("remboursement", "ok", {}))
    assert (turn.outcome, turn.ended) == (TurnOutcome.IGNORED, True)
