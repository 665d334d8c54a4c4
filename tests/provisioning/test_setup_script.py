"""``scripts/setup.sh`` provisions the voice the default dialplan speaks with, and never
fails for it (the model hub may be unreachable: French then falls back to espeak-ng)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from callbot.config import Settings

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup.sh"
CI = REPO / ".ci" / "run"


def _default_voice() -> str:
    plan = yaml.safe_load((REPO / Settings().dialplan).read_text(encoding="utf-8"))
    return str(plan["voice"])


def test_setup_pulls_the_default_dialplans_voice_without_failing_on_it() -> None:
    voice = _default_voice()
    script = SETUP.read_text(encoding="utf-8")
    guarded = re.search(
        rf"^if ! \.venv/bin/callbot voices pull {re.escape(voice)}\b.*; then$", script, re.M
    )
    assert guarded, f"setup.sh must try `voices pull {voice}` inside `if ! ...; then`"


def test_setup_runs_under_errexit() -> None:
    """The guard matters because the script stops at the first failing command."""
    assert "set -euo pipefail" in SETUP.read_text(encoding="utf-8")


def _extras(script: str, guard: str) -> set[str]:
    found = re.search(rf'^{re.escape(guard)}extras="([a-z,]+)"$', script, re.M)
    assert found, f'setup.sh must set {guard}extras="..."'
    return set(found.group(1).split(","))


def test_setup_installs_the_extras_each_use_needs() -> None:
    script = SETUP.read_text(encoding="utf-8")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(declared["project"]["optional-dependencies"])
    serve = _extras(script, "")
    tests = _extras(script, "(( with_tests )) && ")
    assert serve == {"models"}  # `callbot serve` with records in SQLite
    assert tests == {"models", "postgres", "loadtest", "test"} <= extras
    assert "setup.sh --test" in CI.read_text(encoding="utf-8")  # what CI runs
