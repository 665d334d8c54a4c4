"""The linters are part of the test suite: ruff (lint + format), mypy, and the layer
contracts of ``[tool.importlinter]`` in pyproject.toml (no package imports a layer above
it, no import cycle)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    if found.is_file():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh --test")
    return path


def test_ruff_lint() -> None:
    result = run(tool("ruff"), "check", "callbot", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(tool("ruff"), "format", "--check", "callbot", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run(sys.executable, "-m", "mypy", "callbot")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_contracts() -> None:
    result = run(tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
