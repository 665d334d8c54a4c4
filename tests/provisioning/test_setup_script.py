"""``scripts/setup.sh`` provisions the voice the default dialplan speaks with, and never
fails for it (the model hub may be unreachable: French then falls back to espeak-ng); it
leaves the GPU extra to GPU machines."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
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


def _gpu_extra() -> list[str]:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(declared["project"]["optional-dependencies"]["gpu"])


def test_gpu_extra_stays_out_of_the_cpu_setup() -> None:
    script = SETUP.read_text(encoding="utf-8")
    assert "gpu" not in _extras(script, "") | _extras(script, "(( with_tests )) && ")
    names = {re.split(r"[\[<>=~!; ]", requirement)[0] for requirement in _gpu_extra()}
    assert names == {"nvidia-cublas-cu12", "nvidia-cudnn-cu12", "onnxruntime-gpu"}


def test_gpu_extra_brings_the_cuda_libraries_the_installed_ctranslate2_loads() -> None:
    """CTranslate2 dlopens cuBLAS by soname: the extra must carry that CUDA major, and
    onnxruntime-gpu must stay below 1.27, its first CUDA 13 build on PyPI."""
    ctranslate2 = pytest.importorskip("ctranslate2")
    libs = Path(ctranslate2.__file__).parent.parent / "ctranslate2.libs"
    (library,) = libs.glob("libctranslate2*.so*")
    binary = library.read_bytes()
    assert b"libcublas.so.12\x00" in binary and b"libcublas.so.13" not in binary
    assert b"libcudnn" not in binary  # CTranslate2 4.8 no longer uses cuDNN
    extra = _gpu_extra()
    assert "nvidia-cublas-cu12>=12.8,<13" in extra
    assert any(r.startswith("onnxruntime-gpu[cuda,cudnn]") and r.endswith(",<1.27") for r in extra)
