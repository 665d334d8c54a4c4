"""Stored objects to database rows and back, and the cursor, for both backends.

Lists (errors, slots, bot text) are JSON text; booleans are 0/1 integers (a NULL
``answered``: a turn recorded before turns said so). Column orders are
:mod:`callbot.records.schema`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from callbot.records.callbacks import Callback
from callbot.records.model import StoredCall, StoredTurn
from callbot.records.schema import CALL_COLUMNS, CALLBACK_COLUMNS, TURN_COLUMNS


class Cursor(Protocol):
    """The DB-API cursor both drivers give (``?`` or ``%s`` placeholders)."""

    def execute(self, sql: Any, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: Any, params: Sequence[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


def call_row(call: StoredCall) -> tuple[Any, ...]:
    values = {name: getattr(call, name) for name in CALL_COLUMNS}
    values["errors"] = json.dumps(list(call.errors), ensure_ascii=False)
    return tuple(values[name] for name in CALL_COLUMNS)


def turn_row(call_id: str, turn: StoredTurn) -> tuple[Any, ...]:
    return (
        call_id,
        turn.index,
        turn.caller_text,
        turn.dtmf,
        turn.intent,
        turn.confidence,
        turn.outcome,
        turn.latency_ms,
        turn.asr_ms,
        int(turn.barged_in),
        turn.hook_status,
        json.dumps(list(turn.slots)),
        json.dumps(list(turn.bot_text), ensure_ascii=False),
        None if turn.answered is None else int(turn.answered),
    )


def call_from_row(row: Sequence[Any], turns: list[StoredTurn]) -> StoredCall:
    data = dict(zip(CALL_COLUMNS, row, strict=True))
    data["errors"] = tuple(json.loads(data["errors"]))
    return StoredCall(**data, turns=tuple(turns))


def turn_from_row(row: Sequence[Any]) -> StoredTurn:
    data = dict(zip(TURN_COLUMNS, row, strict=True))
    return StoredTurn(
        index=data["idx"],
        caller_text=data["caller_text"],
        dtmf=data["dtmf"],
        intent=data["intent"],
        confidence=data["confidence"],
        outcome=data["outcome"],
        latency_ms=data["latency_ms"],
        asr_ms=data["asr_ms"],
        barged_in=bool(data["barged_in"]),
        hook_status=data["hook_status"],
        slots=tuple(json.loads(data["slots"])),
        bot_text=tuple(json.loads(data["bot_text"])),
        answered=None if data["answered"] is None else bool(data["answered"]),
    )


def callback_row(callback: Callback) -> tuple[Any, ...]:
    return tuple(getattr(callback, name) for name in CALLBACK_COLUMNS)


def callback_from_row(row: Sequence[Any]) -> Callback:
    return Callback(**dict(zip(CALLBACK_COLUMNS, row, strict=True)))
