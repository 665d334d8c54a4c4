"""What the dialog engine asks the call runner to do, and what each turn meant.

Actions are plain values: the engine never speaks, transfers or hangs up itself,
so it can be tested without audio or sockets, and the runner decides how (Piper,
ARI redirect, closing the media connection).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    """Sentence to synthesise, templates already filled."""
    interruptible: bool = True
    """Whether caller speech may cut it short (barge-in); not for last words before an end."""
    audio: str | None = None
    """Pre-recorded file to play instead of synthesising ``text`` (the intent's ``audio``,
    as written in the dialplan: relative to the dialplan file)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    queue: str
    """Queue (or extension) of human agents to hand the call to."""
    reason: str
    summary: str | None = None
    """One line for the agent: intents recognised so far and the last thing said."""
    skill: str | None = None
    """Skill the agent needs, as the dialplan names it (routing already applied)."""
    language: str | None = None
    """Language the agent must speak (BCP 47)."""
    slots: tuple[tuple[str, str], ...] = ()
    """Values the caller gave (canonical forms), for the agent's screen; may be personal
    data (NIR): never log them."""


class Ending(enum.StrEnum):
    """Why the bot hangs up: what the call's outcome will say (KPIs tell them apart)."""

    RESOLVED = "resolved"
    """The caller has what they came for, or said they were done."""
    NO_INPUT = "no_input"
    """Too many silences in a row."""
    CALLBACK = "callback"
    """Out of hours, a callback was requested."""
    CLOSED = "closed"
    """Out of hours, no callback asked for (or none offered)."""
    UNRESOLVED = "unresolved"
    """The bot gave up on a value it needed (a slot that could not be had)."""
    ERROR = "error"
    """Something failed; the dialplan's ``on_error`` hangs up."""


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str
    ending: Ending = Ending.RESOLVED


@dataclass(frozen=True, slots=True)
class Fetch:
    """Ask the back-office, then call ``DialogEngine.on_hook_result`` with the outcome.

    Always the last action of its turn. :func:`callbot.dialplan.backoffice.fetch`
    performs it and never raises.
    """

    hook: str
    method: Literal["GET", "POST"]
    url: str
    """Complete URL, template filled with URL-encoded values."""
    params: tuple[tuple[str, str], ...]
    """Query parameters (GET) or JSON object members (POST): the slots the hook sends."""
    timeout_s: float


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """The caller asked to be called back (out of hours); record it for the agents.

    Informational: it never ends the call by itself (a Hangup follows).
    """

    number: str
    """Phone number to call, 10 digits (personal data: never logged)."""
    queue: str
    reason: str = "out of hours"
    """Why the caller wanted an agent (the transfer reason that met closed doors)."""
    intent: str | None = None
    """The caller's last request, when one was recognised."""
    language: str | None = None
    """The language the agent should call back in (BCP 47)."""
    preferred_time: str | None = None
    """When the caller would like to be called, as they said it (if the dialplan asked)."""


Action = Say | Transfer | Hangup | Fetch | CallbackRequest


HookStatus = Literal["ok", "timeout", "error", "malformed", "not_found"]


@dataclass(frozen=True, slots=True)
class HookResult:
    """How a :class:`Fetch` went: the JSON object of a 2xx reply, or why there is none."""

    hook: str
    status: HookStatus
    """``ok``: 2xx with a JSON object; ``not_found``: 404 or 403 (no file for this
    identity); ``timeout``; ``error``: 5xx, other status, network; ``malformed``: not a
    JSON object (or, seen by the engine, a declared field missing)."""
    data: Mapping[str, Any] | None = None
    detail: str = ""
    """For logs: status code or exception class; never the reply body."""


class TurnOutcome(enum.StrEnum):
    """What a turn amounted to, for the call record."""

    GREETING = "greeting"
    MATCHED = "matched"
    """An intent was answered (from speech with enough confidence, or a keypad digit)."""
    CONFIRMED = "confirmed"
    """The caller said yes to "did you mean ...?"; the intent was answered."""
    CLARIFY = "clarify"
    """Unsure match; the bot asked a yes/no question about ``intent``."""
    NO_MATCH = "no_match"
    NO_INPUT = "no_input"
    FOLLOW_UP = "follow_up"
    """The caller answered the follow-up question with a bare yes or no."""
    DETAILS = "details"
    """The caller answered "more details?" after a short answer: yes (the intent's details
    were said) or no (they were not; a silence is a ``no_input`` turn). The answer's own
    turn was the one that answered the question."""
    ERROR = "error"
    SLOT = "slot"
    """A slot was asked, re-asked, read back or captured (see ``TurnResult.slots``)."""
    HOOK = "hook"
    """The back-office answer (or its fallback sentence) was said."""
    CLOSED = "closed"
    """Out of hours: the opening hours were said instead of a transfer."""
    CALLBACK = "callback"
    """A step of the out-of-hours callback offer."""
    SURVEY = "survey"
    """The satisfaction question was asked or answered (``TurnResult.survey_score``)."""
    IGNORED = "ignored"
    """The call had already ended; nothing to do."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    """The actions of one turn, in order, and what the turn meant.

    Iterating a result iterates its actions, so ``for action in engine.start()`` works.
    """

    actions: tuple[Action, ...]
    outcome: TurnOutcome
    intent: str | None = None
    """Intent answered or asked about in this turn."""
    confidence: float | None = None
    """Matcher confidence in [0, 1] for ``intent`` (1.0 for a keypad digit)."""
    runner_up: str | None = None
    ended: bool = False
    """The turn ended the call (its last action is a Transfer or a Hangup)."""
    slots: tuple[tuple[str, str], ...] = ()
    """Slots captured (validated, confirmed if asked) in this turn: name, canonical value."""
    survey_score: int | None = None
    """Satisfaction score 1-5 given in this turn."""
    hook_status: HookStatus | None = None
    """The back-office reply this turn acted on, as the engine judged it (a 2xx reply
    missing a declared field is ``malformed``: its fallback was said)."""
    answered: bool = False
    """The turn gave the caller the answer of ``intent`` (nothing more awaited for it:
    no slot question, no back-office reply, no did-you-mean; no hand-over)."""

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)
