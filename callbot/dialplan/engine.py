"""The dialog of one call, as a pure state machine over a :class:`Dialplan`.

The call runner feeds it what happened on the line (the caller said something,
pressed a key, stayed silent, the back-office answered, something broke) and
carries out the actions it returns. It has no I/O and no audio; the clock is
injected (``now``), for business hours and for "hier". Tests drive whole calls with
strings. One engine per call; the matcher index is shared between calls of the same
dialplan (:func:`matcher_for`).

What the engine is waiting for decides where an event goes, first match wins:
slot answers (:mod:`callbot.dialplan.slots`), the back-office reply, the
satisfaction score, the callback offer, the "did you mean...?" question, the
follow-up question, and otherwise a new request for the matcher.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from callbot.dialplan.actions import (
    Action,
    CallbackRequest,
    Fetch,
    Hangup,
    HookResult,
    Say,
    Transfer,
    TurnOutcome,
    TurnResult,
)
from callbot.dialplan.hooks import build_fetch, reply_fields
from callbot.dialplan.hours import is_open, local_time
from callbot.dialplan.intents import BUILTIN_SLOT_WORDING, Intent, IntentTransfer, Slot
from callbot.dialplan.matcher import Decision, IntentMatcher, MatchResult, decide
from callbot.dialplan.model import BUILTIN_CLARIFY, Dialplan
from callbot.dialplan.normalize import base_language, content_words, normalize_words
from callbot.dialplan.routing import choose_target
from callbot.dialplan.slots import Ask, Done, Failed, SlotCollector, Step, Wait
from callbot.dialplan.templates import CALLBACK_NUMBER, french_elision, render
from callbot.dialplan.validators import SlotValue
from callbot.dialplan.validators.numbers import first_number
from callbot.dialplan.yesno import yes_or_no, yes_or_no_key
from callbot.errors import DialplanError

logger = logging.getLogger(__name__)

DTMF_DIGITS = frozenset("0123456789*#ABCD")
_SENTENCE_END = re.compile(r"[.!?]+")
SUMMARY_UTTERANCE_CHARS = 160
"""How much of the caller's last words the transfer summary carries."""
SURVEY_SCORES = range(1, 6)
DEFAULT_TIMEZONE = "Europe/Paris"
"""Where "today" is when the dialplan has no ``hours`` (with their own time zone)."""
Clock = Callable[[], dt.datetime]


@lru_cache(maxsize=32)
def matcher_for(dialplan: Dialplan) -> IntentMatcher:
    """The matcher index of ``dialplan``, built once and shared by its calls."""
    examples = {intent.id: intent.examples for intent in dialplan.intents}
    return IntentMatcher(examples, dialplan.language)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    collector: SlotCollector | None = None
    """Slot questions in progress."""
    collecting_for: Intent | None = None
    """Intent whose slots are being collected; None with a collector: callback number."""
    awaiting_hook: Intent | None = None
    """Intent whose back-office reply is awaited."""
    offering_callback: bool = False
    awaiting_survey: str | None = None
    """Hang-up reason once the satisfaction question is answered."""
    slots: dict[str, SlotValue] = field(default_factory=dict)
    """Every slot captured in the call (an identity given once serves every intent)."""
    survey_score: int | None = None


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
        ``now`` is the clock (a fixed instant in tests; the system clock by default)."""
        self.dialplan = dialplan
        self.state = DialogState()
        self._vars = {k: v for k, v in (call_vars or {}).items() if v is not None}
        self._call_id = self._vars.get("call_id", "-")
        self._matcher = matcher or matcher_for(dialplan)
        self._by_digit = {i.dtmf: i for i in dialplan.intents if i.dtmf is not None}
        if isinstance(now, dt.datetime):
            fixed = now
            self._now: Clock = lambda: fixed
        else:
            self._now = now or _utc_now
        lang = base_language(dialplan.language)
        clarify = dialplan.clarify or BUILTIN_CLARIFY.get(lang)
        if clarify is None:
            raise DialplanError(f"dialplan in {dialplan.language} needs a 'clarify' section")
        self._clarify = clarify
        self._slot_wording = BUILTIN_SLOT_WORDING.get(lang, BUILTIN_SLOT_WORDING["en"])

    @property
    def ended(self) -> bool:
        return self.state.ended

    def start(self) -> TurnResult:
        """The greeting, and the keypad menu when the dialplan announces it; out of hours
        with ``scope: call``, the greeting and the out-of-hours message."""
        if self.state.started:
            raise RuntimeError("DialogEngine.start() called twice")
        self.state.started = True
        says = [self.dialplan.greeting]
        hours = self.dialplan.hours
        if hours is not None and hours.out_of_hours.scope == "call" and not self.is_open():
            return self._log(self._closed(says))
        if self.dialplan.menu is not None and self.dialplan.menu.announce:
            says.append(self.dialplan.menu.prompt)
        return self._log(TurnResult(self._says(says), TurnOutcome.GREETING))

    def is_open(self) -> bool:
        """Whether agents answer now (always, without ``hours``)."""
        hours = self.dialplan.hours
        return hours is None or is_open(hours, self._now())

    def on_utterance(self, text: str) -> TurnResult:
        """The caller said ``text`` (speech recognition output)."""
        state = self.state
        if state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        state.turns += 1
        state.no_input_count = 0
        state.last_utterance = text
        if state.collector is not None:
            return self._log(self._slot_step(state.collector.on_text(text)))
        if state.awaiting_hook is not None:
            return TurnResult((), TurnOutcome.HOOK)  # the answer is on its way
        if state.awaiting_survey is not None:
            number = first_number(text)
            return self._log(self._survey_answer(number if number in SURVEY_SCORES else None))
        if state.offering_callback:
            return self._log(self._callback_answer(yes_or_no(text, self.dialplan.language).answer))
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
        if state.collector is not None:
            return self._log(self._slot_step(state.collector.on_key(digit)))
        if state.awaiting_hook is not None:
            return TurnResult((), TurnOutcome.HOOK)
        if state.awaiting_survey is not None:
            score = int(digit) if digit.isdigit() and int(digit) in SURVEY_SCORES else None
            return self._log(self._survey_answer(score))
        if state.offering_callback:
            return self._log(self._callback_answer(yes_or_no_key(digit)))
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
        if state.collector is not None:
            return self._log(self._slot_step(state.collector.on_silence()))
        if state.awaiting_hook is not None:
            return TurnResult((), TurnOutcome.HOOK)
        if state.awaiting_survey is not None:
            return self._log(self._survey_answer(None))
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
        elif state.offering_callback and self._callback_offer() is not None:
            says = (*says, *self._says([self._callback_offer() or ""]))
        return self._log(TurnResult(says, TurnOutcome.NO_INPUT))

    def on_hook_result(self, result: HookResult) -> TurnResult:
        """The outcome of the :class:`Fetch` this engine asked for."""
        state = self.state
        intent = state.awaiting_hook
        if state.ended or intent is None or intent.hook != result.hook:
            return TurnResult((), TurnOutcome.IGNORED, ended=state.ended)
        state.awaiting_hook = None
        hook = self.dialplan.hook(result.hook)
        fields = None
        if result.status == "ok" and result.data is not None:
            fields = reply_fields(hook, result.data, self.dialplan.language)
        status = result.status if result.status != "ok" or fields is not None else "malformed"
        logger.info("call %s: hook %s %s %s", self._call_id, hook.id, status, result.detail)
        if fields is not None:
            return self._log(self._respond(intent, TurnOutcome.HOOK, 1.0, extra=fields))
        sentence = hook.not_found if status == "not_found" and hook.not_found else hook.fallback
        if hook.on_failure == "transfer":
            return self._log(
                self._transfer(f"hook {hook.id} {status}", TurnOutcome.HOOK, lead=[sentence])
            )
        return self._log(self._continue([sentence], TurnOutcome.HOOK, intent.id))

    def on_error(self) -> TurnResult:
        """Something failed inside the call: apologise, then transfer or hang up."""
        if self.state.ended:
            return TurnResult((), TurnOutcome.IGNORED, ended=True)
        dialplan = self.dialplan
        says = [dialplan.error_apology]
        if dialplan.on_error == "transfer" and self.is_open():
            target = choose_target(dialplan)
            transfer = Transfer(target.queue, "error", self._summary(), language=target.language)
            end: tuple[Action, ...] = (*self._says(says, False), transfer)
        else:
            if dialplan.on_error == "transfer" and dialplan.hours is not None:
                says.append(dialplan.hours.out_of_hours.message)
            end = (*self._says([*says, dialplan.goodbye], False), Hangup("error"))
        return self._log(self._end(end, TurnOutcome.ERROR))

    # -- requests ----------------------------------------------------------------------

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
        return self._caller_done([], "caller done", TurnOutcome.FOLLOW_UP)

    def _answer(
        self,
        intent: Intent,
        outcome: TurnOutcome,
        confidence: float,
        runner_up: str | None = None,
    ) -> TurnResult:
        """An intent was recognised: collect its slots first, if any are still unknown."""
        state = self.state
        state.no_match_count = 0
        state.intents.append(intent.id)
        missing = [slot for slot in intent.slots if slot.name not in state.slots]
        if not missing:
            return self._slots_complete(intent, outcome, confidence, runner_up)
        collector = self._collector(missing)
        state.collector, state.collecting_for = collector, intent
        intro = [intent.intro] if intent.intro else []
        says = (*self._says(intro), *(Say(text) for text in collector.begin()))
        return TurnResult(says, outcome, intent.id, confidence, runner_up)

    def _slots_complete(
        self,
        intent: Intent,
        outcome: TurnOutcome,
        confidence: float | None,
        runner_up: str | None = None,
        captured: tuple[tuple[str, str], ...] = (),
    ) -> TurnResult:
        """Every slot is known: ask the back-office, or answer."""
        if intent.hook is None:
            return self._respond(intent, outcome, confidence, runner_up, captured=captured)
        hook = self.dialplan.hook(intent.hook)
        missing = [name for name in hook.requires if name not in self.state.slots]
        if missing:  # the loader makes this impossible; never call unidentified
            raise DialplanError(f"hook {hook.id}: identity slots missing: {missing}")
        self.state.awaiting_hook = intent
        fetch: Fetch = build_fetch(hook, self.state.slots)
        wait = self._says([hook.wait]) if hook.wait else ()
        return TurnResult((*wait, fetch), outcome, intent.id, confidence, runner_up, slots=captured)

    def _respond(
        self,
        intent: Intent,
        outcome: TurnOutcome,
        confidence: float | None,
        runner_up: str | None = None,
        *,
        extra: Mapping[str, str] | None = None,
        captured: tuple[tuple[str, str], ...] = (),
    ) -> TurnResult:
        """Say the intent's answer, then do what its ``then`` says."""
        values = {**self._slot_vars(), **(extra or {})}
        if intent.then == "transfer":
            reason = (intent.transfer.reason if intent.transfer else None) or f"intent {intent.id}"
            lead = [intent.answer] if intent.answer else []
            result = self._transfer(
                reason, outcome, lead=lead, spec=intent.transfer, values=values, handover=not lead
            )
        elif intent.then == "hangup":
            lead = [intent.answer] if intent.answer else []
            result = self._caller_done(lead, f"intent {intent.id}", outcome, values, intent.audio)
        else:
            answer = Say(render(intent.answer or "", {**self._vars, **values}), audio=intent.audio)
            result = self._continue([], outcome, intent.id, first=answer)
        return _with(result, intent=intent.id, confidence=confidence, runner_up=runner_up,
                     slots=captured)  # fmt: skip

    def _continue(
        self,
        texts: Sequence[str],
        outcome: TurnOutcome,
        intent: str | None,
        first: Say | None = None,
    ) -> TurnResult:
        """Say ``texts``, then the follow-up question if the dialplan has one."""
        says = [*([first] if first else []), *self._says(texts)]
        if self.dialplan.follow_up is not None:
            says += self._says([self.dialplan.follow_up.prompt])
            self.state.awaiting_follow_up = True
        return TurnResult(tuple(says), outcome, intent)

    def _no_match(
        self, result: MatchResult | None, says: Sequence[str] | None = None
    ) -> TurnResult:
        """A misunderstanding: re-prompt, or transfer when there were too many in a row."""
        state, policy = self.state, self.dialplan.no_match
        state.no_match_count += 1
        best = result.intent if result else None
        confidence = result.confidence if result else None
        if state.no_match_count >= policy.max_count:
            turn = self._transfer(policy.reason, TurnOutcome.NO_MATCH)
            return _with(turn, confidence=confidence, runner_up=best)
        if says is None:
            says = [policy.prompts[min(state.no_match_count, len(policy.prompts)) - 1]]
        return TurnResult(self._says(says), TurnOutcome.NO_MATCH, None, confidence, best)

    # -- slots -------------------------------------------------------------------------

    def _collector(self, slots: Sequence[Slot]) -> SlotCollector:
        today = self._today()
        values = {**self._vars, **self._slot_vars()}
        language = self.dialplan.language
        return SlotCollector(
            slots, self._slot_wording, language=language, today=today, variables=values
        )

    def _slot_step(self, step: Step) -> TurnResult:
        state = self.state
        collector, intent = state.collector, state.collecting_for
        assert collector is not None
        if isinstance(step, Wait):
            return TurnResult((), TurnOutcome.SLOT, intent.id if intent else None)
        if isinstance(step, Ask):
            state.slots.update(collector.values)
            says = tuple(Say(text) for text in step.texts)
            return TurnResult(
                says, TurnOutcome.SLOT, intent.id if intent else None, slots=step.captured
            )
        state.collector, state.collecting_for = None, None
        if isinstance(step, Done):
            state.slots.update(collector.values)
            if intent is None:
                return self._callback_done(collector.values[CALLBACK_NUMBER], step.captured)
            return self._slots_complete(intent, TurnOutcome.SLOT, None, captured=step.captured)
        return self._slot_failed(step, intent)

    def _slot_failed(self, step: Failed, intent: Intent | None) -> TurnResult:
        logger.info("call %s: slot %s failed: %s", self._call_id, step.slot, step.reason)
        slot = next((s for s in intent.slots if s.name == step.slot), None) if intent else None
        if slot is not None and slot.on_failure == "transfer":
            spec = intent.transfer if intent else None
            return self._transfer(f"slot {step.slot} {step.reason}", TurnOutcome.SLOT, spec=spec)
        actions: tuple[Action, ...] = (
            *self._says([self.dialplan.goodbye], False),
            Hangup(f"slot {step.reason}"),
        )
        return self._end(actions, TurnOutcome.SLOT)

    def _slot_vars(self) -> dict[str, str]:
        return {name: value.spoken for name, value in self.state.slots.items()}

    # -- endings -----------------------------------------------------------------------

    def _transfer(
        self,
        reason: str,
        outcome: TurnOutcome,
        *,
        lead: Sequence[str] = (),
        spec: IntentTransfer | None = None,
        values: Mapping[str, str] | None = None,
        handover: bool = True,
    ) -> TurnResult:
        """Hand over to an agent (after ``lead`` and, if ``handover``, the dialplan's
        handover sentence), or say the opening hours when no agent is answering."""
        if not self.is_open():
            return self._closed(lead, values)
        target = choose_target(self.dialplan, spec)
        says = [*lead, self.dialplan.transfer.handover] if handover else [*lead]
        slots = tuple((name, value.value) for name, value in self.state.slots.items())
        transfer = Transfer(
            target.queue, reason, self._summary(), target.skill, target.language, slots
        )
        logger.info("call %s: transfer to %s (%s)", self._call_id, target.queue, reason)
        return self._end((*self._says(says, False, values), transfer), outcome)

    def _closed(self, lead: Sequence[str], values: Mapping[str, str] | None = None) -> TurnResult:
        """Out of hours: the hours, then a callback offer or goodbye."""
        hours = self.dialplan.hours
        assert hours is not None
        closed = hours.out_of_hours
        logger.info("call %s: out of hours at %s", self._call_id, local_time(hours, self._now()))
        says = [*lead, closed.message]
        if closed.then == "callback" and closed.callback is not None:
            self.state.offering_callback = True
            return TurnResult(
                self._says([*says, closed.callback.offer], True, values), TurnOutcome.CLOSED
            )
        actions: tuple[Action, ...] = (
            *self._says([*says, self.dialplan.goodbye], False, values),
            Hangup("out of hours"),
        )
        return self._end(actions, TurnOutcome.CLOSED)

    def _callback_offer(self) -> str | None:
        hours = self.dialplan.hours
        callback = hours.out_of_hours.callback if hours else None
        return callback.offer if callback else None

    def _callback_answer(self, answer: bool | None) -> TurnResult:
        hours = self.dialplan.hours
        callback = hours.out_of_hours.callback if hours else None
        assert callback is not None
        self.state.offering_callback = False
        if answer is not True:
            actions: tuple[Action, ...] = (
                *self._says([self.dialplan.goodbye], False),
                Hangup("out of hours"),
            )
            return self._end(actions, TurnOutcome.CALLBACK)
        number = Slot(
            name=CALLBACK_NUMBER,
            type="phone",
            prompt=callback.number_prompt,
            confirm=True,
            on_failure="hangup",
        )
        collector = self._collector([number])
        self.state.collector, self.state.collecting_for = collector, None
        return TurnResult(tuple(Say(t) for t in collector.begin()), TurnOutcome.CALLBACK)

    def _callback_done(
        self, number: SlotValue, captured: tuple[tuple[str, str], ...]
    ) -> TurnResult:
        hours = self.dialplan.hours
        callback = hours.out_of_hours.callback if hours else None
        assert callback is not None
        queue = callback.queue or self.dialplan.transfer.queue
        says = self._says([callback.done, self.dialplan.goodbye], False, self._slot_vars())
        actions: tuple[Action, ...] = (
            *says,
            CallbackRequest(number.value, queue),
            Hangup("callback requested"),
        )
        return _with(self._end(actions, TurnOutcome.CALLBACK), slots=captured)

    def _caller_done(
        self,
        lead: Sequence[str],
        reason: str,
        outcome: TurnOutcome,
        values: Mapping[str, str] | None = None,
        audio: str | None = None,
    ) -> TurnResult:
        """The caller has what they wanted: the satisfaction question, or goodbye."""
        survey = self.dialplan.survey
        says = self._says(lead, True, values)
        if audio and says:
            says = (Say(says[0].text, says[0].interruptible, audio), *says[1:])
        if survey is not None and self.state.survey_score is None:
            self.state.awaiting_survey = reason
            return TurnResult((*says, *self._says([survey.prompt])), outcome)
        goodbye = self._says([self.dialplan.goodbye], False)
        if says and self._says_goodbye(says[-1].text, goodbye[0].text):
            goodbye = ()  # an answer that already ends with the goodbye: said once
        last = tuple(Say(s.text, False, s.audio) for s in says)
        return self._end((*last, *goodbye, Hangup(reason)), outcome)

    def _survey_answer(self, score: int | None) -> TurnResult:
        survey, reason = self.dialplan.survey, self.state.awaiting_survey
        assert survey is not None and reason is not None
        self.state.awaiting_survey = None
        self.state.survey_score = score
        says = ([survey.thanks] if score is not None else []) + [self.dialplan.goodbye]
        logger.info("call %s: survey score %s", self._call_id, score)
        actions: tuple[Action, ...] = (*self._says(says, False), Hangup(reason))
        return _with(self._end(actions, TurnOutcome.SURVEY), survey_score=score)

    # -- helpers -----------------------------------------------------------------------

    def _end(
        self,
        actions: Sequence[Action],
        outcome: TurnOutcome,
        intent: str | None = None,
        confidence: float | None = None,
        runner_up: str | None = None,
    ) -> TurnResult:
        state = self.state
        state.ended = True
        state.pending = None
        state.collector = state.collecting_for = state.awaiting_hook = None
        return TurnResult(tuple(actions), outcome, intent, confidence, runner_up, ended=True)

    def _today(self) -> dt.date:
        hours = self.dialplan.hours
        now = self._now()
        if hours is not None:
            return local_time(hours, now).date()
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        return now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()

    def _clarify_question(self, intent: Intent) -> Say:
        values = {**self._vars, "intent_label": intent.spoken_label}
        text = render(self._clarify.prompt, values)
        return Say(french_elision(text) if self.dialplan.language.startswith("fr") else text)

    def _says(
        self,
        texts: Sequence[str],
        interruptible: bool = True,
        values: Mapping[str, str] | None = None,
    ) -> tuple[Say, ...]:
        filled = {**self._vars, **self._slot_vars(), **(values or {})}
        return tuple(Say(render(text, filled), interruptible) for text in texts)

    def _says_goodbye(self, text: str, goodbye: str) -> bool:
        """Whether ``text`` ends with the last sentence of ``goodbye`` ("Au revoir.")."""
        sentences = [part for part in _SENTENCE_END.split(goodbye) if part.strip()]
        if not sentences:
            return False
        tail = normalize_words(sentences[-1], self.dialplan.language)
        words = normalize_words(text, self.dialplan.language)
        return bool(tail) and words[-len(tail) :] == tail

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


def _with(result: TurnResult, **changes: Any) -> TurnResult:
    """``result`` with some fields replaced (TurnResult is frozen)."""
    return replace(result, **changes)
