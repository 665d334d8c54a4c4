"""How a call ends, and the two questions asked on the way out.

The moves: hand the call to an agent (:func:`transfer`), or say why none answers and
when they will (:func:`closed`, wording in :mod:`~callbot.dialplan.closed`); the caller
has what they wanted (:func:`caller_done`: the satisfaction question, or goodbye); too
many silences (:func:`silence`); something broke (:func:`error`). The handlers: the
out-of-hours callback offer (:class:`CallbackHandler`), the preferred time of the
callback (:class:`CallbackTimeHandler`) and the satisfaction question
(:class:`SurveyHandler`). Each hang-up says its :class:`~callbot.dialplan.actions.Ending`:
the call's outcome tells a resolved call from a silent, closed or unresolved one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

from callbot.dialplan.actions import (
    Action,
    CallbackRequest,
    Ending,
    Hangup,
    Say,
    Transfer,
    TurnOutcome,
    TurnResult,
)
from callbot.dialplan.closed import closed_notice
from callbot.dialplan.context import DialogContext, Handler
from callbot.dialplan.hours import local_time
from callbot.dialplan.intents import IntentTransfer, Slot
from callbot.dialplan.model import Callback
from callbot.dialplan.routing import choose_target
from callbot.dialplan.states import AwaitingCallback, AwaitingCallbackTime, FillingSlots, InSurvey
from callbot.dialplan.templates import CALLBACK_NUMBER
from callbot.dialplan.validators import SlotValue
from callbot.dialplan.validators.numbers import first_number
from callbot.dialplan.yesno import yes_or_no, yes_or_no_key

logger = logging.getLogger(__name__)

SURVEY_SCORES = range(1, 6)


def transfer(
    dialog: DialogContext,
    reason: str,
    outcome: TurnOutcome,
    *,
    lead: Sequence[str] = (),
    spec: IntentTransfer | None = None,
    values: Mapping[str, str] | None = None,
    handover: bool = True,
) -> TurnResult:
    """Hand over to an agent (after ``lead`` and, if ``handover``, the dialplan's
    handover sentence), or say why no agent is answering and until when."""
    if not dialog.is_open():
        return closed(dialog, lead, values, reason)
    target = choose_target(dialog.dialplan, spec)
    says = [*lead, dialog.dialplan.transfer.handover] if handover else [*lead]
    slots = tuple((name, value.value) for name, value in dialog.state.slots.items())
    action = Transfer(target.queue, reason, dialog.summary(), target.skill, target.language, slots)
    logger.info("transfer to %s (%s)", target.queue, reason)
    return dialog.end((*dialog.says(says, False, values), action), outcome)


def closed(
    dialog: DialogContext,
    lead: Sequence[str],
    values: Mapping[str, str] | None = None,
    reason: str = "out of hours",
) -> TurnResult:
    """Out of hours: why and until when, then a callback offer or goodbye. ``reason``:
    why the caller wanted an agent (the callback request carries it)."""
    hours = dialog.dialplan.hours
    assert hours is not None
    out_of_hours = hours.out_of_hours
    notice = closed_notice(hours, dialog.now(), dialog.dialplan.language)
    logger.info("out of hours at %s", local_time(hours, dialog.now()))
    says = [*lead, notice.text]
    filled = {**(values or {}), **notice.values}
    if out_of_hours.then == "callback" and out_of_hours.callback is not None:
        dialog.state.phase = AwaitingCallback()
        dialog.state.callback_reason = reason
        offer = dialog.says([*says, out_of_hours.callback.offer], True, filled)
        return TurnResult(offer, TurnOutcome.CLOSED)
    actions: tuple[Action, ...] = (
        *dialog.says([*says, dialog.dialplan.goodbye], False, filled),
        Hangup("out of hours", Ending.CLOSED),
    )
    return dialog.end(actions, TurnOutcome.CLOSED)


def caller_done(
    dialog: DialogContext,
    lead: Sequence[str],
    reason: str,
    outcome: TurnOutcome,
    values: Mapping[str, str] | None = None,
    audio: str | None = None,
) -> TurnResult:
    """The caller has what they wanted: the satisfaction question, or goodbye."""
    survey = dialog.dialplan.survey
    says = dialog.says(lead, True, values)
    if audio and says:
        says = (Say(says[0].text, says[0].interruptible, audio), *says[1:])
    goodbye = dialog.says([dialog.dialplan.goodbye], False)
    goodbye_said = bool(says) and dialog.says_goodbye(says[-1].text, goodbye[0].text)
    if survey is not None and dialog.state.survey_score is None:
        dialog.state.phase = InSurvey(reason, goodbye_said)
        return TurnResult((*says, *dialog.says([survey.prompt])), outcome)
    if goodbye_said:
        goodbye = ()  # an answer that already ends with the goodbye: said once
    last = tuple(Say(s.text, False, s.audio) for s in says)
    return dialog.end((*last, *goodbye, Hangup(reason)), outcome)


def silence(dialog: DialogContext, question: Sequence[Say] = ()) -> TurnResult:
    """One more silence while the bot listens: a re-prompt then ``question`` again, or
    goodbye at the dialplan's limit."""
    state, policy = dialog.state, dialog.dialplan.no_input
    state.no_input_count += 1
    if state.no_input_count >= policy.max_count:
        last = [policy.end] if policy.end else []
        says = dialog.says([*last, dialog.dialplan.goodbye], False)
        return dialog.end((*says, Hangup("no input", Ending.NO_INPUT)), TurnOutcome.NO_INPUT)
    prompt = policy.prompts[min(state.no_input_count, len(policy.prompts)) - 1]
    return TurnResult((*dialog.says([prompt]), *question), TurnOutcome.NO_INPUT)


def error(dialog: DialogContext) -> TurnResult:
    """Something failed inside the call: apologise, then transfer or hang up."""
    dialplan = dialog.dialplan
    says = [dialplan.error_apology]
    if dialplan.on_error == "transfer" and dialog.is_open():
        target = choose_target(dialplan)
        action = Transfer(target.queue, "error", dialog.summary(), language=target.language)
        end: tuple[Action, ...] = (*dialog.says(says, False), action)
    else:
        values: Mapping[str, str] = {}
        if dialplan.on_error == "transfer" and dialplan.hours is not None:
            notice = closed_notice(dialplan.hours, dialog.now(), dialplan.language)
            says.append(notice.text)
            values = notice.values
        goodbye = dialog.says([*says, dialplan.goodbye], False, values)
        end = (*goodbye, Hangup("error", Ending.ERROR))
    return dialog.end(end, TurnOutcome.ERROR)


def callback_done(
    dialog: DialogContext, number: SlotValue, captured: tuple[tuple[str, str], ...]
) -> TurnResult:
    """The callback number is captured: ask when to call if the dialplan says so, else
    request the callback and say goodbye."""
    callback = _callback(dialog)
    if callback.time_prompt is None:
        return _request_callback(dialog, number.value, None, captured)
    dialog.state.phase = AwaitingCallbackTime(number.value, captured)
    return TurnResult(dialog.says([callback.time_prompt]), TurnOutcome.CALLBACK, slots=captured)


def _request_callback(
    dialog: DialogContext,
    number: str,
    preferred_time: str | None,
    captured: tuple[tuple[str, str], ...],
) -> TurnResult:
    """Request the callback (what the agent needs to call back) and say goodbye."""
    callback, state = _callback(dialog), dialog.state
    queue = callback.queue or dialog.dialplan.transfer.queue
    says = dialog.says([callback.done, dialog.dialplan.goodbye], False, dialog.slot_vars())
    request = CallbackRequest(
        number,
        queue,
        reason=state.callback_reason or "out of hours",
        intent=state.intents[-1] if state.intents else None,
        language=dialog.dialplan.language,
        preferred_time=preferred_time,
    )
    actions: tuple[Action, ...] = (*says, request, Hangup("callback requested", Ending.CALLBACK))
    return replace(dialog.end(actions, TurnOutcome.CALLBACK), slots=captured)


def _callback(dialog: DialogContext) -> Callback:
    hours = dialog.dialplan.hours
    callback = hours.out_of_hours.callback if hours else None
    assert callback is not None  # the only way into AwaitingCallback
    return callback


class CallbackHandler(Handler[AwaitingCallback]):
    """ "Would you like an agent to call you back?": yes asks the number (key 1 yes, 2 no)."""

    def on_utterance(self, dialog: DialogContext, phase: AwaitingCallback, text: str) -> TurnResult:
        return self._answer(dialog, yes_or_no(text, dialog.dialplan.language).answer)

    def on_dtmf(self, dialog: DialogContext, phase: AwaitingCallback, digit: str) -> TurnResult:
        return self._answer(dialog, yes_or_no_key(digit))

    def on_no_input(self, dialog: DialogContext, phase: AwaitingCallback) -> TurnResult:
        return silence(dialog, dialog.says([_callback(dialog).offer]))

    def _answer(self, dialog: DialogContext, answer: bool | None) -> TurnResult:
        callback = _callback(dialog)
        if answer is not True:
            says = dialog.says([dialog.dialplan.goodbye], False)
            hangup = Hangup("out of hours", Ending.CLOSED)
            return dialog.end((*says, hangup), TurnOutcome.CALLBACK)
        number = Slot(
            name=CALLBACK_NUMBER,
            type="phone",
            prompt=callback.number_prompt,
            confirm=True,
            on_failure="hangup",
        )
        collector = dialog.collector([number])
        dialog.state.phase = FillingSlots(collector, None)
        return TurnResult(tuple(Say(t) for t in collector.begin()), TurnOutcome.CALLBACK)


class CallbackTimeHandler(Handler[AwaitingCallbackTime]):
    """ "When shall we call you back?": whatever the caller says is kept for the agent; a
    key or a silence means no preference."""

    def on_utterance(
        self, dialog: DialogContext, phase: AwaitingCallbackTime, text: str
    ) -> TurnResult:
        return _request_callback(dialog, phase.number, text.strip() or None, phase.captured)

    def on_dtmf(self, dialog: DialogContext, phase: AwaitingCallbackTime, digit: str) -> TurnResult:
        return _request_callback(dialog, phase.number, None, phase.captured)

    def on_no_input(self, dialog: DialogContext, phase: AwaitingCallbackTime) -> TurnResult:
        return _request_callback(dialog, phase.number, None, phase.captured)


class SurveyHandler(Handler[InSurvey]):
    """ "Rate this service from 1 to 5": a key or a spoken number; anything else, no score."""

    def on_utterance(self, dialog: DialogContext, phase: InSurvey, text: str) -> TurnResult:
        number = first_number(text)
        return self._answer(dialog, phase, number if number in SURVEY_SCORES else None)

    def on_dtmf(self, dialog: DialogContext, phase: InSurvey, digit: str) -> TurnResult:
        score = int(digit) if digit.isdigit() and int(digit) in SURVEY_SCORES else None
        return self._answer(dialog, phase, score)

    def on_no_input(self, dialog: DialogContext, phase: InSurvey) -> TurnResult:
        return self._answer(dialog, phase, None)

    def _answer(self, dialog: DialogContext, phase: InSurvey, score: int | None) -> TurnResult:
        survey = dialog.dialplan.survey
        assert survey is not None  # the only way into InSurvey
        dialog.state.survey_score = score
        says = [survey.thanks] if score is not None else []
        if not phase.goodbye_said:
            says.append(dialog.dialplan.goodbye)
        logger.info("survey score %s", score)
        ended = dialog.end((*dialog.says(says, False), Hangup(phase.reason)), TurnOutcome.SURVEY)
        return replace(ended, survey_score=score)
