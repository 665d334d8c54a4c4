"""Loading dialplan files: the starter files load, every mistake is found at its line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.dialplan import find_problems, load_dialplan, load_dialplan_dir, parse_dialplan
from callbot.errors import DialplanError
from tests.dialplan.conftest import DIALPLANS, MINIMAL_YAML, TEST_DIALPLANS


def problems_of(text: str) -> list[str]:
    dialplan, problems = find_problems(text, "t.yaml")
    assert dialplan is None
    return [str(p) for p in problems]


class TestStarterDialplans:
    def test_all_repo_dialplans_load(self) -> None:
        loaded = load_dialplan_dir(DIALPLANS)
        assert set(loaded) >= {"assurance-maladie", "helpdesk-en"}

    def test_assurance_maladie(self) -> None:
        dp = load_dialplan(DIALPLANS / "assurance-maladie.yaml")
        assert dp.language == "fr-FR"
        assert dp.voice == "fr_FR-siwis-medium"
        assert len(dp.intents) >= 12
        assert all(len(i.examples) >= 6 for i in dp.intents)
        assert dp.intent("reclamation").then == "transfer"
        assert dp.intent("reclamation").transfer is not None
        assert dp.intent("conseiller").dtmf == "0"  # written as a YAML int
        assert dp.intent("au_revoir").then == "hangup"

    def test_helpdesk(self) -> None:
        dp = load_dialplan(DIALPLANS / "helpdesk-en.yaml")
        assert dp.language == "en-US"
        assert {i.id for i in dp.intents} >= {"password_reset", "vpn", "teams", "agent"}

    def test_sounds_test_dialplan(self) -> None:
        dp = load_dialplan(TEST_DIALPLANS / "sounds-fr.yaml")
        assert dp.intent("conseiller").then == "transfer"

    def test_minimal_gets_defaults(self) -> None:
        dp = parse_dialplan(MINIMAL_YAML)
        assert dp.voice is None
        assert dp.on_error == "transfer"
        assert (dp.matching.low, dp.matching.high) == (0.30, 0.55)
        assert dp.no_match.reason == "not understood"

    def test_models_are_frozen(self) -> None:
        dp = parse_dialplan(MINIMAL_YAML)
        with pytest.raises(ValueError):
            dp.greeting = "x"


class TestSyntaxErrors:
    def test_malformed_yaml_has_position(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: [Au revoir.")
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:1")
        assert ":14:" in problem  # the flow sequence opened on line 13 is not closed

    def test_bad_indentation(self) -> None:
        text = MINIMAL_YAML + "  stray: value\n"
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:")
        assert "expected" in problem

    def test_empty_file(self) -> None:
        assert problems_of("") == ["t.yaml:1:1: empty file"]

    def test_two_documents(self) -> None:
        (problem,) = problems_of(MINIMAL_YAML + "---\nlanguage: en-US\n")
        assert problem.startswith("t.yaml:19:1:")

    def test_duplicate_key(self) -> None:
        (problem,) = problems_of(MINIMAL_YAML + "goodbye: Salut.\n")
        assert problem == "t.yaml:19:1: duplicate key 'goodbye'"

    def test_parse_raises_dialplan_error(self) -> None:
        with pytest.raises(DialplanError, match=r"^t\.yaml:1:1: empty file$"):
            parse_dialplan("", "t.yaml")

    def test_unreadable_file(self, tmp_path: Path) -> None:
        with pytest.raises(DialplanError, match="cannot read"):
            load_dialplan(tmp_path / "missing.yaml")


class TestSchemaErrors:
    def test_unknown_field_points_at_key_and_suggests(self) -> None:
        text = MINIMAL_YAML.replace("    answer: Votre", "    anwser: Votre")
        (problem,) = problems_of(text)
        assert problem == (
            "t.yaml:18:5: intents[0]: unknown field 'anwser' (did you mean 'answer'?)"
        )

    def test_unknown_top_level_field(self) -> None:
        (problem,) = problems_of(MINIMAL_YAML + "colour: blue\n")
        assert problem == "t.yaml:19:1: unknown field 'colour'"

    def test_a_field_of_another_section_says_where_it_belongs(self) -> None:
        clarify = "clarify:\n  prompt: Vous voulez ${intent_label} ?\n  on_no: Bien.\n"
        (problem,) = problems_of(MINIMAL_YAML + clarify + "  on_yes: Parfait.\n")
        assert problem == (
            "t.yaml:22:3: clarify: unknown field 'on_yes': not a field of clarify "
            "(on_no, prompt); it belongs in follow_up"
        )
        assert "did you mean 'on_yes'" not in problem

    def test_suggestions_come_from_the_fields_of_that_place(self) -> None:
        follow_up = "follow_up:\n  prompt: Autre chose ?\n  on_yess: Je vous écoute.\n"
        problems = problems_of(MINIMAL_YAML + follow_up)
        assert "t.yaml:21:3: follow_up: unknown field 'on_yess' (did you mean 'on_yes'?)" in (
            problems
        )
        slot = "    slots:\n      - {name: n, type: nir, prompt: Votre numéro, retyr: Pardon.}\n"
        (problem,) = problems_of(MINIMAL_YAML + slot)
        assert problem.endswith(
            "intents[0].slots[0]: unknown field 'retyr' (did you mean 'retry'?)"
        )

    def test_wrong_type_points_at_value(self) -> None:
        text = MINIMAL_YAML.replace("  max_count: 3", '  max_count: "3"')
        (problem,) = problems_of(text)
        assert problem == "t.yaml:9:14: no_match.max_count: expected a whole number"

    def test_yaml_boolean_is_not_a_sentence(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: yes")
        (problem,) = problems_of(text)
        assert problem == "t.yaml:13:10: goodbye: expected a text"

    def test_string_instead_of_list(self) -> None:
        text = MINIMAL_YAML.replace(
            "examples: [j'ai besoin d'une attestation de droits]",
            "examples: j'ai besoin d'une attestation",
        )
        (problem,) = problems_of(text)
        assert problem == "t.yaml:17:15: intents[0].examples: expected a list"

    def test_missing_required_field(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.\n", "")
        (problem,) = problems_of(text)
        assert problem == "t.yaml:1:1: missing field 'goodbye'"

    def test_blank_sentence(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", 'goodbye: "   "')
        (problem,) = problems_of(text)
        assert problem == "t.yaml:13:10: goodbye: must not be blank"

    def test_bad_enum_value(self) -> None:
        text = MINIMAL_YAML + "    then: explode\n"
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:19:11: intents[0].then: Input should be 'continue'")

    def test_bad_language_tag(self) -> None:
        (problem,) = problems_of(MINIMAL_YAML.replace("fr-FR", "french"))
        assert problem == "t.yaml:1:11: language: expected a language tag such as fr-FR or en-US"

    def test_all_problems_reported_in_file_order(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: 12") + "colour: blue\n"
        problems = problems_of(text)
        assert [p.split(":")[1] for p in problems] == ["13", "19"]


class TestCrossFieldRules:
    def test_unknown_template_variable(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: Au revoir $name.")
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:13:10: goodbye: unknown variable $name (allowed:")

    def test_invalid_placeholder(self) -> None:
        text = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: Cela coûte 5 $ .")
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:13:10: goodbye: invalid placeholder")

    def test_known_variable_and_escaped_dollar_are_fine(self) -> None:
        text = MINIMAL_YAML.replace(
            "goodbye: Au revoir.", "goodbye: Au revoir ${caller_number}, 5 $$."
        )
        assert parse_dialplan(text).goodbye.endswith("5 $$.")

    def test_intent_label_only_in_clarify(self) -> None:
        bad = MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: $intent_label")
        assert "unknown variable $intent_label" in problems_of(bad)[0]
        good = MINIMAL_YAML + "clarify:\n  prompt: Parlez-vous de $intent_label ?\n  on_no: Ah.\n"
        assert parse_dialplan(good).clarify is not None

    def test_answer_required_for_continue(self) -> None:
        text = MINIMAL_YAML.replace("    answer: Votre attestation est dans votre compte.\n", "")
        (problem,) = problems_of(text)
        assert problem == (
            "t.yaml:16:5: intents[0]: missing field 'answer' (required with then: continue)"
        )

    def test_transfer_and_hangup_intents_may_omit_answer(self) -> None:
        text = MINIMAL_YAML + (
            "  - id: agent\n    examples: [un conseiller]\n    then: transfer\n"
            "  - id: bye\n    examples: [au revoir]\n    then: hangup\n"
        )
        assert [i.answer for i in parse_dialplan(text).intents[1:]] == [None, None]

    def test_transfer_needs_then_transfer(self) -> None:
        text = MINIMAL_YAML + "    transfer: {queue: x}\n"
        (problem,) = problems_of(text)
        assert problem == "t.yaml:19:15: intents[0].transfer: 'transfer' needs 'then: transfer'"

    def test_duplicate_id_and_digit(self) -> None:
        text = MINIMAL_YAML.replace("    answer: Votre", "    dtmf: 1\n    answer: Votre") + (
            "  - id: attestation\n    dtmf: '1'\n    examples: [carte vitale]\n    answer: Oui.\n"
        )
        assert problems_of(text) == [
            "t.yaml:20:9: intents[1].id: duplicate intent id 'attestation'",
            "t.yaml:21:11: intents[1].dtmf: digit 1 is already 'attestation'",
        ]

    def test_bad_digit(self) -> None:
        text = MINIMAL_YAML + "    dtmf: 12\n"
        (problem,) = problems_of(text)
        assert problem == "t.yaml:19:11: intents[0].dtmf: expected one keypad key: 0-9, *, #, A-D"

    def test_example_of_filler_words_only(self) -> None:
        text = MINIMAL_YAML.replace("de droits]", "de droits, euh oui bonjour]")
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:17:57:")
        assert "intents[0].examples[1]: example has no meaningful word" in problem

    def test_same_example_in_two_intents(self) -> None:
        text = MINIMAL_YAML + (
            "  - id: other\n    examples: [besoin d'attestation de droits]\n    answer: Non.\n"
        )
        (problem,) = problems_of(text)
        assert problem.startswith("t.yaml:20:16: intents[1].examples[0]: example says the same")

    def test_thresholds_in_order(self) -> None:
        text = MINIMAL_YAML + "matching:\n  high: 0.4\n  low: 0.6\n"
        (problem,) = problems_of(text)
        assert problem == "t.yaml:21:8: matching.low: low must not be above high"

    def test_language_without_builtin_clarify(self) -> None:
        text = MINIMAL_YAML.replace("fr-FR", "de-DE")
        (problem,) = problems_of(text)
        assert "add a 'clarify' section" in problem
