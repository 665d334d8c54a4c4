"""What the dialog engine is waiting for, as one explicit state.

The engine is always in exactly one phase, and each phase has one handler that says
what the caller's words, keys and silences mean there (:mod:`callbot.dialplan.engine`
maps them): a move that changes what the engine waits for replaces the phase, so no
two waits can be pending at once and no precedence between them is needed::

    Idle ──unsure match──> AwaitingConfirm ──yes──> answer
    answer ──slots missing──> FillingSlots ──captured, intent has a hook──> AwaitingHook
    answer ──then: continue──> AwaitingFollowUp ──bare no──> InSurvey ──score──> Ended
    answer with details ──> OfferingDetails ──yes──> details, then as after any answer
    transfer out of hours ──> AwaitingCallback ──yes──> FillingSlots (number) ──> Ended
    FillingSlots (number) ──time_prompt──> AwaitingCallbackTime ──any answer──> Ended

Phases are frozen; :class:`DialogState` holds the phase and what the call remembers
across phases (counters, captured slots, answered intents).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callbot.dialplan.intents import Intent
from callbot.dialplan.slots import SlotCollector
from callbot.dialplan.validators import SlotValue


@dataclass(frozen=True, slots=True)
class Idle:
    """Listening for a request: words go to the matcher, keys to the keypad menu."""


@dataclass(frozen=True, slots=True)
class AwaitingConfirm:
    """The "did you mean...?" question awaits a yes or no."""

    intent: Intent
    confidence: float
    """The matcher's confidence in ``intent``, reported when the caller confirms."""


@dataclass(frozen=True, slots=True)
class AwaitingFollowUp:
    """ "Anything else?" awaits a bare yes or no; anything more is a new request."""


@dataclass(frozen=True, slots=True)
class OfferingDetails:
    """ "More details?" after a short answer awaits a yes or no; another request is heard
    as one."""

    intent: Intent
    details: str
    """What yes says: the intent's details, filled when its answer was (slots and
    back-office fields included)."""


@dataclass(frozen=True, slots=True)
class FillingSlots:
    """Slot questions in progress (:mod:`callbot.dialplan.slots`)."""

    collector: SlotCollector
    intent: Intent | None
    """Whose slots these are; None: the number of an out-of-hours callback."""


@dataclass(frozen=True, slots=True)
class AwaitingHook:
    """The back-office reply for ``intent`` is on its way; the caller's words wait."""

    intent: Intent


@dataclass(frozen=True, slots=True)
class AwaitingCallback:
    """Out of hours, the callback offer awaits a yes or no."""


@dataclass(frozen=True, slots=True)
class AwaitingCallbackTime:
    """The callback number is noted; "when shall we call?" awaits an answer."""

    number: str
    """The number to call back (canonical form)."""
    captured: tuple[tuple[str, str], ...]
    """The slots captured with the number, reported by the turn that ends the call."""


@dataclass(frozen=True, slots=True)
class InSurvey:
    """The satisfaction question awaits a score from 1 to 5."""

    reason: str
    """Hang-up reason once the question is answered."""
    goodbye_said: bool = False
    """The answer before the question already ended with the goodbye sentence: it is
    not said again after the score."""


@dataclass(frozen=True, slots=True)
class Ended:
    """A hang-up or transfer was returned: every later event is ignored."""


Phase = (
    Idle
    | AwaitingConfirm
    | AwaitingFollowUp
    | OfferingDetails
    | FillingSlots
    | AwaitingHook
    | AwaitingCallback
    | AwaitingCallbackTime
    | InSurvey
    | Ended
)


@dataclass(slots=True)
class DialogState:
    """Everything the engine remembers about the call so far."""

    phase: Phase = Idle()
    """What the engine is waiting for."""
    started: bool = False
    turns: int = 0
    """Caller turns: utterances and keypad digits."""
    no_match_count: int = 0
    """Misunderstandings in a row (reset by an answered intent)."""
    no_input_count: int = 0
    """Silences in a row (reset by anything the caller says or presses)."""
    intents: list[str] = field(default_factory=list)
    """Intents answered so far, in order."""
    last_utterance: str = ""
    slots: dict[str, SlotValue] = field(default_factory=dict)
    """Every slot captured in the call (an identity given once serves every intent)."""
    survey_score: int | None = None
    callback_reason: str = ""
    """Why the caller wanted an agent when the callback was offered (out of hours)."""

    @property
    def ended(self) -> bool:
        return isinstance(self.phase, Ended)
