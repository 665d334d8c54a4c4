"""Records of calls no pipeline of this process carried: a caller the ARI bridge sent
on before any bot leg came up, one released after a crash, one whose worker failed."""

from __future__ import annotations

import time
from typing import Any

from callbot.audio.formats import AudioFormat
from callbot.media.types import CallInfo
from callbot.records.outcome import Outcome


def ari_call_info(call_id: str, caller_number: str) -> CallInfo:
    return CallInfo(
        call_id=call_id,
        transport="ari",
        media_format=AudioFormat.from_asterisk_name("slin16"),
        caller_number=caller_number or None,
        channel_id=call_id,
    )


def record_without_bot(
    call_id: str, caller_number: str, outcome: Outcome, detail: str, to: str, fallback_queue: str
) -> dict[str, Any]:
    """The call's record. ``to``: ``fallback`` (the queue ``fallback_queue``), ``hangup``,
    ``gone`` (the caller had left) or ``worker`` (moved to another worker)."""
    return {
        "call_id": call_id,
        "started_at": time.time(),
        "transport": "ari",
        "outcome": outcome,
        "outcome_detail": detail,
        "hung_up_by": {"gone": "caller", "worker": None}.get(to, "bot"),
        "transfer_queue": fallback_queue if to == "fallback" else None,
        "turns": [],
        "errors": [],
    }
