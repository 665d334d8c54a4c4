"""The hand-over store: every context, durable before the caller leaves the bot.

SQLite, WAL, ``synchronous=FULL``: hand-overs are rare, losing one is not an option.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from callbot.handover.context import HandoverContext

BUSY_TIMEOUT_S = 5.0


class HandoverStore:
    """One small SQLite table: ``context_id`` -> the context's JSON (plus the last detail).

    Blocking; the hub calls it from a thread. One connection, shared under a lock.
    """

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the commit is on disk (not only in the OS cache) when save() returns.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS handovers ("
                " context_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
                " detail TEXT NOT NULL DEFAULT '', body TEXT NOT NULL)"
            )
            self._conn.execute(
                "CREATE INDEX IF NOT EXISTS handovers_created ON handovers (created_at)"
            )

    def save(self, ctx: HandoverContext, detail: str = "") -> None:
        body = json.dumps(ctx.to_json(), ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT INTO handovers (context_id, created_at, detail, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (context_id) DO UPDATE SET detail = excluded.detail,"
                " body = excluded.body",
                (ctx.context_id, ctx.created_at, detail, body),
            )

    def load(self, context_id: str) -> tuple[HandoverContext, str] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body, detail FROM handovers WHERE context_id = ?", (context_id,)
            ).fetchone()
        return None if row is None else (HandoverContext.from_json(json.loads(row[0])), row[1])

    def newest(self, limit: int) -> list[tuple[HandoverContext, str]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT body, detail FROM handovers ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [(HandoverContext.from_json(json.loads(body)), detail) for body, detail in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
