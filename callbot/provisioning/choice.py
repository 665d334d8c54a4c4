"""Which Whisper model a process loads: ``asr.model``, or for ``auto`` the best installed.

On a GPU a larger model costs little time per call and recognises French telephone
speech better, so ``auto`` takes the best one installed (turbo first: nearly large-v3's
accuracy with an eighth of its decoder). On a CPU the larger models are too slow to
answer in time on a few cores, so ``auto`` keeps base there whatever else is installed.
Nothing is hashed here (a start-up must stay instant); loading checks the files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ConfigError
from callbot.provisioning.model_descriptors import ModelManifest, folder_name
from callbot.provisioning.models import DEFAULT_MODEL, is_complete

AUTO = "auto"
GPU_PREFERENCE = ("large-v3-turbo", "large-v3", "medium", "small", "base")
"""Best first, for ``asr.model = "auto"`` on CUDA."""


@dataclass(frozen=True, slots=True)
class WhisperChoice:
    name: str
    path: Path
    reason: str
    """Why this one, for the start-up log."""


def choose_whisper(
    models_dir: Path,
    model: str,
    device: str,
    catalog: Mapping[str, ModelManifest],
    cuda_visible: Callable[[], bool],
) -> WhisperChoice:
    """The model ``asr.model`` names, or for ``auto`` the best installed for ``device``.

    ``cuda_visible`` is asked only when ``device`` is ``auto`` and a model other than
    base is installed (asking loads CTranslate2). Raises :class:`ConfigError` for an
    unknown name, listing the known ones.
    """
    if model != AUTO:
        if model not in catalog:
            known = ", ".join([AUTO, *catalog])
            raise ConfigError(f"asr.model: unknown Whisper model {model!r} (known: {known})")
        return WhisperChoice(model, models_dir / folder_name(model), f"asr.model = {model}")
    base = models_dir / folder_name(DEFAULT_MODEL)
    if device == "cpu":
        return WhisperChoice(DEFAULT_MODEL, base, "asr.model = auto on a CPU")
    installed = [
        name
        for name in GPU_PREFERENCE
        if name in catalog and is_complete(models_dir / folder_name(name), catalog[name])
    ]
    if not [name for name in installed if name != DEFAULT_MODEL]:
        return WhisperChoice(DEFAULT_MODEL, base, "asr.model = auto: no larger model installed")
    if device == "auto" and not cuda_visible():
        return WhisperChoice(DEFAULT_MODEL, base, "asr.model = auto: no CUDA device visible")
    best = installed[0]
    return WhisperChoice(
        best,
        models_dir / folder_name(best),
        f"asr.model = auto on CUDA: the best installed of {', '.join(installed)}",
    )
