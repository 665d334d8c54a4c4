"""The provisioning commands' tests pull the real models like the package's own tests,
and download from the same loopback HTTP "hub"."""

from tests.provisioning.conftest import hub, whisper_pull

__all__ = ["hub", "whisper_pull"]
