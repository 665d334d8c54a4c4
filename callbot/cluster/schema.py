"""The cluster's tables in the shared PostgreSQL database (beside the call records).

``cluster_nodes``: one row per running control or worker process, refreshed every
``cluster.heartbeat_s`` with the database's clock (hosts' clocks may drift). Placement
reads it; ``/api/cluster`` and the dashboard show it.

``cluster_commands``: what a worker asks of the control role (``transfer`` a caller to
a queue) or tells it (``ended``: the bot ends this call, so a media leg that drops next
is no failure to recover from). A row is committed before the control is woken
(``NOTIFY``), so a request survives a control takeover: the new leader carries out what
is still pending. A payload (the hand-over context: caller data) is emptied once the
command is carried out, and rows are deleted after :data:`COMMANDS_KEPT_S`.

``cluster_dialplans``: the dialplan version the workers serve (the newest a worker
accepted from its file), so a reload on one worker reaches all of them and a file one
refuses reaches none (:mod:`callbot.cluster.dialplans`).
"""

from __future__ import annotations

SCHEMA_LOCK = 0x63616C6C636C75
"""Advisory lock key held while the tables are created (processes start together)."""
LEADER_LOCK = 0x63616C6C6C6472
"""Advisory lock key the control leader holds for as long as it leads (one Asterisk)."""

COMMANDS_CHANNEL = "callbot_commands"
"""``NOTIFY`` channel: a command was written (payload: its id)."""
DIALPLANS_CHANNEL = "callbot_dialplans"
"""``NOTIFY`` channel: a dialplan version was published (payload: its name)."""
NODES_CHANNEL = "callbot_nodes"
"""``NOTIFY`` channel: a node changed state (draining, stopped; payload: its name)."""

DDL = (
    """
    CREATE TABLE IF NOT EXISTS cluster_nodes (
        node TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('control', 'worker')),
        websocket_connection TEXT NOT NULL DEFAULT '',
        audiosocket_address TEXT NOT NULL DEFAULT '',
        ready BOOLEAN NOT NULL DEFAULT FALSE,
        draining BOOLEAN NOT NULL DEFAULT FALSE,
        leader BOOLEAN NOT NULL DEFAULT FALSE,
        active_calls INTEGER NOT NULL DEFAULT 0,
        capacity INTEGER NOT NULL DEFAULT 0,
        dialplan_version TEXT NOT NULL DEFAULT '',
        started_at DOUBLE PRECISION NOT NULL,
        heartbeat_at DOUBLE PRECISION NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS cluster_commands (
        id BIGSERIAL PRIMARY KEY,
        call_id TEXT NOT NULL,
        node TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('transfer', 'ended')),
        payload JSONB NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'running', 'done', 'failed')),
        result TEXT NOT NULL DEFAULT '',
        done_at DOUBLE PRECISION
    )
    """,
    "CREATE INDEX IF NOT EXISTS cluster_commands_pending ON cluster_commands (id) "
    "WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS cluster_commands_call ON cluster_commands (call_id)",
    """
    CREATE TABLE IF NOT EXISTS cluster_dialplans (
        name TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        text TEXT NOT NULL,
        published_by TEXT NOT NULL,
        published_at DOUBLE PRECISION NOT NULL
    )
    """,
)
COMMANDS_KEPT_S = 3600.0
"""How long carried-out commands stay (for ``callbot cluster status`` and debugging)."""
NOW = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
"""The database's clock, in Unix seconds: every process compares times on one clock."""
