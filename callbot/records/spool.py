"""The records spool: where call records wait on disk while the database is down.

One file per call, ``<sequence>.json`` holding one :class:`~callbot.records.update.RecordUpdate`
(already redacted: no caller number, no identifier in clear). It is written under a
temporary name, fsync'd, renamed, and the directory fsync'd: after a crash a file is
whole or absent. A newer update of a call already spooled replaces that call's file under
the same name, so the spool holds each call once, at the place of its first update, with
its latest state; :meth:`Spool.head` gives the calls in that order. Replay: the writer
applies the head to the database, then :meth:`Spool.remove` deletes it; a crash between
the two replays it once more, which the store ignores (same revision): exactly once.

Bounds (``max_records`` calls, ``max_bytes`` on disk), when a new call does not fit:

* its final record takes the place of the oldest in-progress entry (that call's record is
  lost unless a later update of it comes: the call is going on, or its process died);
* an in-progress update, or a final one with no in-progress entry to evict, is refused.

A newer update of a call already spooled always replaces it, even over the byte bound (it
frees nothing to refuse it). :meth:`Spool.add` says what happened; the writer logs every
record lost at ERROR and counts it (``callbot_records_lost_total``); :attr:`Spool.full`
(``callbot_records_spool_full``, the alert) is set from a record refused or evicted for
room until the spool has room again.

A lock (``flock`` on ``.lock``) keeps one process per spool directory; the kernel frees it
when the process dies. :func:`open_spool` gives each process a slot of the configured
directory (``0/``, ``1/``...: the first one free), so workers on one host can share the
setting; a restarted process takes the slot its predecessor left and replays it, and the
entries of slots no running process holds are moved into its own.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from callbot.errors import ConfigError
from callbot.logs import call_log, for_log
from callbot.records.update import RecordUpdate

logger = logging.getLogger(__name__)

LOCK_NAME = ".lock"
MAX_SLOTS = 256


class SpoolBusy(ConfigError):
    """Another running process holds this spool directory."""


def open_spool(directory: Path, max_records: int, max_bytes: int) -> Spool:
    """This process's spool: the first free slot of ``directory``, having taken over what
    waits in slots no running process holds (blocking: reads and fsyncs)."""
    directory.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        try:
            spool = Spool(directory / str(slot), max_records, max_bytes)
        except SpoolBusy:
            continue
        break
    else:
        raise ConfigError(f"records spool {directory}: all {MAX_SLOTS} slots in use")
    for other in sorted(directory.iterdir()):
        if other.name.isdigit() and other != spool.directory and any(other.glob("*.json")):
            try:
                orphan = Spool(other, 2**31, 2**62)
            except SpoolBusy:
                continue  # a running process's own
            try:
                spool.adopt(orphan)
            finally:
                orphan.close()
    return spool


@dataclass(slots=True)
class _Entry:
    sequence: int
    key: str
    call_id: str
    revision: int
    final: bool
    size: int


@dataclass(frozen=True, slots=True)
class Spooled:
    """What :meth:`Spool.add` did with one update."""

    outcome: Literal["added", "replaced", "stale", "refused"]
    """``stale``: the spool holds this call at the same or a newer revision already."""
    evicted: str | None = None
    """Call id of the in-progress entry dropped to make room, if one was."""


class Spool:
    """Ordered, bounded, on-disk; used by one thread (the records writer)."""

    def __init__(self, directory: Path, max_records: int, max_bytes: int) -> None:
        self.directory = directory
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.bytes = 0
        self.full = False
        self.corrupt = 0
        """Files found unreadable (renamed ``*.corrupt``, kept for a human)."""
        self.refused_on_adoption = 0
        """Records of an orphaned slot that found no room here (logged at ERROR)."""
        self._entries: dict[str, _Entry] = {}
        """By call key, in spool order (dicts keep insertion order)."""
        self._next = 1
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolBusy(
                f"records spool {directory} is in use by another callbot process; give each "
                "process its own [records] spool_dir"
            ) from None
        self._load()

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def add(self, update: RecordUpdate) -> Spooled:
        """Keep ``update`` on disk (fsync'd before this returns), within the bounds."""
        key = _key(update)
        data = (update.to_json() + "\n").encode()
        known = self._entries.get(key)
        if known is not None:
            if known.revision >= update.revision:
                return Spooled("stale")
            self._write(known.sequence, data)
            self.bytes += len(data) - known.size
            known.revision, known.final, known.size = update.revision, update.final, len(data)
            return Spooled("replaced")
        evicted = None
        if not self._fits(len(data)):
            victim = self._victim(len(data)) if update.final else None
            if victim is None:
                self.full = True
                return Spooled("refused")
            self._drop(victim)
            evicted = victim.call_id
        sequence, self._next = self._next, self._next + 1
        self._write(sequence, data)
        self._entries[key] = _Entry(
            sequence, key, update.call.call_id, update.revision, update.final, len(data)
        )
        self.bytes += len(data)
        self.full = evicted is not None
        return Spooled("added", evicted)

    def adopt(self, orphan: Spool) -> None:
        """Move every entry of ``orphan`` (a slot left by a dead process) here, in order."""
        moved = 0
        while (update := orphan.head()) is not None:
            spooled = self.add(update)
            lost = update.call.call_id if spooled.outcome == "refused" else spooled.evicted
            if lost is not None:
                self.refused_on_adoption += 1
                call_log(logger, for_log(lost)).error("record lost: records spool full")
            orphan.remove(update)
            moved += 1
        logger.warning("records spool: %d record(s) taken over from %s", moved, orphan.directory)

    def head(self) -> RecordUpdate | None:
        """The oldest call in the spool (None when empty); an entry that cannot be read
        back (disk fault, hand edit) is set aside (``*.corrupt``) and counted. An entry
        whose file is gone was erased or purged (``callbot records``): it is forgotten."""
        while self._entries:
            entry = next(iter(self._entries.values()))
            path = self._path(entry.sequence)
            try:
                return RecordUpdate.from_json(path.read_text("utf-8"))
            except FileNotFoundError:
                logger.info("records spool: %s was erased or purged", path.name)
                self._drop(entry)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._set_aside(path, exc)
                self._drop(entry)
        return None

    def remove(self, update: RecordUpdate) -> None:
        """Forget ``update``'s call, once the database has it (at this revision or newer)."""
        entry = self._entries.get(_key(update))
        if entry is not None and entry.revision <= update.revision:
            self._drop(entry)
            self.full = False

    def _fits(self, size: int) -> bool:
        return len(self._entries) < self.max_records and self.bytes + size <= self.max_bytes

    def _victim(self, size: int) -> _Entry | None:
        """The oldest in-progress entry, if dropping it makes room for ``size`` bytes."""
        for entry in self._entries.values():
            if not entry.final:
                room = self.bytes - entry.size + size <= self.max_bytes
                return entry if room else None
        return None

    def _drop(self, entry: _Entry) -> None:
        del self._entries[entry.key]
        self.bytes -= entry.size
        self._path(entry.sequence).unlink(missing_ok=True)

    def _set_aside(self, path: Path, exc: Exception) -> None:
        self.corrupt += 1
        logger.error("records spool: %s unreadable (%s), set aside", path.name, exc)
        try:
            path.rename(path.with_suffix(".corrupt"))
        except OSError:
            logger.error("records spool: could not set %s aside", path.name)

    def _path(self, sequence: int) -> Path:
        return self.directory / f"{sequence:012d}.json"

    def _write(self, sequence: int, data: bytes) -> None:
        path = self._path(sequence)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _load(self) -> None:
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)  # a write that never finished: never renamed
        for path in sorted(self.directory.glob("*.json")):
            try:
                sequence = int(path.stem)
                data = path.read_bytes()
                update = RecordUpdate.from_json(data.decode("utf-8"))
            except (ValueError, KeyError, TypeError) as exc:
                self._set_aside(path, exc)
                continue
            key = _key(update)
            known = self._entries.get(key)
            if known is not None:  # cannot happen with this module's writes; be safe
                if known.revision >= update.revision:
                    path.unlink()
                    continue
                self._drop(known)
            self._entries[key] = _Entry(
                sequence, key, update.call.call_id, update.revision, update.final, len(data)
            )
            self.bytes += len(data)
            self._next = max(self._next, sequence + 1)
        if self._entries:
            logger.warning(
                "records spool %s: %d record(s) from before, replayed once the database "
                "answers (first: call %s)",
                self.directory,
                len(self._entries),
                for_log(next(iter(self._entries.values())).call_id),
            )


def _key(update: RecordUpdate) -> str:
    return update.token if update.token is not None else f"call:{update.call.call_id}"
