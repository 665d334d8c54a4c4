"""The hand-over context: what an agent must know when a caller reaches a human queue.

Built once, when the bot decides to transfer (:func:`callbot.handover.build.build_context`),
stored by the hub *before* the caller leaves the bot, shown on the agent console and sent
to CRMs as JSON. Caller text in ``turns`` is already redacted; ``slots`` and
``caller_number`` are personal data the agent needs during the hand-over only: never log
them. Once the hand-over is over (or after ``handover.identifiers_ttl_s``) the store
replaces them by placeholders (:meth:`HandoverContext.without_identifiers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

STATUSES = (
    "queued",
    "answered",
    "abandoned",
    "no_answer",
    "callback_requested",
    "message_left",
    "transfer_failed",
)
"""Every status a hand-over can be in (``queued`` first, the others are outcomes)."""

NOBODY_TOOK_IT = frozenset({"abandoned", "transfer_failed"})
"""Outcomes after which no agent will need the caller's identifiers."""


@dataclass(frozen=True, slots=True)
class HandoverTurn:
    speaker: Literal["caller", "bot"]
    text: str
    """Caller text already redacted (:func:`callbot.privacy.redact.redact`)."""
    intent: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "text": self.text, "intent": self.intent}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HandoverTurn:
        speaker = data["speaker"]
        if speaker not in ("caller", "bot"):
            raise ValueError(f"invalid speaker {speaker!r}")
        intent = data.get("intent")
        return cls(speaker=speaker, text=str(data["text"]), intent=_opt_str(intent))


@dataclass(frozen=True, slots=True)
class HandoverContext:
    context_id: str
    """uuid4 hex."""
    call_id: str
    created_at: float
    """Unix seconds, when the bot decided to hand over."""
    caller_number: str | None
    """The agent needs it (callback); never logged; ``<TEL>`` once expired."""
    queue: str
    skill: str | None
    language: str
    """BCP 47 (``fr-FR``...)."""
    reason: str
    """Why the bot transfers, in the call's language (:mod:`callbot.handover.reasons`)."""
    summary: str
    """One or two sentences for the agent."""
    intents: tuple[str, ...]
    slots: tuple[tuple[str, str], ...]
    """Captured values the agent needs (NIR checked...), as the engine gives them;
    ``<NAME>`` placeholders once expired."""
    identity_checked: bool
    turns: tuple[HandoverTurn, ...]
    bot_time_s: float
    """Time the caller spent with the bot."""
    status: str = "queued"
    """One of :data:`STATUSES`."""
    status_at: float | None = None
    """Unix seconds of the last status change (None while ``queued``)."""
    reason_code: str = ""
    """The engine's own reason (``not understood``, ``slot nir no input``...), for CRMs."""
    identifiers_expired: bool = False
    """``caller_number`` and ``slots`` values were replaced by placeholders."""

    def with_status(self, status: str, at: float) -> HandoverContext:
        if status not in STATUSES:
            raise ValueError(f"unknown hand-over status {status!r}")
        return replace(self, status=status, status_at=at)

    def without_identifiers(self) -> HandoverContext:
        """This context once no agent needs the caller's number nor the captured values:
        each replaced by a placeholder (``<TEL>``, ``<NIR>``...), the rest kept."""
        return replace(
            self,
            caller_number=None if self.caller_number is None else "<TEL>",
            slots=tuple((name, f"<{name.upper()}>") for name, _ in self.slots),
            identifiers_expired=True,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "context_id": self.context_id,
            "call_id": self.call_id,
            "created_at": self.created_at,
            "caller_number": self.caller_number,
            "queue": self.queue,
            "skill": self.skill,
            "language": self.language,
            "reason": self.reason,
            "summary": self.summary,
            "intents": list(self.intents),
            "slots": [[name, value] for name, value in self.slots],
            "identity_checked": self.identity_checked,
            "turns": [turn.to_json() for turn in self.turns],
            "bot_time_s": self.bot_time_s,
            "status": self.status,
            "status_at": self.status_at,
            "reason_code": self.reason_code,
            "identifiers_expired": self.identifiers_expired,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HandoverContext:
        """Inverse of :meth:`to_json`; raises KeyError/ValueError/TypeError on bad input."""
        status = str(data.get("status", "queued"))
        if status not in STATUSES:
            raise ValueError(f"unknown hand-over status {status!r}")
        status_at = data.get("status_at")
        return cls(
            context_id=str(data["context_id"]),
            call_id=str(data["call_id"]),
            created_at=float(data["created_at"]),
            caller_number=_opt_str(data.get("caller_number")),
            queue=str(data["queue"]),
            skill=_opt_str(data.get("skill")),
            language=str(data["language"]),
            reason=str(data["reason"]),
            summary=str(data["summary"]),
            intents=tuple(str(i) for i in data.get("intents", ())),
            slots=tuple((str(n), str(v)) for n, v in data.get("slots", ())),
            identity_checked=bool(data.get("identity_checked", False)),
            turns=tuple(HandoverTurn.from_json(t) for t in data.get("turns", ())),
            bot_time_s=float(data.get("bot_time_s", 0.0)),
            status=status,
            status_at=None if status_at is None else float(status_at),
            reason_code=str(data.get("reason_code", "")),
            identifiers_expired=bool(data.get("identifiers_expired", False)),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
