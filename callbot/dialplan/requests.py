"""A request: the caller's words or key matched to an intent, and the intent answered.

The moves: :func:`match` (words), :func:`menu_choice` (a key), :func:`answer` (slots
first, then :func:`slots_complete`: the back-office, then :func:`respond`, which says a
long answer's short part and offers the rest: :func:`offer_details`), and
:func:`no_match`. The handlers of the three phases that listen for a request:
:class:`IdleHandler`, :class:`ConfirmHandler` ("did you mean...?") and
:class:`FollowUpHandler` ("anything else?").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from callbot.dialplan.actions import Fetch, Say, TurnOutcome, TurnResult
from callbot.dialplan.context import DialogContext, Handler
from callbot.dialplan.endings import caller_done, silence, transfer
from callbot.dialplan.hooks import build_fetch
from callbot.dialplan.intents import Intent
from callbot.dialplan.matcher import Decision, MatchResult, decide
from callbot.dialplan.model import FollowUp
from callbot.dialplan.normalize import content_words
from callbot.dialplan.states import (
    AwaitingConfirm,
    AwaitingFollowUp,
    AwaitingHook,
    FillingSlots,
    Idle,
    OfferingDetails,
)
from callbot.dialplan.templates import render
from callbot.dialplan.yesno import yes_or_no
from callbot.errors import DialplanError


def match(dialog: DialogContext, text: str) -> TurnResult:
    """Answer the best intent for ``text``, ask when unsure, or count a misunderstanding."""
    return matched(dialog, dialog.matcher.match(text))


def request_in(dialog: DialogContext, text: str) -> MatchResult | None:
    """The match of ``text`` when it is a request (answered, or worth a "did you
    mean...?"); None when the matcher would reject it."""
    result = dialog.matcher.match(text)
    return None if _decision(dialog, result) is Decision.REJECT else result


def matched(dialog: DialogContext, result: MatchResult) -> TurnResult:
    """Answer ``result``'s intent, ask when unsure, or count a misunderstanding."""
    decision = _decision(dialog, result)
    if result.intent is None or decision is Decision.REJECT:
        return no_match(dialog, result)
    intent = dialog.dialplan.intent(result.intent)
    if decision is Decision.ACCEPT:
        return answer(dialog, intent, TurnOutcome.MATCHED, result.confidence, result.runner_up)
    dialog.state.phase = AwaitingConfirm(intent, result.confidence)
    question = (dialog.clarify_question(intent),)
    return TurnResult(question, TurnOutcome.CLARIFY, intent.id, result.confidence, result.runner_up)


def _decision(dialog: DialogContext, result: MatchResult) -> Decision:
    if result.intent is None:
        return Decision.REJECT
    thresholds = dialog.dialplan.matching
    return decide(result.confidence, high=thresholds.high, low=thresholds.low)


def menu_choice(dialog: DialogContext, digit: str) -> TurnResult:
    """A key pressed while listening: the intent of that digit, or the menu again.
    Any question pending (did you mean, anything else) is dropped."""
    dialog.state.phase = Idle()
    intent = dialog.by_digit.get(digit)
    if intent is not None:
        return answer(dialog, intent, TurnOutcome.MATCHED, 1.0)
    menu = dialog.dialplan.menu
    return no_match(dialog, None, [menu.invalid, menu.prompt] if menu else None)


def answer(
    dialog: DialogContext,
    intent: Intent,
    outcome: TurnOutcome,
    confidence: float,
    runner_up: str | None = None,
) -> TurnResult:
    """An intent was recognised: collect its slots first, if any are still unknown."""
    state = dialog.state
    state.no_match_count = 0
    state.intents.append(intent.id)
    missing = [slot for slot in intent.slots if slot.name not in state.slots]
    if not missing:
        return slots_complete(dialog, intent, outcome, confidence, runner_up)
    collector = dialog.collector(missing)
    state.phase = FillingSlots(collector, intent)
    intro = [intent.intro] if intent.intro else []
    says = (*dialog.says(intro), *(Say(text) for text in collector.begin()))
    return TurnResult(says, outcome, intent.id, confidence, runner_up)


def slots_complete(
    dialog: DialogContext,
    intent: Intent,
    outcome: TurnOutcome,
    confidence: float | None,
    runner_up: str | None = None,
    captured: tuple[tuple[str, str], ...] = (),
) -> TurnResult:
    """Every slot is known: ask the back-office, or answer."""
    if intent.hook is None:
        return respond(dialog, intent, outcome, confidence, runner_up, captured=captured)
    hook = dialog.dialplan.hook(intent.hook)
    slots = dialog.state.slots
    missing = [name for name in hook.requires if name not in slots]
    if missing:  # the loader makes this impossible; never call unidentified
        raise DialplanError(f"hook {hook.id}: identity slots missing: {missing}")
    dialog.state.phase = AwaitingHook(intent)
    fetch: Fetch = build_fetch(hook, slots)
    wait = dialog.says([hook.wait]) if hook.wait else ()
    return TurnResult((*wait, fetch), outcome, intent.id, confidence, runner_up, slots=captured)


def respond(
    dialog: DialogContext,
    intent: Intent,
    outcome: TurnOutcome,
    confidence: float | None,
    runner_up: str | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    captured: tuple[tuple[str, str], ...] = (),
) -> TurnResult:
    """Say the intent's answer, then do what its ``then`` says."""
    values = {**dialog.slot_vars(), **(extra or {})}
    if intent.then == "transfer":
        reason = (intent.transfer.reason if intent.transfer else None) or f"intent {intent.id}"
        lead = [intent.answer] if intent.answer else []
        spec = intent.transfer
        result = transfer(
            dialog, reason, outcome, lead=lead, spec=spec, values=values, handover=not lead
        )
    elif intent.then == "hangup":
        lead = [intent.answer] if intent.answer else []
        reason = f"intent {intent.id}"
        result = caller_done(dialog, lead, reason, outcome, values, intent.audio)
    else:
        filled = {**dialog.variables, **values}
        first = Say(render(intent.answer or "", filled), audio=intent.audio)
        if intent.details is not None:
            details = render(intent.details, filled)
            result = offer_details(dialog, intent, outcome, first, details)
        else:
            result = answered(dialog, [], outcome, intent.id, first=first)
    return replace(
        result, intent=intent.id, confidence=confidence, runner_up=runner_up, slots=captured
    )


def answered(
    dialog: DialogContext,
    texts: Sequence[str],
    outcome: TurnOutcome,
    intent: str | None,
    first: Say | None = None,
) -> TurnResult:
    """Say ``texts``, then the follow-up question if the dialplan has one."""
    says = [*([first] if first else []), *dialog.says(texts)]
    if dialog.dialplan.follow_up is not None:
        says += dialog.says([dialog.dialplan.follow_up.prompt])
        dialog.state.phase = AwaitingFollowUp()
    return TurnResult(tuple(says), outcome, intent)


def offer_details(
    dialog: DialogContext, intent: Intent, outcome: TurnOutcome, first: Say, details: str
) -> TurnResult:
    """Say the short answer ``first``, then ask whether the caller wants ``details``."""
    more = dialog.more_details
    assert more is not None  # the loader refuses details without the wording
    dialog.state.phase = OfferingDetails(intent, details)
    return TurnResult((first, *dialog.says([more.prompt])), outcome, intent.id)


def no_match(
    dialog: DialogContext, result: MatchResult | None, says: Sequence[str] | None = None
) -> TurnResult:
    """A misunderstanding: re-prompt, or transfer when there were too many in a row."""
    state, policy = dialog.state, dialog.dialplan.no_match
    state.no_match_count += 1
    best = result.intent if result else None
    confidence = result.confidence if result else None
    if state.no_match_count >= policy.max_count:
        turn = transfer(dialog, policy.reason, TurnOutcome.NO_MATCH)
        return replace(turn, confidence=confidence, runner_up=best)
    if says is None:
        says = [policy.prompts[min(state.no_match_count, len(policy.prompts)) - 1]]
    return TurnResult(dialog.says(says), TurnOutcome.NO_MATCH, None, confidence, best)


class IdleHandler(Handler[Idle]):
    """Words go to the matcher, keys to the keypad menu."""

    def on_utterance(self, dialog: DialogContext, phase: Idle, text: str) -> TurnResult:
        return match(dialog, text)

    def on_dtmf(self, dialog: DialogContext, phase: Idle, digit: str) -> TurnResult:
        return menu_choice(dialog, digit)

    def on_no_input(self, dialog: DialogContext, phase: Idle) -> TurnResult:
        return silence(dialog)


class ConfirmHandler(Handler[AwaitingConfirm]):
    """ "Did you mean...?": yes answers the intent; no, or other words, is heard anew."""

    def on_utterance(self, dialog: DialogContext, phase: AwaitingConfirm, text: str) -> TurnResult:
        dialog.state.phase = Idle()
        language = dialog.dialplan.language
        reply = yes_or_no(text, language)
        if reply.answer is True:
            return answer(dialog, phase.intent, TurnOutcome.CONFIRMED, phase.confidence)
        if reply.answer is False:
            if content_words(reply.rest, language):
                return match(dialog, reply.rest)  # "non, c'est pour ma carte Vitale"
            return no_match(dialog, None, [dialog.clarify.on_no])
        return match(dialog, text)  # neither: the caller rephrased

    def on_dtmf(self, dialog: DialogContext, phase: AwaitingConfirm, digit: str) -> TurnResult:
        return menu_choice(dialog, digit)

    def on_no_input(self, dialog: DialogContext, phase: AwaitingConfirm) -> TurnResult:
        return silence(dialog, (dialog.clarify_question(phase.intent),))


class FollowUpHandler(Handler[AwaitingFollowUp]):
    """ "Anything else?": a bare yes invites, a bare no ends; more words are a request."""

    def on_utterance(self, dialog: DialogContext, phase: AwaitingFollowUp, text: str) -> TurnResult:
        dialog.state.phase = Idle()
        language = dialog.dialplan.language
        reply = yes_or_no(text, language)
        if reply.answer is None or content_words(reply.rest, language):
            return match(dialog, text)
        if reply.answer:
            return TurnResult(dialog.says([self._follow_up(dialog).on_yes]), TurnOutcome.FOLLOW_UP)
        return caller_done(dialog, [], "caller done", TurnOutcome.FOLLOW_UP)

    def on_dtmf(self, dialog: DialogContext, phase: AwaitingFollowUp, digit: str) -> TurnResult:
        return menu_choice(dialog, digit)

    def on_no_input(self, dialog: DialogContext, phase: AwaitingFollowUp) -> TurnResult:
        return silence(dialog, dialog.says([self._follow_up(dialog).prompt]))

    def _follow_up(self, dialog: DialogContext) -> FollowUp:
        follow_up = dialog.dialplan.follow_up
        assert follow_up is not None  # the only way into AwaitingFollowUp
        return follow_up
