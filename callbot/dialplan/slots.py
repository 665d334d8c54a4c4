"""Collecting an intent's slots: ask, validate, read back, accept a correction.

A :class:`SlotCollector` is the pure state machine of one series of questions. The
dialog engine feeds it what the caller said, typed or left unsaid, and gets back a
:class:`Step`: sentences to say (:class:`Ask`), nothing yet (:class:`Wait`, a keypad
digit was buffered), every slot captured (:class:`Done`), or giving up
(:class:`Failed`). Read-back follows what French callers do::

    bot:    J'ai noté 06 12 34 56 78, c'est bien ça ?
    caller: non, c'est 06 12 34 56 79        -> read back the new value
    caller: non                               -> "D'accord, reprenons." + the question
    caller: oui  (or key 1)                   -> captured
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callbot.dialplan.intents import Slot, SlotWording
from callbot.dialplan.templates import SLOT_VALUE, render
from callbot.dialplan.validators import (
    KEYED_LENGTH,
    Rules,
    SlotValue,
    refusal,
    validate,
    validate_keyed,
)
from callbot.dialplan.yesno import yes_or_no, yes_or_no_key

DEFAULT_SLOT_SILENCES = 2
"""Silences in a row after which a slot without its own ``no_input`` policy fails."""


@dataclass(frozen=True, slots=True)
class Ask:
    texts: tuple[str, ...]
    """Sentences to say, templates filled."""
    captured: tuple[tuple[str, str], ...] = ()
    """A slot captured by this step (then ``texts`` asks the next one)."""


@dataclass(frozen=True, slots=True)
class Wait:
    """A keypad digit was buffered; say nothing."""


@dataclass(frozen=True, slots=True)
class Done:
    captured: tuple[tuple[str, str], ...]
    """The last slot, captured by this step."""


@dataclass(frozen=True, slots=True)
class Failed:
    slot: str
    reason: str
    """``not understood`` or ``no input``."""


Step = Ask | Wait | Done | Failed


class SlotCollector:
    """Asks ``slots`` in order; ``values`` holds what was captured so far."""

    def __init__(
        self,
        slots: Sequence[Slot],
        wording: SlotWording,
        *,
        language: str,
        today: dt.date,
        variables: Mapping[str, str],
    ) -> None:
        if not slots:
            raise ValueError("nothing to collect")
        self._slots = tuple(slots)
        self._wording = wording
        self._language = language
        self._today = today
        self._variables = dict(variables)
        self.values: dict[str, SlotValue] = {}
        self._index = 0
        self._misses = 0
        self._silences = 0
        self._heard: SlotValue | None = None
        self._keys = ""

    @property
    def slot(self) -> Slot:
        """The slot being asked."""
        return self._slots[self._index]

    def begin(self) -> tuple[str, ...]:
        """The first question."""
        return (self._render(self.slot.prompt),)

    def on_text(self, text: str) -> Step:
        """The caller said ``text``."""
        value = validate(self.slot.type, text, self._rules())
        if self._heard is not None:
            return self._read_back_answer(yes_or_no(text, self._language).answer, value)
        return self._offer(value, text)

    def on_key(self, key: str) -> Step:
        """The caller pressed ``key``: digits build the entry, ``#`` ends it."""
        slot = self.slot
        if self._heard is not None:
            answer = yes_or_no_key(key)
            return Wait() if answer is None else self._read_back_answer(answer, None)
        if not slot.dtmf:
            return Wait()
        if key == "#":
            keys, self._keys = self._keys, ""
            value = validate_keyed(slot.type, keys, self._rules()) if keys else None
            return self._offer(value, keys)
        if key == "*" and slot.type != "amount":
            self._keys = ""  # start the entry over
            return Wait()
        self._keys += key
        if KEYED_LENGTH.get(slot.type) == len(self._keys):
            return self.on_key("#")
        return Wait()

    def on_silence(self) -> Step:
        """The caller said nothing; a pending keypad entry counts as ended."""
        if self._keys:
            return self.on_key("#")
        slot, policy = self.slot, self.slot.no_input
        self._silences += 1
        limit = policy.max_count if policy else DEFAULT_SLOT_SILENCES
        if self._silences >= limit:
            return Failed(slot.name, "no input")
        lead = policy.prompts[min(self._silences, len(policy.prompts)) - 1] if policy else None
        question = self._read_back() if self._heard else slot.prompt
        texts = [lead or self._wording.no_input, question]
        return Ask(tuple(self._render(t, self._heard) for t in texts))

    # -- steps -------------------------------------------------------------------------

    def _offer(self, value: SlotValue | None, heard: str) -> Step:
        self._silences = 0
        if value is None:
            hint = self._wording.wrong_key if refusal(self.slot.type, heard) else None
            return self._miss((hint or self.slot.retry or self._wording.retry, self.slot.prompt))
        if self.slot.confirm:
            self._heard = value
            return Ask((self._render(self._read_back(), value),))
        return self._accept(value)

    def _read_back_answer(self, answer: bool | None, value: SlotValue | None) -> Step:
        heard = self._heard
        assert heard is not None
        self._silences = 0
        if answer is True:
            return self._accept(heard)
        if value is not None and value != heard:  # "non, c'est 06 12..." or just the number
            self._heard = value
            return Ask((self._render(self._read_back(), value),))
        if answer is False:
            self._heard = None
            return self._miss((self._wording.refused, self.slot.prompt))
        return self._miss((self._wording.retry, self._read_back()), heard)

    def _miss(self, texts: tuple[str, str], value: SlotValue | None = None) -> Step:
        self._misses += 1
        if self._misses >= self.slot.max_attempts:
            return Failed(self.slot.name, "not understood")
        return Ask(tuple(self._render(t, value) for t in texts))

    def _accept(self, value: SlotValue) -> Step:
        slot = self.slot
        self.values[slot.name] = value
        self._variables[slot.name] = value.spoken
        captured = ((slot.name, value.value),)
        self._index += 1
        self._misses, self._silences, self._heard, self._keys = 0, 0, None, ""
        if self._index == len(self._slots):
            return Done(captured)
        return Ask(self.begin(), captured)

    # -- helpers -----------------------------------------------------------------------

    def _read_back(self) -> str:
        return self.slot.confirm_prompt or self._wording.confirm_prompt

    def _render(self, text: str, value: SlotValue | None = None) -> str:
        values = self._variables
        if value is not None:
            values = {**values, SLOT_VALUE: value.spoken}
        return render(text, values)

    def _rules(self) -> Rules:
        slot = self.slot
        return Rules(
            today=self._today,
            language=self._language,
            when=slot.when,
            min_digits=slot.min_digits or 1,
            max_digits=slot.max_digits or 20,
            min_value=slot.min_value,
            max_value=slot.max_value,
        )
