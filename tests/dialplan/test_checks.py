"""Cross-field rules of the new sections, each reported at file:line:column."""

from __future__ import annotations

import pytest

from callbot.dialplan import find_problems
from callbot.dialplan.checks import untranslated_issues
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.flows import FLOWS_YAML, flows


def problems_of(text: str) -> list[str]:
    dialplan, problems = find_problems(text, "f.yaml")
    assert dialplan is None
    return [str(p) for p in problems]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_full_featured_dialplan_loads() -> None:
    plan = flows()
    assert plan.intent("suivi_remboursement").slots[0].type == "nir"
    assert plan.hook("remboursement").fields[0] == ("montant", "paiement.montant")
    assert plan.hours is not None and plan.hours.closed_dates == ("2025-12-24",)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "answer: Nous vous rappellerons au ${telephone}.",
            "answer: Nous vous rappellerons au ${telefone}.",
            "answer: Nous vous rappellerons",
            "unknown variable $telefone",
        ),
        (
            "        prompt: Quel est votre numéro de téléphone ?",
            "        prompt: Quel est votre numéro, ${telephone} ?",
            "Quel est votre numéro, ",
            "unknown variable $telephone",
        ),
        ("        type: phone", "        type: colour", "type: colour", "slots[0].type"),
        (
            "        confirm: true\n    answer",
            "        confirmer: true\n    answer",
            "confirmer",
            "unknown field 'confirmer'",
        ),
        (
            "    hook: remboursement",
            "    hook: remboursemnt",
            "hook: remboursemnt",
            "unknown hook 'remboursemnt'",
        ),
        (
            "    send: [nir, naissance]",
            "    send: [nir, ville]",
            "hook: remboursement",
            "needs slot 'ville'",
        ),
        ("remboursements/${nir}", "remboursements/${nom}", "url:", "unknown variable $nom"),
        ("statut: statut,", "value: statut,", "value: statut", "field name 'value' is taken"),
        ('  monday: ["08:30-17:30"]', '  monday: ["18:30-17:30"]', "18:30-17:30", "must end after"),
        ('  monday: ["08:30-17:30"]', '  monday: ["8h30-17h30"]', "8h30", "hours.monday[0]"),
        (
            "  closed_dates: [2025-12-24]",
            "  closed_dates: [2025-02-30]",
            "2025-02-30",
            "not a date",
        ),
        ("  friday:", "  timezone: Europe/Pariss\n  friday:", "Europe/Pariss", "unknown time zone"),
        ("  friday:", "  subdivision: ZZ\n  friday:", "subdivision: ZZ", "unknown subdivision"),
        (
            "    then: callback\n",
            "    then: hangup\n",
            "      offer: Souhaitez",
            "needs 'then: callback'",
        ),
        (
            "{skill: indemnites, reason",
            "{skill: indemnite, reason",
            "skill: indemnite,",
            "no route",
        ),
        (
            "    - {language: en-US, queue: agents-en}",
            "    - {queue: agents-en}",
            "{queue: agents-en}",
            "needs a 'skill' or a 'language'",
        ),
        (
            "        when: past\n        prompt: Quelle",
            "        when: past\n        min_digits: 2\n        prompt: Quelle",
            "min_digits: 2",
            "'min_digits' is for slots of type digits",
        ),
        (
            "      - name: montant",
            "      - name: date_soins",
            "- name: date_soins\n        type: amount",
            "duplicate slot",
        ),
        ("  - name: telephone", "  - name: intent_label", "name: intent_label", "reserved"),
        ("    timeout_s: 2\n", "    timeout_s: 0\n", "timeout_s: 0", "timeout_s"),
        (
            "    fields: {montant:",
            "    amounts: [somme]\n    fields: {montant:",
            "amounts: [somme]",
            "'somme' is not one of 'fields'",
        ),
        (
            "    then: callback\n",
            "    holiday: Fermé pour ${fete}.\n    then: callback\n",
            "holiday: Fermé",
            "unknown variable $fete",
        ),
    ],
)
def test_problem_at_its_line(old: str, new: str, needle: str, message: str) -> None:
    assert old in FLOWS_YAML, old
    text = FLOWS_YAML.replace(old, new, 1)
    found = problems_of(text)
    assert any(message in p for p in found), found
    line = line_of(text, needle)
    assert any(p.startswith(f"f.yaml:{line}:") and message in p for p in found), (line, found)


def test_hook_intent_needs_answer() -> None:
    text = FLOWS_YAML.replace(
        "    answer: Votre remboursement de ${montant} est ${statut} depuis le ${date}.\n", ""
    )
    assert any("needs 'then: continue' and an 'answer'" in p for p in problems_of(text))


def test_callback_section_required() -> None:
    start = FLOWS_YAML.index("    callback:\n")
    end = FLOWS_YAML.index("survey:")
    found = problems_of(FLOWS_YAML[:start] + FLOWS_YAML[end:])
    assert any("'then: callback' needs a 'callback' section" in p for p in found)


def test_hook_fields_only_in_hook_intents() -> None:
    text = FLOWS_YAML.replace(
        "answer: Soins du ${date_soins}", "answer: ${statut} Soins du ${date_soins}"
    )
    assert any("unknown variable $statut" in p for p in problems_of(text))


def test_fields_must_be_a_mapping() -> None:
    text = FLOWS_YAML.replace(
        "fields: {montant: paiement.montant, statut: statut, date: paiement.date}",
        "fields: {montant: 'paiement..montant', statut: statut, date: paiement.date}",
    )
    assert problems_of(text)


def test_out_of_hours_without_built_in_wording() -> None:
    text = FLOWS_YAML.replace("language: fr-FR", "language: de-DE").replace(
        "    message: Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.\n",
        "    weekend: Wochenende.\n",
    )
    found = problems_of(text)
    line = line_of(text, "weekend: Wochenende")  # the first line of the section
    assert (
        f"f.yaml:{line}:5: hours.out_of_hours: no built-in sentence in this language for "
        "holiday, closed_day, outside_hours: add 'message' or each of them"
    ) in found, found


def test_english_left_in_a_french_dialplan_is_flagged() -> None:
    """Issue 15: "Transfert : not understood." English texts in a fr-FR dialplan."""
    text = (
        FLOWS_YAML.replace("goodbye: Au revoir.", "goodbye: Thank you for your call, goodbye.")
        .replace("reason: indemnités journalières}", "reason: caller wants an agent}")
        .replace("  max_count: 3\n", "  max_count: 3\n  reason: not understood by the bot\n")
        .replace("wait: Je consulte votre dossier.", "wait: Please hold while I check ${nir}.")
    )
    plan = flows(**{FLOWS_YAML: text})
    found = {issue.path: issue.message for issue in untranslated_issues(plan)}
    assert set(found) == {
        ("goodbye",),
        ("intents", 4, "transfer", "reason"),
        ("no_match", "reason"),
        ("hooks", 0, "wait"),
    }, found
    assert found[("goodbye",)] == (
        "reads as English (thank, you, for, your) in a fr-FR dialplan: translate it"
    )


def test_french_texts_and_english_dialplans_are_left_alone() -> None:
    assert untranslated_issues(flows()) == []
    quoting = FLOWS_YAML.replace(
        "goodbye: Au revoir.",
        "goodbye: Pour Windows Hello for Business, consultez le site de votre entreprise.",
    )
    assert untranslated_issues(flows(**{FLOWS_YAML: quoting})) == []
    english = FLOWS_YAML.replace("language: fr-FR", "language: en-US").replace(
        "goodbye: Au revoir.", "goodbye: Thank you for your call, goodbye."
    )
    assert untranslated_issues(flows(**{FLOWS_YAML: english})) == []


SOINS_ANSWER = "    answer: Soins du ${date_soins} pour ${montant}, c'est noté.\n"


def test_details_follow_an_answer_of_a_continuing_intent() -> None:
    details = "    details: Le remboursement suit dans le mois.\n"
    text = FLOWS_YAML.replace(SOINS_ANSWER, details)
    line = line_of(text, details.strip())
    assert f"f.yaml:{line}:14: intents[2].details: 'details' needs an 'answer' to follow" in (
        problems_of(text)
    )
    goodbye = FLOWS_YAML.replace(
        "    then: hangup\n    answer: Merci.\n",
        "    then: hangup\n    answer: Merci.\n    details: Bonne journée.\n",
    )
    line = line_of(goodbye, "details: Bonne journée.")
    assert f"f.yaml:{line}:14: intents[6].details: 'details' needs 'then: continue'" in (
        problems_of(goodbye)
    )


def test_details_may_use_what_the_answer_may() -> None:
    ok = FLOWS_YAML.replace(SOINS_ANSWER, SOINS_ANSWER + "    details: Le ${date_soins}.\n")
    assert flows(**{FLOWS_YAML: ok}).intent("date_soins").details == "Le ${date_soins}."
    wrong = FLOWS_YAML.replace(SOINS_ANSWER, SOINS_ANSWER + "    details: Le ${statut}.\n")
    assert any("intents[2].details: unknown variable $statut" in p for p in problems_of(wrong))


def test_details_in_a_language_without_the_question() -> None:
    german = (
        MINIMAL_YAML.replace("language: fr-FR", "language: de-DE")
        + "    details: Mehr dazu.\n"
        + "clarify: {prompt: 'Meinen Sie ${intent_label}?', on_no: Bitte anders sagen.}\n"
    )
    assert any("add a 'more_details' section" in p for p in problems_of(german))
    asked = german + "more_details: {prompt: 'Möchten Sie mehr wissen?'}\n"
    assert find_problems(asked)[1] == []


def test_english_details_and_question_in_a_french_dialplan_are_flagged() -> None:
    text = FLOWS_YAML.replace(
        SOINS_ANSWER, SOINS_ANSWER + "    details: You will be paid within the month.\n"
    ) + ("more_details:\n  prompt: Would you like more details?\n")
    found = {issue.path for issue in untranslated_issues(flows(**{FLOWS_YAML: text}))}
    assert found == {("intents", 2, "details"), ("more_details", "prompt")}
