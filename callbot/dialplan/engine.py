"""The dialog of one call, as a pure state machine over a :class:`Dialplan`.

The call runner feeds it what happened on the line (the caller said something,
pressed a key, stayed silent, something broke) and carries out the actions it
returns. It has no I/O, no clock and no audio: tests drive whole calls with
strings. One engine per call; the matcher index is shared between calls of the
same dialplan (:func:`matcher_for`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from callbot.dialplan.actions import Action, Hangup, Say, Transfer, TurnOutcome, TurnResult
from callbot.dialplan.matcher import Decision, IntentMatcher, MatchResult, decide
from callbot.dialplan.model import BUILTIN_CLARIFY, Dialplan, Intent
from callbot.dialplan.normalize import base_language, content_words
from callbot.dialplan.templates import render
from callbot.dialplan.yesno import yes_or_no
from callbot.errors import DialplanError

logger = logging.getLogger(__name__)

DTMF_DIGITS = frozenset("0123456789*#ABCD")
SUMMARY_UTTERANCE_CHARS = 160
"""How much of the caller's last words the transfer summary carries."""


@lru_cache(maxsize=32)
def matcher_for(dialplan: Dialplan) -> IntentMatcher:
    """The matcher index of ``dialplan``, built once and shared by its calls."""
    examples = {intent.id: intent.examples for intent in dialplan.intents}
    return IntentMatcher(examples, dialplan.language)


@dataclass(slots=True)
class DialogState:
    """Everything the engine remembers about the call so far."""

    turns: int = 0
    """Caller turns: utterances and keypad digits."""
    no_match_count: int = 0
    """Misunderstandings in a row (reset by an answered intent)."""
    no_input_count: int = 0
    """Silences in a row (reset by anything the caller says or presses)."""
    pending: tuple[Intent, float] | None = None
    """Intent and confidence of the clarification question awaiting a yes/no."""
    awaiting_follow_up: bool = False
    started: bool = False
    ended: bool = False
    intents: list[str] = field(default_factory=list)
    """Intents answered so far, in order."""
    last_utterance: str = ""


class DialogEngine:
    """Dialog of one call; every ``on_*`` method returns the :class:`TurnResult` to play."""

    def __init__(
        self,
        dialplan: Dialplan,
        call_vars: Mapping[str, str | None] | None = None,
        *,
        matcher: IntentMatcher | None = None,
    ) -> None:
        """``call_vars`` fill sentence templates (``caller_number``, ``call_id``...)."""
        self.dialplan = dialplan
        self.state = DialogState()
        self._vars = {k: v for k, v in (call_vars or {}).items() if v is not None}
        self._call_id = self._vars.get("call_id", "-")
        self._matcher = matcher or matcher_for(dialplan)
        self._by_digit = {i.dtmf: i for i in dialplan.intents if i.dtmf is not None}
        lang = base_language(dialplan.language)
        clarify = dialplan.clarify or BUILTIN_CLARIFY.get(lang)
        if clarify is None:
            raise DialplanError(f"dialplan in {dialplan.language} needs a 'clarify' section")
        self._clarify = clarify

    @property
    def ended(self) -> bool:
        return self.state.ended

    def start(self) -> TurnResult:
        """The greeting, and the keypad menu when the dialplan announces it."""
        if self.state.started:
            raise RuntimeError("DialogEngine.start() called twice")
        self.state.started = True
        says = [self.dialplan.greeting]
        if self.dialplan.menu is not None and self.dialplan.menu.announce:
            says.append(self.dialplan.menu.prompt)
        return self._log(TurnResult(self._says(says), TurnOutcome.GREETING))

    def on_utterance(self, text: str) -> TurnResult:
        """The caller said ``text`` (speech recognition output)."""
        state = self.state
        if state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        state.turns += 1
        state.no_input_count = 0
        state.last_utterance = text
        if state.pending is not None:
            return self._log(self._clarify_answer(text))
        if state.awaiting_follow_up:
            state.awaiting_follow_up = False
            reply = yes_or_no(text, self.dialplan.language)
            if reply.answer is not None and not content_words(reply.rest, self.dialplan.language):
                return self._log(self._follow_up_answer(reply.answer))
        return self._log(self._match(text))

    def on_dtmf(self, digit: str) -> TurnResult:
        """The caller pressed ``digit`` (one of ``0-9 * # A-D``)."""
        if digit not in DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        state = self.state
        if state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        state.turns += 1
        state.no_input_count = 0
        state.pending = None
        state.awaiting_follow_up = False
        intent = self._by_digit.get(digit)
        if intent is not None:
            return self._log(self._answer(intent, TurnOutcome.MATCHED, 1.0))
        menu = self.dialplan.menu
        return self._log(self._no_match(None, [menu.invalid, menu.prompt] if menu else None))

    def on_no_input(self) -> TurnResult:
        """The caller said nothing for the runner's no-input timeout."""
        state, policy = self.state, self.dialplan.no_input
        if state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        state.no_input_count += 1
        if state.no_input_count >= policy.max_count:
            last = [policy.end] if policy.end else []
            says = self._says([*last, self.dialplan.goodbye], False)
            actions: tuple[Action, ...] = (*says, Hangup("no input"))
            return self._log(self._end(actions, TurnOutcome.NO_INPUT))
        says = self._says([policy.prompts[min(state.no_input_count, len(policy.prompts)) - 1]])
        if state.pending is not None:
            says = (*says, self._clarify_question(state.pending[0]))
        elif state.awaiting_follow_up and self.dialplan.follow_up is not None:
            says = (*says, *self._says([self.dialplan.follow_up.prompt]))
        return self._log(TurnResult(says, TurnOutcome.NO_INPUT))

    def on_error(self) -> TurnResult:
        """Something failed inside the call: apologise, then transfer or hang up."""
        if self.state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        dialplan = self.dialplan
        if dialplan.on_error == "transfer":
            end: tuple[Action, ...] = (
                *self._says([dialplan.error_apology], False),
                Transfer(dialplan.transfer.queue, "error", self._summary()),
            )
        else:
            says = self._says([dialplan.error_apology, dialplan.goodbye], False)
            end = (*says, Hangup("error"))
        return self._log(self._end(end, TurnOutcome.ERROR))

    # -- turns -------------------------------------------------------------------------

    def _match(self, text: str) -> TurnResult:
        result = self._matcher.match(text)
        thresholds = self.dialplan.matching
        decision = decide(result.confidence, high=thresholds.high, low=thresholds.low)
        if result.intent is None or decision is Decision.REJECT:
            return self._no_match(result)
        intent = self.dialplan.intent(result.intent)
        if decision is Decision.ACCEPT:
            return self._answer(intent, TurnOutcome.MATCHED, result.confidence, result.runner_up)
        self.state.pending = (intent, result.confidence)
        question = (self._clarify_question(intent),)
        return TurnResult(
            question, TurnOutcome.CLARIFY, intent.id, result.confidence, result.runner_up
        )

    def _clarify_answer(self, text: str) -> TurnResult:
        assert self.state.pending is not None
        intent, confidence = self.state.pending
        self.state.pending = None
        reply = yes_or_no(text, self.dialplan.language)
        if reply.answer is True:
            return self._answer(intent, TurnOutcome.CONFIRMED, confidence)
        if reply.answer is False:
            if content_words(reply.rest, self.dialplan.language):
                return self._match(reply.rest)  # "non, c'est pour ma carte Vitale"
            return self._no_match(None, [self._clarify.on_no])
        return self._match(text)  # neither: the caller rephrased

    def _follow_up_answer(self, yes: bool) -> TurnResult:
        follow_up = self.dialplan.follow_up
        assert follow_up is not None
        if yes:
            return TurnResult(self._says([follow_up.on_yes]), TurnOutcome.FOLLOW_UP)
        actions: tuple[Action, ...] = (
            *self._says([self.dialplan.goodbye], False),
            Hangup("caller done"),
        )
        return self._end(actions, TurnOutcome.FOLLOW_UP)

    def _answer(
        self,
        intent: Intent,
        outcome: TurnOutcome,
        confidence: float,
        runner_up: str | None = None,
    ) -> TurnResult:
        state, dialplan = self.state, self.dialplan
        state.no_match_count = 0
        state.intents.append(intent.id)
        if intent.then == "transfer":
            spec = intent.transfer
            queue = (spec.queue if spec else None) or dialplan.transfer.queue
            reason = (spec.reason if spec else None) or f"intent {intent.id}"
            say = self._says([intent.answer or dialplan.transfer.handover], False)
            actions: tuple[Action, ...] = (*say, Transfer(queue, reason, self._summary()))
            return self._end(actions, outcome, intent.id, confidence, runner_up)
        if intent.then == "hangup":
            say = self._says([intent.answer or dialplan.goodbye], False)
            actions = (*say, Hangup(f"intent {intent.id}"))
            return self._end(actions, outcome, intent.id, confidence, runner_up)
        says = [intent.answer or ""]
        if dialplan.follow_up is not None:
            says.append(dialplan.follow_up.prompt)
            state.awaiting_follow_up = True
        return TurnResult(self._says(says), outcome, intent.id, confidence, runner_up)

    def _no_match(
        self, result: MatchResult | None, says: Sequence[str] | None = None
    ) -> TurnResult:
        """A misunderstanding: re-prompt, or transfer when there were too many in a row."""
        state, policy, dialplan = self.state, self.dialplan.no_match, self.dialplan
        state.no_match_count += 1
        best = result.intent if result else None
        confidence = result.confidence if result else None
        if state.no_match_count >= policy.max_count:
            actions: tuple[Action, ...] = (
                *self._says([dialplan.transfer.handover], False),
                Transfer(dialplan.transfer.queue, policy.reason, self._summary()),
            )
            return self._end(actions, TurnOutcome.NO_MATCH, None, confidence, best)
        if says is None:
            says = [policy.prompts[min(state.no_match_count, len(policy.prompts)) - 1]]
        return TurnResult(self._says(says), TurnOutcome.NO_MATCH, None, confidence, best)

    # -- helpers -----------------------------------------------------------------------

    def _end(
        self,
        actions: tuple[Action, ...],
        outcome: TurnOutcome,
        intent: str | None = None,
        confidence: float | None = None,
        runner_up: str | None = None,
    ) -> TurnResult:
        self.state.ended = True
        self.state.pending = None
        return TurnResult(actions, outcome, intent, confidence, runner_up, ended=True)

    def _clarify_question(self, intent: Intent) -> Say:
        values = {**self._vars, "intent_label": intent.spoken_label}
        return Say(render(self._clarify.prompt, values))

    def _says(self, texts: Sequence[str], interruptible: bool = True) -> tuple[Say, ...]:
        return tuple(Say(render(text, self._vars), interruptible) for text in texts)

    def _summary(self) -> str:
        state = self.state
        last = state.last_utterance[:SUMMARY_UTTERANCE_CHARS]
        intents = ", ".join(state.intents) or "none"
        return f"intents: {intents}; turns: {state.turns}; last words: {last!r}"

    def _log(self, result: TurnResult) -> TurnResult:
        logger.info(
            "call %s: turn %d %s intent=%s confidence=%s%s",
            self._call_id,
            self.state.turns,
            result.outcome,
            result.intent,
            "-" if result.confidence is None else f"{result.confidence:.2f}",
            " (call ends)" if result.ended else "",
        )
        return result
