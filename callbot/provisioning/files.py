"""Pinned files on disk: sha256, atomic installation, and a verification stamp.

A model file is code as much as a wheel is, so nothing reaches its final name
before its size and sha256 match the pin: bytes are streamed into a hidden
temporary file in the destination folder, hashed on the way, and renamed only
when they match (a rename within one folder is atomic, so a crash or a bad
download never leaves a half-written model under the real name).

Hashing 140 MB takes about half a second; to make a second ``models pull`` (and
every start-up check) instant, a verified file's size and modification time are
recorded in a stamp file beside it (:data:`STAMP_NAME`). A file whose size or
mtime changed is hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callbot.errors import ProvisioningError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
"""Read and write granularity (bytes): files are streamed, never held whole in memory."""

STAMP_NAME = ".verified.json"
"""Per-folder record of files already verified: name -> sha256, size, mtime_ns."""

ProgressFn = Callable[[str, int, "int | None"], None]
"""``progress(label, done_bytes, total_bytes_or_None)``, called as bytes arrive."""


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file to install, pinned by content."""

    name: str
    """File name inside the installation folder."""
    sha256: str | None
    """Lower-case hex digest; ``None`` when not pinned yet (installing needs an opt-in)."""
    size_bytes: int | None = None
    """Expected size, when known (lets a wrong download stop early)."""


class IntegrityError(ProvisioningError):
    """Bytes did not match their pin. Internal to provisioning: callers see ModelError."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_stamps(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_stamps(folder: Path, stamps: dict[str, Any]) -> None:
    dest = folder / STAMP_NAME
    tmp = _partial_path(dest)
    try:
        with tmp.open("x", encoding="utf-8") as f:
            json.dump(stamps, f, indent=1, sort_keys=True)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _partial_path(dest: Path) -> Path:
    """A fresh hidden name beside ``dest``: same folder, so the final rename is atomic.

    Opened with mode "x" rather than made by mkstemp, whose 0600 mode would
    survive the rename; "x" honours the umask.
    """
    return dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.partial")


def record_verified(path: Path, sha256: str) -> None:
    """Remember that ``path`` (as it is now: size and mtime) has this sha256."""
    st = path.stat()
    stamps = _read_stamps(path.parent)
    stamps[path.name] = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        _write_stamps(path.parent, stamps)
    except OSError as exc:  # a read-only folder still works, only slower next time
        logger.warning("cannot write verification stamp in %s: %s", path.parent, exc)


def stamped_sha256(path: Path) -> str | None:
    """The recorded sha256 of ``path`` if the file is unchanged since it was verified."""
    entry = _read_stamps(path.parent).get(path.name)
    if not isinstance(entry, dict):
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
        return None
    sha = entry.get("sha256")
    return sha if isinstance(sha, str) else None


def check_installed(path: Path, spec: FileSpec, *, rehash: bool = True) -> str | None:
    """The sha256 of an installed file that satisfies ``spec``, else ``None``.

    Uses the stamp when the file is unchanged; otherwise hashes it (when
    ``rehash``) and records the result. An unpinned spec accepts any content.
    """
    if not path.is_file():
        return None
    if spec.size_bytes is not None and path.stat().st_size != spec.size_bytes:
        return None
    sha = stamped_sha256(path)
    if sha is None:
        if not rehash:
            return None
        sha = sha256_file(path)
        if spec.sha256 is None or sha == spec.sha256:
            record_verified(path, sha)
    if spec.sha256 is not None and sha != spec.sha256:
        return None
    return sha


def remove_stale_partials(dest: Path, *, max_age_s: float = 3600.0) -> None:
    """Delete partial files of ``dest`` left by a killed run (untouched for ``max_age_s``).

    Younger ones may belong to a pull running concurrently, so they are kept.
    """
    now = time.time()
    for partial in dest.parent.glob(f".{dest.name}.*.partial"):
        with contextlib.suppress(OSError):
            if now - partial.stat().st_mtime > max_age_s:
                partial.unlink()
                logger.info("removed stale partial download %s", partial)


def install_stream(
    dest: Path,
    spec: FileSpec,
    chunks: Iterable[bytes],
    *,
    progress: ProgressFn | None = None,
    label: str = "",
) -> str:
    """Write ``chunks`` to ``dest`` atomically if they match ``spec``; return their sha256.

    Raises :class:`IntegrityError` (and leaves nothing behind) on a size or
    sha256 mismatch; any exception from ``chunks`` also removes the partial file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial_path(dest)
    digest = hashlib.sha256()
    done = 0
    out = tmp.open("xb")
    try:
        with out:
            for chunk in chunks:
                done += len(chunk)
                if spec.size_bytes is not None and done > spec.size_bytes:
                    raise IntegrityError(f"more than the expected {spec.size_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(label or dest.name, done, spec.size_bytes)
            out.flush()
            os.fsync(out.fileno())
        if spec.size_bytes is not None and done != spec.size_bytes:
            raise IntegrityError(f"got {done} bytes, expected {spec.size_bytes}")
        sha = digest.hexdigest()
        if spec.sha256 is not None and sha != spec.sha256:
            raise IntegrityError(f"sha256 {sha} does not match the pinned {spec.sha256}")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    record_verified(dest, sha)
    return sha
