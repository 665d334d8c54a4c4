"""``asr.model`` picks the Whisper folder ``load_settings`` hands to the recogniser;
``asr.model_dir`` still overrides it; a missing model stops ``serve`` with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.config import load_settings
from callbot.errors import ConfigError
from callbot.provisioning import load_model_catalog
from callbot.speech.settings import AsrSettings

REPO = Path(__file__).resolve().parents[2]


def _install_sparse(models_dir: Path, name: str) -> None:
    """A model's files at their pinned sizes (sparse, never loaded)."""
    manifest = load_model_catalog()[name]
    folder = models_dir / manifest.name
    folder.mkdir(parents=True)
    for spec in manifest.files:
        with (folder / spec.name).open("wb") as f:
            f.truncate(spec.size_bytes)


def _settings(models_dir: Path, **env: str) -> Path:
    variables = {"CALLBOT_MODELS_DIR": str(models_dir)}
    variables |= {f"CALLBOT_ASR_{key.upper()}": value for key, value in env.items()}
    return load_settings(env=variables).asr.model_dir


def test_default_is_auto() -> None:
    assert AsrSettings().model == "auto"


def test_a_named_model_maps_to_its_folder(tmp_path: Path) -> None:
    for name in ("base", "small", "medium", "large-v3", "large-v3-turbo"):
        assert _settings(tmp_path, model=name) == tmp_path / f"whisper-{name}"


def test_model_dir_overrides_the_model(tmp_path: Path) -> None:
    mine = tmp_path / "my-fine-tuned-whisper"
    assert _settings(tmp_path, model="small", model_dir=str(mine)) == mine


def test_unknown_model_is_a_settings_error_listing_the_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, model="large-v2")
    assert "asr.model: unknown Whisper model 'large-v2'" in str(caught.value)
    assert "(known: auto, base, small, medium, large-v3-turbo, large-v3)" in str(caught.value)


def test_auto_by_device_with_a_larger_model_installed(tmp_path: Path) -> None:
    _install_sparse(tmp_path, "base")
    _install_sparse(tmp_path, "large-v3-turbo")
    assert _settings(tmp_path, device="cpu") == tmp_path / "whisper-base"
    assert _settings(tmp_path, device="cuda") == tmp_path / "whisper-large-v3-turbo"
    assert _settings(tmp_path, device="cpu", model="small") == tmp_path / "whisper-small"


def test_auto_without_a_gpu_keeps_base(tmp_path: Path) -> None:
    """This machine has no GPU: CTranslate2, asked, says so, and base is kept."""
    ctranslate2 = pytest.importorskip("ctranslate2")
    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a GPU is visible here")
    _install_sparse(tmp_path, "medium")
    assert _settings(tmp_path) == tmp_path / "whisper-base"


def test_serve_with_a_missing_named_model_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
    env |= {"CALLBOT_MODELS_DIR": str(tmp_path), "CALLBOT_ASR_MODEL": "small"}
    env |= {"CALLBOT_LOG_LEVEL": "WARNING"}
    dialplan = REPO / "tests/pipeline/dialplans/call-fr.yaml"
    serve = ["serve", "--port", "0", "--audiosocket-port", "0", "--dialplan", str(dialplan)]
    result = subprocess.run(
        [sys.executable, "-m", "callbot", *serve],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"callbot: error: no Whisper model in {tmp_path / 'whisper-small'}")
