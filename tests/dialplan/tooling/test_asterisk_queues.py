"""``callbot dialplan check --asterisk-dir``: queues a dialplan names against queues.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.cli.dialplan import main
from callbot.dialplan.tooling.asterisk_queues import load_asterisk_queues, queue_findings
from tests.dialplan.conftest import MINIMAL_YAML
from tests.dialplan.tooling.conftest import REPO, SHIPPED

QUEUES_CONF = """\
[general]
persistentmembers = yes

[defaults](!)
musicclass = default

[agents](defaults)
member => Local/1001@callbot-agents,0,Agent 1001
"""

EXTENSIONS_CONF = """\
[globals]
CALLBOT_FALLBACK_QUEUE = accueil
"""

LABELLED = MINIMAL_YAML.replace(
    "    answer: Votre", "    label: votre attestation\n    answer: Votre"
)
WITH_FRAUD = LABELLED + (
    "  - id: fraude\n"
    "    examples: [on a volé ma carte]\n"
    "    label: le vol de votre carte\n"
    "    then: transfer\n"
    "    transfer:\n"
    "      queue: fraude\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def asterisk_dir(tmp_path: Path) -> Path:
    write(tmp_path / "asterisk" / "queues.conf", QUEUES_CONF)
    return tmp_path / "asterisk"


def test_undefined_queue_points_at_the_name(tmp_path: Path, asterisk_dir: Path) -> None:
    plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
    (finding,) = queue_findings(plan, load_asterisk_queues(asterisk_dir))
    assert str(finding) == (
        f"{plan}:25:14: queue 'fraude' is not defined in {asterisk_dir}/queues.conf"
    )
    assert WITH_FRAUD.splitlines()[24][13:] == "fraude"


def test_templates_and_general_are_not_queues(tmp_path: Path, asterisk_dir: Path) -> None:
    plan = write(tmp_path / "plan.yaml", MINIMAL_YAML.replace("queue: agents", "queue: defaults"))
    assert [f.message for f in queue_findings(plan, load_asterisk_queues(asterisk_dir))] == [
        f"queue 'defaults' is not defined in {asterisk_dir}/queues.conf"
    ]
    assert load_asterisk_queues(asterisk_dir).names == {"agents"}


def test_include_and_case(tmp_path: Path, asterisk_dir: Path) -> None:
    write(asterisk_dir / "queues.conf", QUEUES_CONF + "#include queues-extra/*.conf\n")
    write(asterisk_dir / "queues-extra" / "fraud.conf", "[Fraude](defaults)\n")
    plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
    assert queue_findings(plan, load_asterisk_queues(asterisk_dir)) == []


def test_refused_queues_conf_defines_nothing(tmp_path: Path, asterisk_dir: Path) -> None:
    write(asterisk_dir / "queues.conf", QUEUES_CONF + "[broken](nosuchtemplate)\n")
    queues = load_asterisk_queues(asterisk_dir)
    assert queues.names == frozenset()
    (problem,) = queues.findings
    assert str(problem).startswith(f"{asterisk_dir}/queues.conf:9:1: [broken] inherits")
    assert problem.message.endswith("(Asterisk refuses this file)")


def test_fallback_queue_of_extensions_conf(asterisk_dir: Path) -> None:
    write(asterisk_dir / "extensions.conf", EXTENSIONS_CONF)
    (finding,) = load_asterisk_queues(asterisk_dir).findings
    assert str(finding) == (
        f"{asterisk_dir}/extensions.conf:2:26: fallback queue 'accueil' is not defined in "
        f"{asterisk_dir}/queues.conf (CALLBOT_FALLBACK_QUEUE)"
    )
    write(asterisk_dir / "queues.conf", QUEUES_CONF + "[accueil](defaults)\n")
    assert load_asterisk_queues(asterisk_dir).findings == ()


def test_missing_queues_conf(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (finding,) = load_asterisk_queues(tmp_path / "empty").findings
    assert finding.source == f"{tmp_path}/empty/queues.conf" and "cannot read" in finding.message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_dialplans_against_shipped_asterisk(path: Path) -> None:
    queues = load_asterisk_queues(REPO / "asterisk")
    assert queues.findings == ()
    assert queue_findings(path, queues) == []


class TestCommand:
    def test_fails_with_position(
        self, tmp_path: Path, asterisk_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
        assert main(["dialplan", "check", str(plan), "--asterisk-dir", str(asterisk_dir)]) == 1
        out = capsys.readouterr().out
        assert f"{plan}:25:14: queue 'fraude' is not defined in {asterisk_dir}/queues.conf" in out
        assert out.splitlines()[-1] == "1 file(s): 1 error(s), 0 warning(s)"

    def test_default_dir_is_relative_to_cwd(
        self,
        tmp_path: Path,
        asterisk_dir: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
        monkeypatch.chdir(tmp_path)
        assert main(["dialplan", "check", str(plan)]) == 1
        assert "is not defined in asterisk/queues.conf" in capsys.readouterr().out

    @pytest.mark.parametrize("flags", [["--no-asterisk"], ["--asterisk-dir", ""]])
    def test_disabled(
        self,
        flags: list[str],
        tmp_path: Path,
        asterisk_dir: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
        args = ["dialplan", "check", str(plan), "--asterisk-dir", str(asterisk_dir)]
        assert main([*args, *flags]) == 0
        captured = capsys.readouterr()
        assert "queue" not in captured.out and captured.err == ""

    def test_missing_dir_is_a_note(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        plan = write(tmp_path / "plan.yaml", WITH_FRAUD)
        gone = tmp_path / "nowhere"
        assert main(["dialplan", "check", str(plan), "--asterisk-dir", str(gone)]) == 0
        assert capsys.readouterr().err == (
            f"note: no {gone}/ directory: queues not checked against Asterisk "
            "(--asterisk-dir DIR)\n"
        )
