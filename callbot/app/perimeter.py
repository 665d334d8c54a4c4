"""Every store of caller data callbot writes, and how each is purged, exported and erased.

One list, so that ``callbot records purge|export|erase`` cannot forget a store and the
README's "Privacy" can say what is kept where (tests/app/test_perimeter.py runs a call
with a transfer, lists every file and table callbot wrote, and fails on one that is not
here or that keeps the caller after an erasure):

* **records** (``records.url``: SQLite in ``data_dir``, or PostgreSQL): calls, their
  turns and the callbacks asked in them, filed under the caller's key (a salted hash);
  text redacted. Retention: calls started before the cutoff, with their turns and
  callbacks. Erasure: calls of the key, callbacks from or to the number;
* **records spool** (beside the SQLite file, or ``data_dir/records-spool``): records
  waiting while the database is down, one file per call, same content;
* **hand-over store** (``handover.store_path``, beside the records; with a database the
  nodes share, its ``handover_contexts`` table): contexts for agents under the caller's
  key; the number and captured values expire in place (``handover.identifiers_ttl_s``);
  retention on creation time;
* **cluster tables** (the shared database, ``callbot control|worker``): the nodes (no
  caller data), and the transfers a worker asks of the control role, whose number and
  context are emptied once carried out;
* **summary sounds** (``ari.sounds_dir``, Asterisk's): the summary an agent hears,
  ``<context id>*.wav``; deleted when the hand-over ends, and by ``purge`` once older
  than ``handover.identifiers_ttl_s`` (a process that died left them).

Logs hold no store: they go to standard error (journald), identifiers redacted. Live
events between nodes (PostgreSQL ``NOTIFY``) carry ids, never caller data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.app.shared import POSTGRES, shared_database
from callbot.config import Settings
from callbot.handover.store import HandoverStore
from callbot.handover.table import HandoverTable
from callbot.privacy.identity import caller_hash, normalize_number
from callbot.records.store import RecordStore, open_store

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
"""A SQLite file and what SQLite writes beside it."""
SPOOL_FILES = ("*/*.json", "*/*.corrupt", "*/*.tmp", "*/.lock")
"""A records spool: slots ``0/``, ``1/``..., one file per call, its lock."""
SOUND_FILES = "*.wav"


@dataclass(frozen=True, slots=True)
class Location:
    """Where one store keeps its files, and its tables with how each is covered."""

    store: str
    root: Path
    patterns: tuple[str, ...]
    """Globs under ``root`` of every file the store writes."""
    tables: dict[str, str] = field(default_factory=dict)
    """Table -> how retention, export and erasure cover it ("" : no caller data)."""


RECORDS_TABLES = {
    "calls": "caller key; retention by start time",
    "turns": "with their call",
    "callbacks": "caller and callback-number keys; with their call",
    "callbot_instances": "",
}
HANDOVER_TABLES = {"handovers": "caller key; identifiers expire; retention by creation time"}
SHARED_TABLES = {
    "handover_contexts": HANDOVER_TABLES["handovers"],
    "handover_schema": "",
    "cluster_nodes": "",
    "cluster_commands": "a call's number and context while its transfer is pending, "
    "emptied once carried out; rows deleted after an hour",
    "cluster_dialplans": "",
}
"""In the database the nodes share (``cluster.database_url``, else ``records.url``)."""


@dataclass(frozen=True, slots=True)
class Database:
    """A PostgreSQL database callbot writes, and its tables with how each is covered."""

    url: str = field(repr=False)
    tables: dict[str, str]


def databases(settings: Settings) -> list[Database]:
    """The PostgreSQL databases callbot writes caller data in under ``settings``."""
    found: dict[str, dict[str, str]] = {}
    records = settings.records.url
    if records.startswith(POSTGRES):
        found[records] = {**RECORDS_TABLES, "callbot_schema": ""}
    shared = shared_database(settings)
    if shared is not None:
        found[shared] = {**found.get(shared, {}), **SHARED_TABLES}
    return [Database(url, tables) for url, tables in found.items()]


def inventory(settings: Settings) -> list[Location]:
    """Every place callbot writes caller data under ``settings`` (placed: see
    :func:`callbot.config.placed`)."""
    found: list[Location] = []
    database = settings.records.sqlite_path
    if database is not None:
        names = tuple(database.name + suffix for suffix in SQLITE_COMPANIONS)
        found.append(Location("records", database.parent, names, RECORDS_TABLES))
    found.append(Location("records spool", settings.records.spool_path, SPOOL_FILES))
    handover = settings.handover.store_path
    if handover is not None and shared_database(settings) is None:
        names = tuple(handover.name + suffix for suffix in SQLITE_COMPANIONS)
        found.append(Location("hand-over store", handover.parent, names, HANDOVER_TABLES))
    if settings.ari.sounds_dir is not None:
        found.append(Location("summary sounds", settings.ari.sounds_dir, (SOUND_FILES,)))
    return found


class Perimeter:
    """The stores of one deployment, opened for ``callbot records`` (blocking)."""

    def __init__(self, settings: Settings, records: RecordStore) -> None:
        self._settings = settings
        self._salt = settings.privacy.caller_salt
        self.records = records
        self.handover = _handover_store(settings)

    @classmethod
    def open(cls, settings: Settings) -> Perimeter:
        records = open_store(settings.records.url, settings.privacy.caller_salt)
        try:
            return cls(settings, records)
        except BaseException:
            records.close()
            raise

    def close(self) -> None:
        self.records.close()
        if self.handover is not None:
            self.handover.close()

    @property
    def retention_days(self) -> int:
        return self._settings.privacy.retention_days

    def key(self, number: str) -> str:
        """The caller's key ("" for an anonymous number or without a salt)."""
        return caller_hash(number, self._salt) if self._salt else ""

    def purge(self, cutoff: float, now: float | None = None) -> dict[str, int]:
        """Retention: what is older than ``cutoff`` (unix s) everywhere (calls with their
        callbacks); callbacks owed past ``records.callback_expiry_hours`` expired (numbers
        erased), hand-over identifiers past their time redacted, the summary sounds of
        purged hand-overs and those left behind deleted; how many of each."""
        now = time.time() if now is None else now
        counts = {"calls": self.records.delete_older_than(cutoff)}
        owed_s = self._settings.records.callback_expiry_hours * 3600.0
        counts["expired callbacks"] = self.records.expire_callbacks(now - owed_s, now)
        counts["spooled records"] = len(
            [p for p, spooled in self._spooled() if _started_before(p, spooled, cutoff) and _rm(p)]
        )
        ids: set[str] = set()
        if self.handover is not None:
            self.handover.expire_identifiers(now)
            ids = set(self.handover.delete_older_than(cutoff))
        counts["hand-overs"] = len(ids)
        stale = now - self._settings.handover.identifiers_ttl_s
        counts["summary sounds"] = len(
            [p for p in self._sounds() if (_of(p, ids) or _mtime(p) < stale) and _rm(p)]
        )
        return counts

    def export(self, number: str) -> dict[str, Any]:
        """Everything kept about the caller of ``number`` (right of access)."""
        key = self.key(number)
        handovers = self.handover.of_caller(key) if self.handover is not None else []
        ids = {ctx.context_id for ctx, _ in handovers}
        return {
            "caller_hash": key,
            "calls": [call.to_dict() for call in self.records.calls_of_caller(key)] if key else [],
            "callbacks": [c.to_dict() for c in self.records.callbacks_of_caller(key)]
            if key
            else [],
            "spooled_records": [
                s.data or s.text for _, s in self._spooled() if _mentions(s, key, number)
            ],
            "handovers": [{**ctx.to_json(), "detail": detail} for ctx, detail in handovers],
            "summary_sounds": sorted(p.name for p in self._sounds() if _of(p, ids)),
        }

    def erase(self, number: str) -> dict[str, int]:
        """Delete everything kept about the caller of ``number`` (right to erasure)."""
        key = self.key(number)
        counts = {
            "calls": self.records.delete_caller(key) if key else 0,
            "callbacks": self.records.delete_callbacks_of_caller(key) if key else 0,
        }
        counts["spooled records"] = len(
            [p for p, spooled in self._spooled() if _mentions(spooled, key, number) and _rm(p)]
        )
        ids = self.handover.delete_caller(key) if self.handover is not None else []
        counts["hand-overs"] = len(ids)
        counts["summary sounds"] = len([p for p in self._sounds() if _of(p, set(ids)) and _rm(p)])
        return counts

    def _spooled(self) -> Iterator[tuple[Path, Spooled]]:
        """Each file of the records spool (a running process may replay and remove one
        meanwhile: it is then left out)."""
        root = self._settings.records.spool_path
        for pattern in SPOOL_FILES[:3]:
            for path in sorted(root.glob(pattern)):
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                yield path, Spooled(text)

    def _sounds(self) -> list[Path]:
        folder = self._settings.ari.sounds_dir
        return sorted(folder.glob(SOUND_FILES)) if folder is not None else []


def _handover_store(settings: Settings) -> HandoverTable | None:
    """The hand-overs: in the shared database, else in their SQLite file (None: none
    was ever written)."""
    salt, ttl_s = settings.privacy.caller_salt, settings.handover.identifiers_ttl_s
    shared = shared_database(settings)
    if shared is not None:
        from callbot.handover.postgres import PostgresHandoverStore

        return PostgresHandoverStore(shared, caller_salt=salt, identifiers_ttl_s=ttl_s)
    path = settings.handover.store_path
    if path is None or not path.exists():
        return None
    return HandoverStore(path, caller_salt=salt, identifiers_ttl_s=ttl_s)


@dataclass(frozen=True, slots=True)
class Spooled:
    """A spool file's text, and its JSON object when it is one (not ``*.corrupt``)."""

    text: str

    @property
    def data(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _rm(path: Path) -> bool:
    """Delete ``path`` (a spool file a running process may remove first); True if gone."""
    path.unlink(missing_ok=True)
    return True


def _of(sound: Path, context_ids: set[str]) -> bool:
    """Whether a summary sound (``<context id>.wav``, ``<context id>-noanswer.wav``...)
    belongs to one of ``context_ids``."""
    return sound.stem.split("-", 1)[0] in context_ids


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile


def _started_before(path: Path, spooled: Spooled, cutoff: float) -> bool:
    """A spooled call that started before ``cutoff`` (an unreadable file: by its date)."""
    data = spooled.data
    try:
        started = float(data["call"]["started_at"]) if data is not None else _mtime(path)
    except (KeyError, TypeError, ValueError):
        started = _mtime(path)
    return started < cutoff


def _mentions(spooled: Spooled, key: str, number: str) -> bool:
    """Whether a spooled record is the caller's: filed under ``key``, or naming
    ``number`` (a callback number) anywhere, in any of the forms Asterisk gives."""
    wanted = normalize_number(number)
    data = spooled.data
    if data is None:
        return any(term and term in spooled.text for term in (key, wanted))
    return any(
        (key and value == key) or (wanted and normalize_number(value) == wanted)
        for value in _strings(data)
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
