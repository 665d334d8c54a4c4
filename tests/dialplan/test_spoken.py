"""How long an answer takes to say, and the warning for the answers that run long."""

from __future__ import annotations

from callbot.dialplan import parse_dialplan
from callbot.dialplan.spoken import long_answer_issues, spoken_s, spoken_words
from tests.dialplan.conftest import MINIMAL_YAML

LONG = " ".join(["Votre attestation est dans votre compte ameli."] * 6)
"""42 words: about 17 s."""


def test_words_as_a_listener_counts_them() -> None:
    assert spoken_words("Rubrique « Mes démarches » : l'objet, c'est ça.") == 6
    assert spoken_words("Vous avez ${montant} le ${date}.") == 3 + 3 + 3


def test_seconds_at_two_and_a_half_words_a_second() -> None:
    assert spoken_s("un deux trois quatre cinq") == 2.0


def plan(answer: str, extra: str = "") -> str:
    return MINIMAL_YAML.replace("Votre attestation est dans votre compte.", answer) + extra


def test_a_long_answer_is_flagged_at_its_field() -> None:
    (issue,) = long_answer_issues(parse_dialplan(plan(LONG)))
    assert issue.path == ("intents", 0, "answer")
    assert issue.message == (
        "answer runs about 17 s spoken (42 words; keep it under 15 s): say the essentials "
        "and move the rest to 'details'"
    )


def test_short_answers_pass() -> None:
    assert long_answer_issues(parse_dialplan(MINIMAL_YAML)) == []
    answer = " ".join(["mot"] * 37)  # 14.8 s
    assert long_answer_issues(parse_dialplan(plan(answer))) == []


def test_with_details_too_long_still_and_a_transfer_can_only_shorten() -> None:
    (issue,) = long_answer_issues(parse_dialplan(plan(LONG, "    details: La suite.\n")))
    assert issue.message.endswith(": move more of it to 'details'")
    (issue,) = long_answer_issues(parse_dialplan(plan(LONG, "    then: transfer\n")))
    assert issue.message.endswith(": shorten it")
