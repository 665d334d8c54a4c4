"""The ops commands as a user runs them: exit codes, output, ``chat`` driven through stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.cli.dialplan import main
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.flows import FLOWS_YAML
from tests.dialplan.tooling.conftest import DIALPLANS, REPO, SHIPPED
from tests.dialplan.tooling.test_lint import LONG_ANSWERS_LEFT


def test_check_clean_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dialplan", "check", *map(str, SHIPPED)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].endswith(f"0 error(s), {len(out) - 1} warning(s)")
    for line in out[:-1]:  # only the long answers left to split (tests/dialplan/tooling)
        assert Path(line.split(":", 1)[0]).stem in LONG_ANSWERS_LEFT, line
        assert ": warning: answer runs about " in line, line


def test_check_bad_file_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL_YAML.replace("  max_count: 2\n", "  max_count: deux\n"))
    assert main(["dialplan", "check", str(bad)]) == 1
    assert f"{bad}:5:14: no_input.max_count: expected a whole number" in capsys.readouterr().out


def test_test_command_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dialplan", "test", str(DIALPLANS / "helpdesk-en.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("passed, 0 failed")


def test_test_command_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.yaml").write_text(MINIMAL_YAML)
    tests = tmp_path / "t.yaml"
    tests.write_text(
        "dialplan: plan.yaml\ntests:\n  - name: x\n    turns:\n      - dtmf: 0\n"
        "        transfer: agents\n"
    )
    assert main(["dialplan", "test", str(tests)]) == 1
    out = capsys.readouterr().out
    assert "FAIL x" in out and out.splitlines()[-1] == "0 passed, 1 failed"


def test_accuracy_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "acc.json"
    path = DIALPLANS / "helpdesk-en.yaml"
    assert main(["dialplan", "accuracy", str(path), "--json", str(out)]) == 0
    (data,) = json.loads(out.read_text())
    assert data["dialplan"] == "helpdesk-en" and data["phrasings"] >= 140
    assert "helpdesk-en" in capsys.readouterr().out


def test_chat_through_stdin() -> None:
    script = "j'ai oublié mon mot de passe ameli\n/dtmf 0\n/dtmf 9\n/quit\n"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "callbot.cli.dialplan",
            "chat",
            "dialplans/assurance-maladie.yaml",
            "--now",
            "2026-03-11T10:00",  # a Wednesday morning: agents answer, the 0 key transfers
        ],
        input=script,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("--- call 1 at 2026-03-11T10:00 (")
    assert lines[1] == "  [greeting] intent=- confidence=-"
    turn = lines.index("you> j'ai oublié mon mot de passe ameli")
    assert lines[turn + 1].startswith("  [matched] intent=compte_ameli_mot_de_passe confidence=")
    assert lines[turn + 2].startswith("bot: Sur la page de connexion")
    assert "  -> transfer to queue conseillers (demande à parler à un conseiller)" in lines
    assert "--- call ended" in lines
    assert "--- call 2" in "\n".join(lines)  # the key pressed after the end starts a new call


@pytest.fixture
def holiday_plan(tmp_path: Path) -> Path:
    """The flows dialplan without its single out-of-hours message."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        FLOWS_YAML.replace(
            "    message: Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.\n", ""
        )
    )
    return plan


def test_chat_at_a_given_time(
    holiday_plan: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("/dtmf 0\n/quit\n"))
    assert main(["chat", str(holiday_plan), "--now", "2026-05-14T10:00"]) == 0
    out = capsys.readouterr().out
    assert "--- call 1 at 2026-05-14T10:00 (" in out
    assert "bot: Nous sommes fermés aujourd'hui, jour férié : Ascension." in out


def test_test_at_a_given_time(holiday_plan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tests = holiday_plan.parent / "t.yaml"
    tests.write_text(
        "dialplan: plan.yaml\ntests:\n  - name: x\n    turns:\n      - dtmf: 0\n"
        "        says: Nous rouvrons mardi a 8 h 30\n"
    )
    assert main(["dialplan", "test", str(tests), "--now", "2026-05-22T18:00+02:00"]) == 0
    assert main(["dialplan", "test", str(tests), "--now", "2026-05-21T18:00+02:00"]) == 1
    assert "FAIL x" in capsys.readouterr().out


def test_a_bad_now_is_a_usage_error(holiday_plan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["chat", str(holiday_plan), "--now", "demain"])
    assert exited.value.code == 2
    assert "not a date and time: 'demain'" in capsys.readouterr().err
