"""Optional extras: a missing package names the extra that installs it, and the command
line imports none of them until a command needs one."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from callbot import loadtest
from callbot.errors import MissingExtra, StartupError

REPO = Path(__file__).resolve().parent.parent
EXTRA_PACKAGES = ("psycopg", *loadtest.PACKAGES)


def _without(monkeypatch: pytest.MonkeyPatch, package: str, *modules: str) -> None:
    """``import package`` fails as if it were not installed; ``modules`` import afresh."""
    monkeypatch.setitem(sys.modules, package, None)
    for module in modules:
        monkeypatch.delitem(sys.modules, module, raising=False)


def test_the_message_says_what_to_install() -> None:
    error = MissingExtra("psycopg", "postgres")
    assert isinstance(error, StartupError)  # `callbot` prints one line and exits 1
    assert str(error) == "psycopg is not installed: pip install 'callbot[postgres]'"


@pytest.mark.parametrize(
    ("package", "module", "extra"),
    [
        ("psycopg", "callbot.records.postgres", "postgres"),
        ("matplotlib", "callbot.loadtest.report", "loadtest"),
        ("psutil", "callbot.loadtest.soak.server", "loadtest"),
    ],
)
def test_a_module_that_needs_an_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, package: str, module: str, extra: str
) -> None:
    _without(monkeypatch, package, module)
    with pytest.raises(MissingExtra, match=rf"pip install 'callbot\[{extra}\]'"):
        importlib.import_module(module)


def test_a_postgresql_records_url_without_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    from callbot.records.store import open_store

    _without(monkeypatch, "psycopg", "callbot.records.postgres")
    with pytest.raises(MissingExtra, match=r"callbot\[postgres\]"):
        open_store("postgresql://callbot@127.0.0.1:9/callbot")


def test_the_load_tester_names_its_extra_where_it_needs_a_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callbot.loadtest.metrics import word_error_rate
    from callbot.loadtest.sampler import ProcessSampler

    _without(monkeypatch, "jiwer")
    with pytest.raises(MissingExtra, match=r"jiwer .*callbot\[loadtest\]"):
        word_error_rate([("bonjour", "bonjour")])
    _without(monkeypatch, "psutil")
    with pytest.raises(MissingExtra, match=r"psutil .*callbot\[loadtest\]"):
        ProcessSampler(os.getpid())


@pytest.mark.parametrize("package", loadtest.PACKAGES)
def test_a_load_test_checks_its_extra_before_it_runs(
    monkeypatch: pytest.MonkeyPatch, package: str
) -> None:
    loadtest.require_extra()
    _without(monkeypatch, package)
    with pytest.raises(MissingExtra, match=rf"{package} .*callbot\[loadtest\]"):
        loadtest.require_extra()


def test_the_command_line_imports_no_extra_until_a_command_needs_one() -> None:
    probe = (
        "import sys\n"
        "from callbot.cli.main import build_parser\n"
        "build_parser()\n"
        f"print(sorted(p for p in {EXTRA_PACKAGES!r} if p in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
