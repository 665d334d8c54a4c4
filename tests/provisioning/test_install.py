"""ensure_file: keep a verified file, else the first origin that delivers it intact."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from callbot.errors import CallbotError, ModelError, ProvisioningError
from callbot.provisioning.files import FileSpec, IntegrityError
from callbot.provisioning.install import ALREADY_INSTALLED, ensure_file
from callbot.provisioning.sources import Fetcher, HubFile, LocalFile, SourceFailed

from .support import Hub, closed_port_url, sha

GOOD = b"the real model bytes" * 500
URL = "https://huggingface.co/acme/m/resolve/r1/model.bin"
PATH = "/acme/m/resolve/r1/model.bin"
SPEC = FileSpec("model.bin", sha(GOOD), len(GOOD))


def test_what_an_origin_raises_is_in_the_exception_tree() -> None:
    # Caught per origin by ensure_file; one that escaped would still be a CallbotError
    # (one line and exit 1 from the command line, not a traceback).
    assert issubclass(ProvisioningError, CallbotError)
    assert issubclass(SourceFailed, ProvisioningError)
    assert issubclass(IntegrityError, ProvisioningError)


def test_installs_from_the_hub(tmp_path: Path, hub: Hub) -> None:
    hub.files[PATH] = GOOD
    with Fetcher(hub_url=hub.base_url) as fetcher:
        result = ensure_file(tmp_path / "m", SPEC, [HubFile(URL)], fetcher)
    assert (tmp_path / "m" / "model.bin").read_bytes() == GOOD
    assert result.source == f"hub {URL}"
    assert result.sha256 == sha(GOOD) and result.pinned


def test_verified_file_is_kept_without_any_download(tmp_path: Path, hub: Hub) -> None:
    hub.files[PATH] = GOOD
    with Fetcher(hub_url=hub.base_url) as fetcher:
        ensure_file(tmp_path, SPEC, [HubFile(URL)], fetcher)
        again = ensure_file(tmp_path, SPEC, [HubFile(URL)], fetcher)
    assert again.source == ALREADY_INSTALLED
    assert hub.requests == [PATH]


def test_corrupted_hub_file_is_refused_and_nothing_is_left(tmp_path: Path, hub: Hub) -> None:
    hub.files[PATH] = GOOD[:-1] + b"!"  # same size, one byte changed
    dest_dir = tmp_path / "whisper-base"
    with Fetcher(hub_url=hub.base_url) as fetcher, pytest.raises(ModelError) as caught:
        ensure_file(dest_dir, SPEC, [HubFile(URL)], fetcher, what="whisper-base")
    message = str(caught.value)
    assert "whisper-base/model.bin" in message
    assert "REFUSED" in message and sha(GOOD) in message
    assert not dest_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_corrupted_hub_falls_back_to_the_next_origin(
    tmp_path: Path, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.files[PATH] = b"tampered"
    local = tmp_path / "local"
    local.mkdir()
    (local / "model.bin").write_bytes(GOOD)
    fetcher = Fetcher(hub_url=hub.base_url, local_dirs=(local,))
    with fetcher, caplog.at_level(logging.WARNING):
        result = ensure_file(tmp_path / "m", SPEC, [HubFile(URL), LocalFile("model.bin")], fetcher)
    assert result.source == "local model.bin"
    assert "delivered a bad file" in caplog.text


def test_every_reason_is_listed_when_all_origins_fail(tmp_path: Path) -> None:
    fetcher = Fetcher(hub_url=closed_port_url(), local_dirs=(tmp_path / "none",))
    with fetcher, pytest.raises(ModelError) as caught:
        ensure_file(
            tmp_path / "m", SPEC, [LocalFile("model.bin"), HubFile(URL)], fetcher, hint="Do X."
        )
    lines = str(caught.value).splitlines()
    assert "not found in" in lines[1]
    assert "unreachable" in lines[2]
    assert lines[-1] == "Do X."


def test_a_wrong_installed_file_is_replaced(tmp_path: Path, hub: Hub) -> None:
    hub.files[PATH] = GOOD
    (tmp_path / "model.bin").write_bytes(b"x" * len(GOOD))
    with Fetcher(hub_url=hub.base_url) as fetcher:
        result = ensure_file(tmp_path, SPEC, [HubFile(URL)], fetcher)
    assert result.source.startswith("hub")
    assert (tmp_path / "model.bin").read_bytes() == GOOD


def test_unpinned_file_needs_an_explicit_opt_in(tmp_path: Path, hub: Hub) -> None:
    hub.files[PATH] = GOOD
    unpinned = FileSpec("model.bin", None)
    with Fetcher(hub_url=hub.base_url) as fetcher:
        with pytest.raises(ModelError, match="--allow-unpinned"):
            ensure_file(tmp_path, unpinned, [HubFile(URL)], fetcher)
        assert hub.requests == []
        result = ensure_file(tmp_path, unpinned, [HubFile(URL)], fetcher, allow_unpinned=True)
    assert not result.pinned
    assert result.sha256 == sha(GOOD)
