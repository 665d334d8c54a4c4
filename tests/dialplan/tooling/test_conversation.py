"""``callbot dialplan test``: the shipped conversation tests pass; failures say where."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from callbot.dialplan.tooling.conversation import run_test_file
from callbot.errors import DialplanError
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.flows import FLOWS_YAML
from tests.dialplan.tooling.conftest import DIALPLANS, SHIPPED

TEST_FILES = sorted((DIALPLANS / "tests").glob("*.yaml"))


def test_every_shipped_dialplan_has_conversation_tests() -> None:
    assert {p.name for p in TEST_FILES} == {p.name for p in SHIPPED}


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.stem)
def test_shipped_conversations_pass(path: Path) -> None:
    results = run_test_file(path)
    assert results
    assert [f for r in results for f in r.failures] == []


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    (tmp_path / "plan.yaml").write_text(MINIMAL_YAML, encoding="utf-8")
    return tmp_path


def write_tests(directory: Path, body: str) -> Path:
    path = directory / "plan-tests.yaml"
    path.write_text("dialplan: plan.yaml\ntests:\n" + body, encoding="utf-8")
    return path


def test_passing_and_failing_expectations(plan_dir: Path) -> None:
    path = write_tests(
        plan_dir,
        """\
  - name: ok
    turns:
      - say: il me faut une attestation de droits
        intent: attestation
        outcome: matched
        says: VOTRE ATTESTATION
  - name: wrong
    turns:
      - say: il me faut une attestation de droits
        intent: autre
        says: introuvable
        transfer: agents
        hangup: true
""",
    )
    ok, wrong = run_test_file(path)
    assert ok.passed and not wrong.passed
    assert len(wrong.failures) == 4
    assert all(f.startswith(f"{path}:11:9: 'wrong', turn 1 (say ") for f in wrong.failures)
    assert "expected intent autre, got attestation (0." in wrong.failures[0]


def test_dtmf_silence_error_and_greeting(plan_dir: Path) -> None:
    path = write_tests(
        plan_dir,
        """\
  - name: events
    vars: {caller_number: 0612}
    greeting: {says: que puis-je faire, ended: false}
    turns:
      - dtmf: 5
        outcome: no_match
      - silence: true
        outcome: no_input
        says: je ne vous entends pas
      - error: true
        says: désolé
        transfer: agents
        ended: true
""",
    )
    (result,) = run_test_file(path)
    assert result.failures == ()


def test_a_turn_needs_one_event(plan_dir: Path) -> None:
    path = write_tests(plan_dir, "  - name: x\n    turns:\n      - intent: attestation\n")
    with pytest.raises(
        DialplanError,
        match=r"plan-tests.yaml:5:9: tests.0.turns.0: Value error, each turn needs exactly one",
    ):
        run_test_file(path)


def test_unknown_field_is_refused(plan_dir: Path) -> None:
    path = write_tests(plan_dir, "  - name: x\n    turns:\n      - say: a\n        intnet: b\n")
    with pytest.raises(DialplanError, match=r"unknown field"):
        run_test_file(path)


def test_invalid_dialplan_is_an_error(plan_dir: Path) -> None:
    (plan_dir / "plan.yaml").write_text("language: fr-FR\n", encoding="utf-8")
    path = write_tests(plan_dir, "  - name: x\n    turns:\n      - say: a\n")
    with pytest.raises(DialplanError, match=r"plan.yaml:1:1: missing field"):
        run_test_file(path)


CLOCK_TESTS = """\
dialplan: plan.yaml
{file_now}tests:
  - name: by the file's clock (or --now)
    turns:
      - dtmf: 0
        says: {default_says}
  - name: Whit Monday
    now: 2026-05-25T10:00
    turns:
      - dtmf: 0
        says: "jour ferie : Lundi de Pentecote. Nous rouvrons demain a 8 h 30"
  - name: Friday evening, with an offset
    now: 2026-05-22T16:30:00+00:00
    turns:
      - dtmf: 0
        says: Nous rouvrons mardi a 8 h 30
  - name: a weekday morning
    now: 2026-03-10T10:00
    turns:
      - dtmf: 0
        transfer: agents
"""


@pytest.fixture
def clock_dir(tmp_path: Path) -> Path:
    plan = FLOWS_YAML.replace(
        "    message: Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.\n", ""
    )
    (tmp_path / "plan.yaml").write_text(plan, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("file_now", "cli_now", "default_says"),
    [
        ("now: 2026-03-14T10:00\n", None, "fermes le week-end"),
        ("now: 2026-03-14T10:00\n", dt.datetime(2026, 4, 6, 10, 0), "fermes le week-end"),
        ("", dt.datetime(2026, 4, 6, 10, 0), "Lundi de Paques"),
    ],
)
def test_each_conversation_has_its_clock(
    clock_dir: Path, file_now: str, cli_now: dt.datetime | None, default_says: str
) -> None:
    path = clock_dir / "t.yaml"
    path.write_text(CLOCK_TESTS.format(file_now=file_now, default_says=default_says))
    results = run_test_file(path, cli_now)
    assert [f for r in results for f in r.failures] == []
    assert len(results) == 4


def test_a_bad_now_says_where(clock_dir: Path) -> None:
    path = clock_dir / "t.yaml"
    path.write_text(CLOCK_TESTS.format(file_now="now: lundi\n", default_says="x"))
    with pytest.raises(DialplanError, match=r"t.yaml:2:6: now: .*2026-05-14T10:00"):
        run_test_file(path)


DETAILS_PLAN = MINIMAL_YAML + "    details: Elle se télécharge aussi sur l'application.\n"


def test_the_details_said_or_not(plan_dir: Path) -> None:
    (plan_dir / "plan.yaml").write_text(DETAILS_PLAN, encoding="utf-8")
    path = write_tests(
        plan_dir,
        """\
  - name: yes then no
    turns:
      - say: il me faut une attestation de droits
        says: [votre compte, plus de détails]
      - say: oui
        outcome: details
        details: true
      - say: il me faut une attestation de droits
      - dtmf: 2
        details: true
      - say: il me faut une attestation de droits
        details: false
""",
    )
    (result,) = run_test_file(path)
    assert [f.split(": ", 1)[1] for f in result.failures] == [
        "'yes then no', turn 4 (dtmf 2): expected the details",
        "'yes then no', turn 5 (say 'il me faut une attestation de droits'): expected a "
        "reply to 'more details?', but none was asked",
    ]
