"""``asr.model``: a named model, or for ``auto`` the best installed one for the device."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.errors import ConfigError
from callbot.provisioning import choose_whisper, load_model_catalog

CATALOG = load_model_catalog()


def install(models_dir: Path, name: str) -> Path:
    """Files with the pinned sizes (sparse: cheap even for large-v3's 3 GB)."""
    manifest = CATALOG[name]
    folder = models_dir / manifest.name
    folder.mkdir(parents=True)
    for spec in manifest.files:
        with (folder / spec.name).open("wb") as f:
            f.truncate(spec.size_bytes)
    return folder


class Cuda:
    """Answers whether a GPU is visible, and counts the questions."""

    def __init__(self, visible: bool) -> None:
        self.visible, self.asked = visible, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.visible


def choose(models_dir: Path, model: str, device: str, cuda: Cuda) -> tuple[str, Path]:
    choice = choose_whisper(models_dir, model, device, CATALOG, cuda)
    assert choice.reason
    return choice.name, choice.path


def test_a_named_model_is_its_folder_installed_or_not(tmp_path: Path) -> None:
    cuda = Cuda(True)
    assert choose(tmp_path, "small", "cuda", cuda) == ("small", tmp_path / "whisper-small")
    assert choose(tmp_path, "medium", "cpu", cuda) == ("medium", tmp_path / "whisper-medium")
    assert cuda.asked == 0


def test_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        choose(tmp_path, "large", "auto", Cuda(True))
    assert str(caught.value) == (
        "asr.model: unknown Whisper model 'large' "
        "(known: auto, base, small, medium, large-v3-turbo, large-v3)"
    )


def test_auto_on_a_gpu_takes_the_best_installed(tmp_path: Path) -> None:
    install(tmp_path, "base")
    install(tmp_path, "small")
    assert choose(tmp_path, "auto", "cuda", Cuda(True))[0] == "small"
    install(tmp_path, "large-v3")
    assert choose(tmp_path, "auto", "cuda", Cuda(True))[0] == "large-v3"
    install(tmp_path, "large-v3-turbo")
    install(tmp_path, "medium")
    cuda = Cuda(True)
    assert choose(tmp_path, "auto", "auto", cuda) == (
        "large-v3-turbo",
        tmp_path / "whisper-large-v3-turbo",
    )
    assert cuda.asked == 1


def test_auto_keeps_base_on_a_cpu_whatever_is_installed(tmp_path: Path) -> None:
    install(tmp_path, "large-v3-turbo")
    cuda = Cuda(True)
    assert choose(tmp_path, "auto", "cpu", cuda) == ("base", tmp_path / "whisper-base")
    assert cuda.asked == 0  # the device is given: CTranslate2 is not even asked
    assert choose(tmp_path, "auto", "auto", Cuda(False))[0] == "base"


def test_auto_asks_for_a_gpu_only_when_a_larger_model_is_installed(tmp_path: Path) -> None:
    cuda = Cuda(True)
    assert choose(tmp_path, "auto", "auto", cuda)[0] == "base"  # nothing installed
    install(tmp_path, "base")
    assert choose(tmp_path, "auto", "auto", cuda)[0] == "base"
    assert cuda.asked == 0


def test_an_incomplete_larger_model_is_not_chosen(tmp_path: Path) -> None:
    folder = install(tmp_path, "large-v3-turbo")
    install(tmp_path, "small")
    (folder / "tokenizer.json").unlink()
    assert choose(tmp_path, "auto", "cuda", Cuda(True))[0] == "small"
    with (folder / "tokenizer.json").open("wb") as f:
        f.truncate(1000)  # wrong size: an interrupted copy
    assert choose(tmp_path, "auto", "cuda", Cuda(True))[0] == "small"
