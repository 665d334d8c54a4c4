"""``callbot dialplan check``: shipped files are clean; each kind of mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.dialplan.tooling.lint import lint_file
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.tooling.conftest import SHIPPED

LABELLED = MINIMAL_YAML.replace(
    "    answer: Votre", "    label: votre attestation de droits\n    answer: Votre"
)
"""The minimal dialplan with a label: "dialplan check" warns about an intent without one."""

TWO_INTENTS = (
    LABELLED
    + """\
  - id: carte
    examples: [j'ai perdu ma carte vitale]
    label: la perte de votre carte Vitale
    answer: Déclarez la perte.
"""
)


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


LONG_ANSWERS_LEFT = frozenset({"helpdesk-en", "helpdesk-fr"})
"""Shipped dialplans with answers still over 15 s spoken, until their owners move the rest
to ``details`` (the health-insurance line has none)."""


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_dialplans_are_clean(path: Path) -> None:
    findings = lint_file(path)
    if path.stem in LONG_ANSWERS_LEFT:
        findings = [f for f in findings if not f.message.startswith("answer runs about")]
    assert [str(f) for f in findings] == []


def test_shipped_dialplans_have_test_sets() -> None:
    for path in SHIPPED:
        assert (path.parent / "testsets" / path.name).is_file(), path


def test_schema_error_has_position(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL_YAML.replace("goodbye:", "goodbye_typo:"))
    messages = [str(f) for f in lint_file(path)]
    assert any(m.startswith(f"{path}:") and "goodbye_typo" in m for m in messages), messages
    assert all(f.severity == "error" for f in lint_file(path))


def test_undefined_template_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL_YAML.replace("Au revoir.", "Au revoir $prenom."))
    (finding,) = lint_file(path)
    assert "$prenom" in finding.message
    assert (finding.line, finding.column) == (13, 10)


def test_menu_announces_a_missing_digit(tmp_path: Path) -> None:
    text = TWO_INTENTS.replace(
        "intents:\n",
        "menu:\n  prompt: Pour une attestation, tapez 1. Pour un conseiller, tapez 0.\n"
        "  invalid: Non.\nintents:\n",
    ).replace("  - id: attestation\n", "  - id: attestation\n    dtmf: 1\n")
    text = text.replace("  - id: carte\n", "  - id: carte\n    dtmf: 2\n")
    findings = lint_file(write(tmp_path, text))
    messages = {(f.severity, f.message) for f in findings}
    assert ("error", "menu announces key 0 but no intent has it") in messages
    assert ("warning", "key 2 is never announced by menu.prompt") in messages


def test_near_duplicate_examples_across_intents(tmp_path: Path) -> None:
    text = TWO_INTENTS + (
        "  - id: carte_bis\n    examples: [on a perdu la carte vital]\n"
        "    label: une autre perte\n    answer: Autre chose.\n"
    )
    findings = lint_file(write(tmp_path, text))
    assert len(findings) == 1
    assert findings[0].severity == "warning"
    assert "intent 'carte'" in findings[0].message


def test_test_set_copies_and_unknown_intents(tmp_path: Path) -> None:
    plan = write(tmp_path, TWO_INTENTS)
    (tmp_path / "testsets").mkdir()
    write(
        tmp_path,
        "intents:\n"
        "  carte:\n"
        "    - euh bonjour j'ai perdu ma carte vitale\n"  # copies an example
        "    - on m'a piqué mon portefeuille\n"
        "  inconnu:\n"
        "    - bla\n",
        "testsets/plan.yaml",
    )
    findings = [str(f) for f in lint_file(plan)]
    testset = tmp_path / "testsets" / "plan.yaml"
    assert any(
        f.startswith(f"{testset}:3:7: held-out phrasing copies an example") for f in findings
    )
    assert any(f.startswith(f"{testset}:6:7: unknown intent 'inconnu'") for f in findings)
    assert any("'attestation' has 0 held-out phrasings" in f for f in findings)


def test_invalid_test_set_is_reported(tmp_path: Path) -> None:
    plan = write(tmp_path, TWO_INTENTS)
    testset = write(tmp_path, "intents:\n  carte: 3\n", "held.yaml")
    (finding,) = lint_file(plan, testset)
    assert (finding.source, finding.line, finding.column) == (str(testset), 2, 10)


def test_unreadable_file(tmp_path: Path) -> None:
    (finding,) = lint_file(tmp_path / "absent.yaml")
    assert "cannot read dialplan" in finding.message


def test_english_in_a_french_dialplan_is_a_warning_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL_YAML.replace("Au revoir.", "Thank you for calling, goodbye."))
    (finding,) = [f for f in lint_file(path) if "English" in f.message]
    assert finding.severity == "warning"
    assert str(finding) == (
        f"{path}:13:10: warning: reads as English (thank, you, for, goodbye) in a fr-FR "
        "dialplan: translate it"
    )


def test_label_that_is_not_a_noun_phrase(tmp_path: Path) -> None:
    text = LABELLED.replace("label: votre attestation de droits", "label: parler d'attestation")
    (finding,) = lint_file(write(tmp_path, text))
    assert finding.severity == "warning"
    assert (finding.line, finding.column) == (18, 12)
    assert "'de parler d'attestation'" in finding.message


def test_missing_label(tmp_path: Path) -> None:
    (finding,) = lint_file(write(tmp_path, MINIMAL_YAML))
    assert finding.severity == "warning" and finding.message.startswith("no label")
    assert (finding.line, finding.column) == (16, 9)


def test_bad_contraction_in_a_rendered_sentence(tmp_path: Path) -> None:
    text = LABELLED.replace("Au revoir.", "Merci de le rappel de ${caller_number}.")
    (finding,) = lint_file(write(tmp_path, text))
    assert (finding.line, finding.column, finding.severity) == (13, 10, "warning")
    assert finding.message == "'de le' is said 'du' (unless 'le' is a pronoun)"


def test_test_set_copying_a_negative_example(tmp_path: Path) -> None:
    plan = write(
        tmp_path,
        TWO_INTENTS.replace(
            "    label: la perte",
            "    negative_examples: [ma carte vitale ne marche plus]\n    label: la perte",
        ),
    )
    testset = write(tmp_path, "intents:\n  carte: [la carte vitale ne marche plus]\n", "held.yaml")
    findings = [f for f in lint_file(plan, testset) if f.severity == "error"]
    assert [f.message for f in findings] == [
        "held-out phrasing copies an example of 'carte' (line 22): write another one"
    ]


def test_a_long_answer_is_a_warning_until_the_rest_goes_to_details(tmp_path: Path) -> None:
    long = " ".join(["Votre attestation est dans votre compte ameli."] * 6)
    text = LABELLED.replace("answer: Votre attestation est dans votre compte.", f"answer: {long}")
    (finding,) = lint_file(write(tmp_path, text))
    assert (finding.line, finding.column, finding.severity) == (19, 13, "warning")
    assert finding.message.startswith("answer runs about 17 s spoken (42 words")
    short = LABELLED + "    details: " + long + "\n"
    assert lint_file(write(tmp_path, short)) == []
