"""Sentence templates: only whitelisted variables, checked at load, never read aloud raw."""

from __future__ import annotations

from callbot.dialplan.templates import CALL_VARIABLES, render, template_problem


def test_valid_templates() -> None:
    for text in ("Bonjour.", "Votre numéro : $caller_number.", "${call_id}x", "5 $$"):
        assert template_problem(text, CALL_VARIABLES) is None


def test_unknown_variable_named() -> None:
    problem = template_problem("Bonjour $prenom et $nom", CALL_VARIABLES)
    assert problem is not None and problem.startswith("unknown variable $nom, $prenom")


def test_format_style_and_attribute_access_are_plain_text() -> None:
    text = "{caller_number.__class__} coûte 5 €"
    assert template_problem(text, CALL_VARIABLES) is None
    assert render(text, {"caller_number": "x"}) == text


def test_invalid_placeholder() -> None:
    assert "invalid placeholder" in (template_problem("5 $ ", CALL_VARIABLES) or "")


def test_render_fills_and_blanks_missing() -> None:
    text = "Numéro $caller_number, appel ${call_id}, $$5"
    assert render(text, {"caller_number": "0612"}) == "Numéro 0612, appel , $5"
