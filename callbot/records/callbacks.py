"""A callback request as a work item: asked for by a caller, claimed and closed by agents.

Out of hours the bot offers a callback and notes the caller's number
(:class:`~callbot.dialplan.actions.CallbackRequest`); the call leaves it here, with what
the agent needs to call back (reason, the hand-over summary, language, preferred time).
It is stored with the call's record (same transaction, same spool while the database is
down), shown on the agent console, sent to the hand-over webhook and counted in KPIs.

Its life::

    open ──claim──> claimed ──close(result)──> closed
      ^               │
      └───release─────┘
    open/claimed, older than the expiry ──> expired

Privacy: the number is the one identifier kept readable, because the agent must dial
it; it is erased (NULL) once the item is closed or has expired. The item is filed under
the pseudonymous hashes of the calling number and of the number to call
(:func:`callbot.privacy.identity.caller_hash`), so export and erasure by caller find it;
its texts (summary, preferred time) are redacted like the call's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from callbot.records.sanitize import redact_text

OPEN = "open"
CLAIMED = "claimed"
CLOSED = "closed"
EXPIRED = "expired"
STATUSES = (OPEN, CLAIMED, CLOSED, EXPIRED)
PENDING = (OPEN, CLAIMED)
"""Statuses of a callback still owed to the caller (its number is kept)."""
RESULTS = ("reached", "no_answer", "wrong_number")
"""How a closed callback went."""
REACHED = "reached"
AGENT_MAX_CHARS = 80


@dataclass(frozen=True, slots=True)
class Callback:
    callback_id: str
    """uuid4 hex, made when the request is built: a replayed write never duplicates it."""
    call_id: str
    """The call it was asked in (its stored id)."""
    created_at: float
    """Unix seconds, when the caller asked."""
    number: str | None
    """The number to call back; None once the item is closed or expired. Never logged."""
    queue: str
    """The queue whose agents call back."""
    reason: str
    """Why the caller wanted an agent (the transfer reason that met closed doors)."""
    intent: str | None
    """The caller's last request, when one was recognised."""
    summary: str
    """The hand-over summary (:mod:`callbot.handover.summary`), redacted."""
    language: str
    """The language to call back in (BCP 47)."""
    preferred_time: str | None = None
    """When the caller would like to be called, as said (redacted); None: not asked."""
    caller_hash: str | None = None
    """Pseudonym of the number the caller called from (export, erasure)."""
    number_hash: str | None = None
    """Pseudonym of the number to call back (export, erasure)."""
    status: str = OPEN
    """One of :data:`STATUSES`."""
    claimed_by: str | None = None
    """The agent who took it (kept after closing: who called)."""
    claimed_at: float | None = None
    closed_at: float | None = None
    """Unix seconds it was closed, or found expired."""
    result: str | None = None
    """One of :data:`RESULTS` once closed."""

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def stored(self) -> Callback:
        """As the store keeps it: texts redacted (the number stays: the agent dials it)."""
        return replace(
            self,
            summary=redact_text(self.summary) or "",
            preferred_time=redact_text(self.preferred_time),
        )

    def for_agents(self) -> dict[str, Any]:
        """The item for the console, the webhook and CRMs (the ``agent`` role): the number
        while owed, no pseudonyms."""
        data = self.to_dict()
        del data["caller_hash"], data["number_hash"]
        return data

    def for_ops(self) -> dict[str, Any]:
        """The item for ops tooling (``/api/callbacks``): no number, as ``/api/*`` carries
        no identifier."""
        return {**self.for_agents(), "number": None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Callback:
        """The inverse of :meth:`to_dict` (unknown keys are an error)."""
        return cls(**data)


def valid_agent(name: str) -> str | None:
    """An agent's name as given to claim or close (trimmed), or None if unusable."""
    name = " ".join(name.split())
    return name if 0 < len(name) <= AGENT_MAX_CHARS else None
