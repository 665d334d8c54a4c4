"""The dialog of one call, as a pure state machine over a :class:`Dialplan`.

The call runner feeds it what happened on the line (the caller said something,
pressed a key, stayed silent, the back-office answered, something broke) and
carries out the actions it returns. It has no I/O and no audio; the clock is
injected (``now``), for business hours and for "hier". Tests drive whole calls with
strings. One engine per call; the matcher index is shared between calls of the same
dialplan (:func:`matcher_for`).

What the engine waits for is one phase (:mod:`callbot.dialplan.states`), and each
event goes to the handler of the current phase: requests, "did you mean...?" and
"anything else?" (:mod:`~callbot.dialplan.requests`), "more details?"
(:mod:`~callbot.dialplan.details`), slot questions and the
back-office reply (:mod:`~callbot.dialplan.filling`), the callback offer and the
satisfaction question (:mod:`~callbot.dialplan.endings`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from callbot.dialplan.actions import HookResult, Transfer, TurnOutcome, TurnResult
from callbot.dialplan.clock import Clock
from callbot.dialplan.context import DialogContext, Handler
from callbot.dialplan.details import DetailsHandler
from callbot.dialplan.endings import (
    CallbackHandler,
    CallbackTimeHandler,
    SurveyHandler,
    closed,
    error,
)
from callbot.dialplan.filling import HookHandler, SlotsHandler
from callbot.dialplan.matcher import IntentMatcher
from callbot.dialplan.model import Dialplan
from callbot.dialplan.requests import ConfirmHandler, FollowUpHandler, IdleHandler
from callbot.dialplan.resumed import resumed_apology
from callbot.dialplan.states import (
    AwaitingCallback,
    AwaitingCallbackTime,
    AwaitingConfirm,
    AwaitingFollowUp,
    AwaitingHook,
    DialogState,
    FillingSlots,
    Idle,
    InSurvey,
    OfferingDetails,
    Phase,
)

logger = logging.getLogger(__name__)

DTMF_DIGITS = frozenset("0123456789*#ABCD")

HANDLERS: Mapping[type[Phase], Handler[Any]] = {
    Idle: IdleHandler(),
    AwaitingConfirm: ConfirmHandler(),
    AwaitingFollowUp: FollowUpHandler(),
    OfferingDetails: DetailsHandler(),
    FillingSlots: SlotsHandler(),
    AwaitingHook: HookHandler(),
    AwaitingCallback: CallbackHandler(),
    AwaitingCallbackTime: CallbackTimeHandler(),
    InSurvey: SurveyHandler(),
}
"""The handler of each phase but ``Ended``, where every event is ignored."""

_IGNORED = TurnResult((), TurnOutcome.IGNORED, ended=True)
ANSWERING = frozenset(
    {TurnOutcome.MATCHED, TurnOutcome.CONFIRMED, TurnOutcome.SLOT, TurnOutcome.HOOK}
)
"""Turns that may carry an intent's answer (the answer comes after slots and hooks)."""
STILL_ASKING = (FillingSlots, AwaitingHook, AwaitingConfirm)
"""Phases where the intent of the turn is not answered yet."""


@lru_cache(maxsize=32)
def matcher_for(dialplan: Dialplan) -> IntentMatcher:
    """The matcher index of ``dialplan``, built once and shared by its calls."""
    examples = {intent.id: intent.examples for intent in dialplan.intents}
    negatives = {intent.id: intent.negative_examples for intent in dialplan.intents}
    return IntentMatcher(examples, dialplan.language, negatives)


class DialogEngine:
    """Dialog of one call; every ``on_*`` method returns the :class:`TurnResult` to play."""

    def __init__(
        self,
        dialplan: Dialplan,
        call_vars: Mapping[str, str | None] | None = None,
        *,
        matcher: IntentMatcher | None = None,
        now: Clock | dt.datetime | None = None,
    ) -> None:
        """``call_vars`` fill sentence templates (``caller_number``, ``call_id``...);
        ``now`` is the clock (a fixed instant in tests and ``--now``, naive for the
        dialplan's local time; the system clock by default)."""
        self.dialplan = dialplan
        self._dialog = DialogContext(dialplan, call_vars, matcher or matcher_for(dialplan), now)

    @property
    def state(self) -> DialogState:
        return self._dialog.state

    @property
    def ended(self) -> bool:
        return self.state.ended

    def start(self, *, resumed: bool = False) -> TurnResult:
        """The greeting, and the keypad menu when the dialplan announces it; out of hours
        with ``scope: call``, the greeting and the out-of-hours message. ``resumed``: the
        call moved from a worker that failed; an apology instead of the greeting."""
        if self.state.started:
            raise RuntimeError("DialogEngine.start() called twice")
        self.state.started = True
        if resumed:
            apology = resumed_apology(self.dialplan.language)
            return self._settle(TurnResult(self._dialog.says([apology]), TurnOutcome.GREETING))
        says = [self.dialplan.greeting]
        hours = self.dialplan.hours
        if hours is not None and hours.out_of_hours.scope == "call" and not self.is_open():
            return self._settle(closed(self._dialog, says))
        if self.dialplan.menu is not None and self.dialplan.menu.announce:
            says.append(self.dialplan.menu.prompt)
        return self._settle(TurnResult(self._dialog.says(says), TurnOutcome.GREETING))

    def is_open(self) -> bool:
        """Whether agents answer now (always, without ``hours``)."""
        return self._dialog.is_open()

    def on_utterance(self, text: str) -> TurnResult:
        """The caller said ``text`` (speech recognition output)."""
        if self.ended:
            return _IGNORED
        self._caller_turn()
        self.state.last_utterance = text
        phase = self.state.phase
        return self._settle(HANDLERS[type(phase)].on_utterance(self._dialog, phase, text))

    def on_dtmf(self, digit: str) -> TurnResult:
        """The caller pressed ``digit`` (one of ``0-9 * # A-D``)."""
        if digit not in DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        if self.ended:
            return _IGNORED
        self._caller_turn()
        phase = self.state.phase
        return self._settle(HANDLERS[type(phase)].on_dtmf(self._dialog, phase, digit))

    def on_no_input(self) -> TurnResult:
        """The caller said nothing for the runner's no-input timeout."""
        if self.ended:
            return _IGNORED
        phase = self.state.phase
        return self._settle(HANDLERS[type(phase)].on_no_input(self._dialog, phase))

    def on_hook_result(self, result: HookResult) -> TurnResult:
        """The outcome of the ``Fetch`` this engine asked for."""
        if self.ended:
            return _IGNORED
        phase = self.state.phase
        turn = HANDLERS[type(phase)].on_hook_result(self._dialog, phase, result)
        return turn if turn.outcome is TurnOutcome.IGNORED else self._settle(turn)

    def on_error(self) -> TurnResult:
        """Something failed inside the call: apologise, then transfer or hang up."""
        if self.ended:
            return _IGNORED
        return self._settle(error(self._dialog))

    def _caller_turn(self) -> None:
        """The caller said or pressed something: one more turn, and no silence in a row."""
        self.state.turns += 1
        self.state.no_input_count = 0

    def _settle(self, result: TurnResult) -> TurnResult:
        """``result`` with :attr:`TurnResult.answered` said, logged."""
        return self._log(replace(result, answered=self._gave_answer(result)))

    def _gave_answer(self, result: TurnResult) -> bool:
        """Whether ``result`` said the answer of its intent: an intent that has one (a
        goodbye intent has none: the dialplan's goodbye is said), nothing more awaited for
        it (no slot question, no back-office reply, no did-you-mean), the back-office's
        fields if it was asked, and no hand-over (an agent answers then). Containment
        counts only calls with such a turn."""
        if result.intent is None or result.outcome not in ANSWERING:
            return False
        if result.hook_status not in (None, "ok") or isinstance(self.state.phase, STILL_ASKING):
            return False
        if any(isinstance(action, Transfer) for action in result.actions):
            return False
        return self.dialplan.intent(result.intent).answer is not None

    def _log(self, result: TurnResult) -> TurnResult:
        # DEBUG: in a call, the pipeline's dialog writes the turn's one INFO line.
        logger.debug(
            "turn %d %s intent=%s confidence=%s%s",
            self.state.turns,
            result.outcome,
            result.intent,
            "-" if result.confidence is None else f"{result.confidence:.2f}",
            " (call ends)" if result.ended else "",
        )
        return result
