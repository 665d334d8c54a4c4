"""Where call records go (the ``[records]`` section of the settings)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from callbot.errors import ConfigError

DEFAULT_SPOOL_DIR = Path("data/records-spool")
"""Spool of a PostgreSQL (or in-memory) store when ``spool_dir`` is not set and the
settings were not placed in a data directory (:meth:`RecordsSettings.placed`)."""
DATABASE_NAME = "callbot-records.sqlite3"
SPOOL_NAME = "records-spool"


@dataclass(frozen=True, slots=True)
class RecordsSettings:
    url: str = ""
    """A SQLite file path (or ``sqlite:///path``), or ``postgresql://user@host/db`` for
    several workers sharing one database. The password belongs in ``PGPASSWORD`` or
    ``~/.pgpass``, or in ``CALLBOT_RECORDS_URL_FILE``; it is never logged. Empty:
    ``callbot-records.sqlite3`` in ``data_dir``."""
    enabled: bool = True
    """Store a record of every call (KPIs and the dashboard need them)."""
    max_pending: int = 1000
    """Records waiting in memory for the writer thread; beyond this (the writer stuck on a
    database that stopped answering), new ones are dropped, each with an ERROR line."""
    spool_dir: str | None = None
    """While the database is down, records wait here on disk (one fsync'd file per call)
    and are replayed in order when it is back. Default: next to the SQLite file
    (``<file>.spool``), or ``records-spool`` in ``data_dir`` with PostgreSQL. Workers of
    one host may share it: each takes a slot of its own (``0/``, ``1/``...)."""
    spool_max_records: int = 10_000
    """Calls the spool may hold (a call's updates share one entry). When full, a call's
    final record takes the place of the oldest in-progress one; a record that finds no
    place is dropped with an ERROR line and ``callbot_records_lost_total``."""
    spool_max_mb: float = 256.0
    """Disk the spool may use, in MiB (the same rule as ``spool_max_records``)."""
    retry_max_s: float = 30.0
    """Longest wait between two tries of a database that is down (backoff from 0.5 s)."""
    heartbeat_s: float = 10.0
    """How often this process tells the database it is alive, and looks for the calls of
    processes that are not."""
    interrupted_after_s: float = 60.0
    """A call still in progress whose process has given no heartbeat for this long is
    finalised as ``interrupted`` (the process died: ``kill -9``, crash, power loss). Keep
    it well above ``heartbeat_s`` and above clock skew between database and hosts."""
    callback_expiry_hours: float = 72.0
    """A callback no agent has closed this long after the caller asked is marked expired
    and its number erased (a promise not kept, counted in the KPIs). The number to call
    back is kept readable only while the callback is owed."""

    def __post_init__(self) -> None:
        positive = ("max_pending", "spool_max_records", "spool_max_mb", "retry_max_s")
        for name in (*positive, "callback_expiry_hours"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"records.{name} must be positive")
        if not 0 < self.heartbeat_s < self.interrupted_after_s:
            raise ConfigError("records: need 0 < heartbeat_s < interrupted_after_s")

    @property
    def spool_max_bytes(self) -> int:
        return int(self.spool_max_mb * 2**20)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file records go to; None for PostgreSQL or in memory."""
        path = self.url.removeprefix("sqlite:///")
        if not path or "://" in path or path.endswith(":memory:"):
            return None
        return Path(path)

    @property
    def spool_path(self) -> Path:
        """The spool directory: ``spool_dir``, else derived from ``url``."""
        if self.spool_dir:
            return Path(self.spool_dir)
        database = self.sqlite_path
        if database is None:
            return DEFAULT_SPOOL_DIR
        return database.with_name(database.name + ".spool")

    def placed(self, data_dir: Path) -> RecordsSettings:
        """These settings with the database and the spool in ``data_dir`` where unset."""
        url = self.url or str(data_dir / DATABASE_NAME)
        spool_dir = self.spool_dir
        if not spool_dir and replace(self, url=url).sqlite_path is None:
            spool_dir = str(data_dir / SPOOL_NAME)
        return replace(self, url=url, spool_dir=spool_dir)
