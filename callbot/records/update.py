"""One write of a call's record: the redacted call and what makes replaying it safe.

A call's record is written several times: when the call starts, after each completed
turn (state ``in_progress``), and once at its end (state ``final``). Every write carries
the call's :attr:`RecordUpdate.token` (one per call, made by the journal) and a
:attr:`RecordUpdate.revision` that grows with each write, so a store applies a write
only over an older one: replaying a write twice, or an old one after a newer, changes
nothing. The spool keeps updates on disk as :meth:`RecordUpdate.to_json` lines, so what
it holds is already redacted and the caller already reduced to a pseudonymous hash; the
one identifier in clear is the number of a callback request, which the agent must dial
(:mod:`callbot.records.callbacks`), until the database has it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callbot.records.callbacks import Callback
from callbot.records.model import FINAL, IN_PROGRESS, StoredCall, from_journal


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    call: StoredCall
    """The call as of this write (redacted; ``call.state`` is in_progress or final)."""
    token: str | None
    """The call's unique record token; None: a one-off record, always a new row."""
    revision: int = 0
    """Grows with each write of one call; a store keeps the highest it was given."""
    instance_id: str | None = None
    """The process writing the call (its heartbeat says whether the call still runs)."""
    finishes: tuple[str, ...] = ()
    """Call ids of an in-progress record this final record closes, when it was written by
    another process (a restart that found the caller stranded): that record is finalised
    with this outcome instead of a second record being stored."""
    callback: Callback | None = None
    """The callback the caller asked for, stored with the call (its hashes already set)."""

    @property
    def final(self) -> bool:
        return self.call.state == FINAL

    def to_json(self) -> str:
        return json.dumps(
            {
                "call": self.call.to_dict(),
                "token": self.token,
                "revision": self.revision,
                "instance_id": self.instance_id,
                "finishes": list(self.finishes),
                "callback": None if self.callback is None else self.callback.to_dict(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> RecordUpdate:
        data = json.loads(text)
        callback = data.get("callback")
        return cls(
            call=StoredCall.from_dict(data["call"]),
            token=data["token"],
            revision=int(data["revision"]),
            instance_id=data.get("instance_id"),
            finishes=tuple(data.get("finishes") or ()),
            callback=None if callback is None else Callback.from_dict(callback),
        )


def make_update(
    record: Mapping[str, Any],
    caller_hash: str | None,
    *,
    final: bool = True,
    instance_id: str | None = None,
    finishes: tuple[str, ...] = (),
    new_token: bool = False,
    callback: Callback | None = None,
) -> RecordUpdate:
    """The update for one journal dict (``CallJournal.snapshot()``).

    Token and revision come from the journal (``record_token``, ``revision``); a record
    without a token gets a fresh one when ``new_token`` (the writer's records must replay
    idempotently), else stays a one-off record.
    """
    call = from_journal(record, caller_hash, FINAL if final else IN_PROGRESS)
    token = record.get("record_token")
    if token is None and new_token:
        token = uuid.uuid4().hex
    return RecordUpdate(
        call=call,
        token=None if token is None else str(token),
        revision=int(record.get("revision") or 0),
        instance_id=instance_id,
        finishes=finishes,
        callback=callback,
    )
