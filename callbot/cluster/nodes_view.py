"""What ops see of the cluster from any node: its nodes, and every call in progress.

``/api/cluster`` lists the rows of ``cluster_nodes``; ``/api/calls`` adds the calls in
progress on every node, read from the records table (each call's record is written at
its start and after every turn) with the process that serves it (its heartbeat row in
``callbot_instances``). Text is as the records keep it (redacted); the caller's key is
left out, as from ``/api/calls`` of one process.

Read-only, one short connection per request: ops pages poll every few seconds, and
nothing is held open between two polls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import psycopg

from callbot.cluster import db
from callbot.cluster.nodes import NodeRow, list_nodes
from callbot.cluster.schema import NOW
from callbot.records.model import IN_PROGRESS, StoredCall, StoredTurn
from callbot.records.rows import call_from_row, turn_from_row
from callbot.records.schema import CALL_COLUMNS, TURN_COLUMNS

MAX_CALLS = 1_000
"""Calls in progress listed at most (oldest first)."""

_CALLS = f"""
SELECT {", ".join(f"c.{name}" for name in CALL_COLUMNS)}, c.instance_id, i.host, i.pid,
    {NOW} - i.heartbeat_at
FROM calls c LEFT JOIN callbot_instances i ON i.instance_id = c.instance_id
WHERE c.state = '{IN_PROGRESS}' ORDER BY c.started_at, c.call_id LIMIT {MAX_CALLS}
"""
_TURNS = f"""
SELECT {", ".join(f"t.{name}" for name in TURN_COLUMNS)}
FROM turns t JOIN calls c ON c.call_id = t.call_id
WHERE c.state = '{IN_PROGRESS}' ORDER BY t.call_id, t.idx
"""


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call in progress on some node, and the process that serves it."""

    call: StoredCall
    instance_id: str | None
    """The records writer of that process (None: written before records said so)."""
    host: str | None
    pid: int | None
    heartbeat_age_s: float | None
    """Since that process last said it was alive (None: no heartbeat row: it stopped)."""

    def to_json(self) -> dict[str, Any]:
        node = {
            "host": self.host,
            "pid": self.pid,
            "instance_id": self.instance_id,
            "heartbeat_age_s": self.heartbeat_age_s,
        }
        return {**self.call.to_dict(), "caller_hash": None, "node": node}


def node_json(row: NodeRow) -> dict[str, Any]:
    return dataclasses.asdict(row)


async def nodes(url: str) -> list[NodeRow]:
    """Every node's row, heartbeat ages on the database's clock ([] where no cluster
    runs: ``callbot serve`` writes no such table)."""
    async with await db.connect(url) as conn:
        try:
            return await list_nodes(conn)
        except psycopg.errors.UndefinedTable:
            return []


async def calls_in_progress(url: str) -> list[LiveCall]:
    """Every call in progress on any node, oldest first (at most :data:`MAX_CALLS`)."""
    async with await db.connect(url) as conn:
        try:
            cur = await conn.execute(_CALLS)
        except psycopg.errors.UndefinedTable:
            return []  # no call recorded yet: the records schema is not there
        calls = await cur.fetchall()
        turns: dict[str, list[StoredTurn]] = {}
        for row in await (await conn.execute(_TURNS)).fetchall():
            turns.setdefault(row[0], []).append(turn_from_row(row))
    width = len(CALL_COLUMNS)
    return [
        LiveCall(call_from_row(row[:width], turns.get(row[0], [])), *row[width:]) for row in calls
    ]
