"""The provisioning commands' tests pull the real models like the package's own tests."""

from tests.provisioning.conftest import whisper_pull

__all__ = ["whisper_pull"]
