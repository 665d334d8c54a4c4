"""The end-of-call satisfaction question."""

from __future__ import annotations

import pytest

from callbot.dialplan import DialogEngine, Hangup, Transfer, TurnOutcome, parse_dialplan
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.flows import OPEN, engine_at, texts


def ask(engine: DialogEngine) -> None:
    turn = engine.on_utterance("merci au revoir")
    assert texts(turn) == ["Merci.", "Notez ce service de 1 à 5 sur votre clavier."]
    assert not turn.ended


def test_keypad_score() -> None:
    engine = engine_at(OPEN)
    ask(engine)
    turn = engine.on_dtmf("4")
    assert turn.outcome is TurnOutcome.SURVEY and turn.survey_score == 4 and turn.ended
    assert texts(turn) == ["Merci pour votre note.", "Au revoir."]
    assert turn.actions[-1] == Hangup("intent au_revoir")


@pytest.mark.parametrize(("said", "score"), [("cinq", 5), ("je mets 3", 3), ("bof", None)])
def test_spoken_score(said: str, score: int | None) -> None:
    engine = engine_at(OPEN)
    ask(engine)
    assert engine.on_utterance(said).survey_score == score


@pytest.mark.parametrize("digit", ["0", "6", "#"])
def test_out_of_scale(digit: str) -> None:
    engine = engine_at(OPEN)
    ask(engine)
    turn = engine.on_dtmf(digit)
    assert turn.survey_score is None and texts(turn) == ["Au revoir."] and turn.ended


def test_silence_ends_without_score() -> None:
    engine = engine_at(OPEN)
    ask(engine)
    turn = engine.on_no_input()
    assert turn.ended and turn.survey_score is None


def test_not_asked_before_a_transfer() -> None:
    turn = engine_at(OPEN).on_dtmf("0")
    assert isinstance(turn.actions[-1], Transfer)
    assert "Notez" not in " ".join(texts(turn))


def test_an_answer_that_said_goodbye_is_not_followed_by_another() -> None:
    text = MINIMAL_YAML.replace(
        "goodbye: Au revoir.",
        "goodbye: Merci de votre appel. Au revoir.\n"
        "survey:\n  prompt: Notez-nous de 1 à 5.\n  thanks: Merci pour votre note.",
    ) + (
        "  - id: fin\n    examples: [au revoir]\n    answer: Très bien, au revoir.\n"
        "    then: hangup\n"
    )
    for last in ("4", None):
        engine = DialogEngine(parse_dialplan(text))
        engine.start()
        asked = engine.on_utterance("au revoir")
        assert texts(asked) == ["Très bien, au revoir.", "Notez-nous de 1 à 5."]
        turn = engine.on_dtmf(last) if last else engine.on_no_input()
        assert turn.ended
        assert texts(turn) == (["Merci pour votre note."] if last else [])
