"""What the dialog engine asks the call runner to do, and what each turn meant.

Actions are plain values: the engine never speaks, transfers or hangs up itself,
so it can be tested without audio or sockets, and the runner decides how (Piper,
ARI redirect, closing the media connection).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    """Sentence to synthesise, templates already filled."""
    interruptible: bool = True
    """Whether caller speech may cut it short (barge-in); not for last words before an end."""


@dataclass(frozen=True, slots=True)
class Transfer:
    queue: str
    """Queue (or extension) of human agents to hand the call to."""
    reason: str
    summary: str | None = None
    """One line for the agent: intents recognised so far and the last thing said."""


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str


Action = Say | Transfer | Hangup


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
    ERROR = "error"
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

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)
