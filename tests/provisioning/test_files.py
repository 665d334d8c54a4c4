"""Atomic, verified installation of one file, and the verification stamp."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.provisioning import files
from callbot.provisioning.files import (
    STAMP_NAME,
    FileSpec,
    IntegrityError,
    check_installed,
    install_stream,
    remove_stale_partials,
    stamped_sha256,
)

from .support import sha

DATA = b"pinned content " * 1000


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_install_writes_verifies_and_stamps(tmp_path: Path) -> None:
    dest = tmp_path / "m" / "model.bin"
    got = install_stream(dest, FileSpec("model.bin", sha(DATA), len(DATA)), [DATA[:7], DATA[7:]])
    assert got == sha(DATA)
    assert dest.read_bytes() == DATA
    assert stamped_sha256(dest) == sha(DATA)
    assert _only(dest.parent) == [STAMP_NAME, "model.bin"]


def test_installed_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        dest = tmp_path / "f"
        install_stream(dest, FileSpec("f", sha(DATA)), [DATA])
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o644


def test_sha_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    with pytest.raises(IntegrityError, match="does not match the pinned"):
        install_stream(dest, FileSpec("f", sha(b"other")), [DATA])
    assert _only(tmp_path) == []


def test_size_mismatch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="expected 5"):
        install_stream(tmp_path / "f", FileSpec("f", sha(DATA), 5), [DATA])
    with pytest.raises(IntegrityError, match=f"got 3 bytes, expected {len(DATA)}"):
        install_stream(tmp_path / "f", FileSpec("f", sha(DATA), len(DATA)), [b"abc"])
    assert _only(tmp_path) == []


def test_oversize_stream_stops_early(tmp_path: Path) -> None:
    pulled = []

    def endless() -> Iterator[bytes]:
        while True:
            pulled.append(1)
            yield b"x" * 10

    with pytest.raises(IntegrityError):
        install_stream(tmp_path / "f", FileSpec("f", None, 25), endless())
    assert len(pulled) == 3


def test_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"half"
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        install_stream(tmp_path / "f", FileSpec("f", sha(DATA)), broken())
    assert _only(tmp_path) == []


def test_failed_install_keeps_the_previous_file(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(b"previous")
    with pytest.raises(IntegrityError):
        install_stream(dest, FileSpec("f", sha(DATA)), [b"bad"])
    assert dest.read_bytes() == b"previous"


def test_check_installed_trusts_a_current_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "f"
    spec = FileSpec("f", sha(DATA), len(DATA))
    install_stream(dest, spec, [DATA])

    def no_hashing(path: Path) -> str:
        raise AssertionError("a stamped file must not be hashed again")

    monkeypatch.setattr(files, "sha256_file", no_hashing)
    assert check_installed(dest, spec) == sha(DATA)


def test_check_installed_rehashes_a_changed_file(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    spec = FileSpec("f", sha(DATA), len(DATA))
    install_stream(dest, spec, [DATA])
    tampered = bytearray(DATA)
    tampered[0] ^= 1
    dest.write_bytes(bytes(tampered))  # same size, new mtime
    assert check_installed(dest, spec) is None


def test_check_installed_stamps_a_correct_file_copied_by_hand(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(DATA)
    assert stamped_sha256(dest) is None
    assert check_installed(dest, FileSpec("f", sha(DATA))) == sha(DATA)
    assert stamped_sha256(dest) == sha(DATA)


def test_check_installed_rejects_wrong_size_and_absence(tmp_path: Path) -> None:
    dest = tmp_path / "f"
    assert check_installed(dest, FileSpec("f", sha(DATA))) is None
    dest.write_bytes(DATA)
    assert check_installed(dest, FileSpec("f", sha(DATA), len(DATA) + 1)) is None


def test_stale_partials_are_removed_young_ones_kept(tmp_path: Path) -> None:
    dest = tmp_path / "model.bin"
    old, young = tmp_path / ".model.bin.aaaa.partial", tmp_path / ".model.bin.bbbb.partial"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    remove_stale_partials(dest)
    assert _only(tmp_path) == [young.name]
