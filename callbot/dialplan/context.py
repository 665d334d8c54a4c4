"""What the dialog of one call works with: the dialplan, the call, the clock, the state.

Each phase of :mod:`callbot.dialplan.states` has one :class:`Handler`; it receives the
call's :class:`DialogContext` and the phase, and returns the :class:`TurnResult` to
play. The moves a handler makes (answer, transfer, hang up...) are functions over the
same context, in :mod:`~callbot.dialplan.requests`, :mod:`~callbot.dialplan.filling`
and :mod:`~callbot.dialplan.endings`.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from callbot.dialplan.actions import Action, HookResult, Say, TurnOutcome, TurnResult
from callbot.dialplan.clock import Clock, system_now
from callbot.dialplan.hours import is_open
from callbot.dialplan.intents import BUILTIN_SLOT_WORDING, Intent, Slot
from callbot.dialplan.matcher import IntentMatcher
from callbot.dialplan.model import BUILTIN_CLARIFY, BUILTIN_MORE_DETAILS, Dialplan, MoreDetails
from callbot.dialplan.normalize import base_language, normalize_words
from callbot.dialplan.slots import SlotCollector
from callbot.dialplan.states import DialogState, Ended, Phase
from callbot.dialplan.templates import render
from callbot.dialplan.wording import clarify_sentence
from callbot.errors import DialplanError

SUMMARY_UTTERANCE_CHARS = 160
"""How much of the caller's last words the transfer summary carries."""
DEFAULT_TIMEZONE = "Europe/Paris"
"""Where "today" is when the dialplan has no ``hours`` (with their own time zone)."""
_SENTENCE_END = re.compile(r"[.!?]+")


class DialogContext:
    """One call's dialplan, variables, clock and state, and the sentences built from them."""

    def __init__(
        self,
        dialplan: Dialplan,
        call_vars: Mapping[str, str | None] | None,
        matcher: IntentMatcher,
        now: Clock | dt.datetime | None,
    ) -> None:
        self.dialplan = dialplan
        self.state = DialogState()
        self.variables = {k: v for k, v in (call_vars or {}).items() if v is not None}
        """Template variables of the call (``caller_number``, ``call_id``...)."""
        self.call_id = self.variables.get("call_id", "-")
        self.matcher = matcher
        self.by_digit = {i.dtmf: i for i in dialplan.intents if i.dtmf is not None}
        """Intents selected by a keypad digit."""
        if isinstance(now, dt.datetime):
            fixed = now
            self._clock: Clock = lambda: fixed
        else:
            self._clock = now or system_now
        hours = dialplan.hours
        self.zone = ZoneInfo(hours.timezone if hours is not None else DEFAULT_TIMEZONE)
        """Where the call's "today" is: the hours' time zone."""
        lang = base_language(dialplan.language)
        clarify = dialplan.clarify or BUILTIN_CLARIFY.get(lang)
        if clarify is None:
            raise DialplanError(f"dialplan in {dialplan.language} needs a 'clarify' section")
        self.clarify = clarify
        more_details = dialplan.more_details or BUILTIN_MORE_DETAILS.get(lang)
        self.more_details: MoreDetails | None = more_details
        """The "more details?" question; None only where no intent has details (the
        loader refuses them in a language without the wording)."""
        self.slot_wording = BUILTIN_SLOT_WORDING.get(lang, BUILTIN_SLOT_WORDING["en"])

    def now(self) -> dt.datetime:
        """The clock's instant; a naive one (``--now 2026-05-14T10:00``) is local time."""
        when = self._clock()
        return when if when.tzinfo is not None else when.replace(tzinfo=self.zone)

    def is_open(self) -> bool:
        """Whether agents answer now (always, without ``hours``)."""
        hours = self.dialplan.hours
        return hours is None or is_open(hours, self.now())

    def end(self, actions: Sequence[Action], outcome: TurnOutcome) -> TurnResult:
        """The last turn of the call: ``actions`` end with a hang-up or a transfer."""
        self.state.phase = Ended()
        return TurnResult(tuple(actions), outcome, ended=True)

    def says(
        self,
        texts: Sequence[str],
        interruptible: bool = True,
        values: Mapping[str, str] | None = None,
    ) -> tuple[Say, ...]:
        """``texts`` as sentences, templates filled from the call, the slots and ``values``."""
        filled = {**self.variables, **self.slot_vars(), **(values or {})}
        return tuple(Say(render(text, filled), interruptible) for text in texts)

    def says_goodbye(self, text: str, goodbye: str) -> bool:
        """Whether ``text`` ends with the last sentence of ``goodbye`` ("Au revoir.")."""
        sentences = [part for part in _SENTENCE_END.split(goodbye) if part.strip()]
        if not sentences:
            return False
        tail = normalize_words(sentences[-1], self.dialplan.language)
        words = normalize_words(text, self.dialplan.language)
        return bool(tail) and words[-len(tail) :] == tail

    def clarify_question(self, intent: Intent) -> Say:
        """ "Vous voulez parler du suivi de vos remboursements, c'est bien ça ?" """
        label, language = intent.spoken_label, self.dialplan.language
        return Say(clarify_sentence(self.clarify.prompt, label, self.variables, language))

    def slot_vars(self) -> dict[str, str]:
        """Captured slots by name, in their spoken form."""
        return {name: value.spoken for name, value in self.state.slots.items()}

    def collector(self, slots: Sequence[Slot]) -> SlotCollector:
        """Questions for ``slots``, dates read relative to today."""
        values = {**self.variables, **self.slot_vars()}
        return SlotCollector(
            slots,
            self.slot_wording,
            language=self.dialplan.language,
            today=self.today(),
            variables=values,
        )

    def today(self) -> dt.date:
        return self.now().astimezone(self.zone).date()

    def summary(self) -> str:
        """What the agent reads when the call is handed over."""
        state = self.state
        last = state.last_utterance[:SUMMARY_UTTERANCE_CHARS]
        intents = ", ".join(state.intents) or "none"
        return f"intents: {intents}; turns: {state.turns}; last words: {last!r}"


P = TypeVar("P", bound=Phase)


class Handler(ABC, Generic[P]):
    """What the caller's words, keys and silence mean in one phase.

    The engine has counted the turn before calling ``on_utterance`` or ``on_dtmf``; a
    handler changes ``dialog.state.phase`` when what the engine waits for changes.
    """

    @abstractmethod
    def on_utterance(self, dialog: DialogContext, phase: P, text: str) -> TurnResult: ...

    @abstractmethod
    def on_dtmf(self, dialog: DialogContext, phase: P, digit: str) -> TurnResult: ...

    @abstractmethod
    def on_no_input(self, dialog: DialogContext, phase: P) -> TurnResult: ...

    def on_hook_result(self, dialog: DialogContext, phase: P, result: HookResult) -> TurnResult:
        """A back-office reply arrives; only the phase that asked for it waits for one."""
        return TurnResult((), TurnOutcome.IGNORED)
