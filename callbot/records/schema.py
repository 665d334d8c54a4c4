"""The records schema and its migrations, shared by SQLite and PostgreSQL.

Each migration is a list of statements, applied in one transaction; the database keeps
the number of migrations applied (SQLite: ``PRAGMA user_version``; PostgreSQL: the one
row of ``callbot_schema``). Append new migrations, never edit applied ones. The SQL is the
common subset of both (``DOUBLE PRECISION`` is REAL to SQLite); booleans are 0/1 integers.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE calls (
            call_id TEXT PRIMARY KEY,
            started_at DOUBLE PRECISION NOT NULL,
            duration_s DOUBLE PRECISION NOT NULL,
            transport TEXT NOT NULL,
            format TEXT NOT NULL,
            dialplan TEXT NOT NULL,
            dialplan_version INTEGER NOT NULL,
            voice TEXT NOT NULL,
            greeting_ms DOUBLE PRECISION,
            outcome TEXT NOT NULL,
            outcome_detail TEXT NOT NULL,
            transfer_queue TEXT,
            callback_queue TEXT,
            survey_score INTEGER,
            caller_hash TEXT,
            errors TEXT NOT NULL
        )""",
        """CREATE TABLE turns (
            call_id TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            caller_text TEXT,
            dtmf TEXT,
            intent TEXT,
            confidence DOUBLE PRECISION,
            outcome TEXT,
            latency_ms DOUBLE PRECISION,
            asr_ms DOUBLE PRECISION,
            barged_in INTEGER NOT NULL,
            hook_status TEXT,
            slots TEXT NOT NULL,
            bot_text TEXT NOT NULL,
            PRIMARY KEY (call_id, idx)
        )""",
        "CREATE INDEX calls_started_at ON calls (started_at)",
        "CREATE INDEX calls_caller_hash ON calls (caller_hash)",
    ),
    # 2: a call whose id was already stored is kept under "<id>#<n>" (never overwritten).
    ("ALTER TABLE calls ADD COLUMN duplicate_of TEXT",),
    # 3: who ended the call (bot, caller, asterisk).
    ("ALTER TABLE calls ADD COLUMN hung_up_by TEXT",),
    # 4: a record exists from the call's start (state in_progress, updated per turn) and is
    # finalised at its end. record_token: one per call (its updates update one row);
    # revision: only a newer update applies; instance_id: the process that writes it,
    # whose heartbeat (callbot_instances) says whether it is still alive.
    (
        "ALTER TABLE calls ADD COLUMN state TEXT NOT NULL DEFAULT 'final'",
        "ALTER TABLE calls ADD COLUMN record_token TEXT",
        "ALTER TABLE calls ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE calls ADD COLUMN instance_id TEXT",
        "CREATE UNIQUE INDEX calls_record_token ON calls (record_token)",
        "CREATE INDEX calls_in_progress ON calls (instance_id) WHERE state = 'in_progress'",
        """CREATE TABLE callbot_instances (
            instance_id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL
        )""",
    ),
    # 5: whether a turn gave the caller an answer (containment counts only such calls;
    # NULL for turns written before); callbacks as work items for the agents.
    (
        "ALTER TABLE turns ADD COLUMN answered INTEGER",
        """CREATE TABLE callbacks (
            callback_id TEXT PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            created_at DOUBLE PRECISION NOT NULL,
            number TEXT,
            queue TEXT NOT NULL,
            reason TEXT NOT NULL,
            intent TEXT,
            summary TEXT NOT NULL,
            language TEXT NOT NULL,
            preferred_time TEXT,
            caller_hash TEXT,
            number_hash TEXT,
            status TEXT NOT NULL,
            claimed_by TEXT,
            claimed_at DOUBLE PRECISION,
            closed_at DOUBLE PRECISION,
            result TEXT
        )""",
        "CREATE INDEX callbacks_created_at ON callbacks (created_at)",
        "CREATE INDEX callbacks_call_id ON callbacks (call_id)",
        "CREATE INDEX callbacks_caller_hash ON callbacks (caller_hash)",
        "CREATE INDEX callbacks_number_hash ON callbacks (number_hash)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

CALL_COLUMNS = (
    "call_id",
    "started_at",
    "duration_s",
    "transport",
    "format",
    "dialplan",
    "dialplan_version",
    "voice",
    "greeting_ms",
    "outcome",
    "outcome_detail",
    "transfer_queue",
    "callback_queue",
    "survey_score",
    "caller_hash",
    "errors",
    "duplicate_of",
    "hung_up_by",
    "state",
)
REVISION_COLUMNS = ("record_token", "revision", "instance_id")
"""Bookkeeping of in-place updates (:class:`~callbot.records.update.RecordUpdate`); not
part of :class:`~callbot.records.model.StoredCall`."""
TURN_COLUMNS = (
    "call_id",
    "idx",
    "caller_text",
    "dtmf",
    "intent",
    "confidence",
    "outcome",
    "latency_ms",
    "asr_ms",
    "barged_in",
    "hook_status",
    "slots",
    "bot_text",
    "answered",
)
CALLBACK_COLUMNS = (
    "callback_id",
    "call_id",
    "created_at",
    "number",
    "queue",
    "reason",
    "intent",
    "summary",
    "language",
    "preferred_time",
    "caller_hash",
    "number_hash",
    "status",
    "claimed_by",
    "claimed_at",
    "closed_at",
    "result",
)
"""In the order of :class:`~callbot.records.callbacks.Callback`'s fields."""
