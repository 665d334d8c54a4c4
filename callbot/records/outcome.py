"""How a call ended: the one vocabulary of call outcomes, for whatever ends a call.

A ``StrEnum``: each member is its string, so what the records store, what the JSON says
and the metrics' labels are the same values as before outcomes were an enum.
"""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """A call's outcome, as its record says."""

    IN_PROGRESS = "in_progress"
    """The call goes on (its record is written from its first second)."""
    ANSWERED = "answered"
    """Resolved by the bot: it ended the call once the caller was done (goodbye after an
    answer, a ``then: hangup`` intent, the survey). Containment further needs a turn
    that gave an answer (:attr:`~callbot.records.model.StoredCall.question_answered`)."""
    NO_INPUT = "no_input"
    """The bot hung up after too many silences in a row."""
    CALLBACK_REQUESTED = "callback_requested"
    """Out of hours, the caller left a number to be called back (a callback item)."""
    OUT_OF_HOURS = "out_of_hours"
    """Out of hours, the bot said when agents answer and hung up (no callback)."""
    UNRESOLVED = "unresolved"
    """The bot hung up without an answer: a value it needed could not be had."""
    TRANSFERRED = "transferred"
    """The bot handed the caller to a human queue."""
    TRANSFER_FAILED = "transfer_failed"
    """The bot asked for a transfer and call control could not carry it out."""
    TRANSFER_UNAVAILABLE = "transfer_unavailable"
    """A transfer asked for where no call control (ARI) is configured."""
    HUNG_UP_BY_CALLER = "hung_up_by_caller"
    FAILED = "failed"
    """The call's pipeline failed, or the media connection dropped on the bot's side."""
    PROTOCOL_ERROR = "protocol_error"
    """The media connection broke the protocol (malformed or oversize message)."""
    MEDIA_TIMEOUT = "media_timeout"
    """Nothing came from the line any more (or never did): the bot ended the call."""
    CAPACITY = "capacity"
    """Refused at the concurrent-call limit: neither failed nor transferred."""
    TRANSFERRED_ON_SHUTDOWN = "transferred_on_shutdown"
    ENDED_ON_SHUTDOWN = "ended_on_shutdown"
    """callbot stopped during the call and no call control could take the caller."""
    INTERRUPTED = "interrupted"
    """callbot died during the call (recorded by the next process)."""
    FAILED_OVER = "failed_over"
    """The worker serving the call died (cluster): the control role gave the caller to
    another worker (its own record goes on as ``<id>#2``) or to the fallback queue."""
    SENT_TO_FALLBACK = "sent_to_fallback"
    """The ARI bridge gave the caller to a human before any bot leg came up (callbot
    stopping, bot unreachable...)."""
