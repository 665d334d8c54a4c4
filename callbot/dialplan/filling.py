"""Between a recognised intent and its answer: slot questions, then the back-office.

:class:`SlotsHandler` feeds the caller's words, keys and silences to the
:class:`~callbot.dialplan.slots.SlotCollector` of the phase and acts on its step;
:class:`HookHandler` waits for the reply to the ``Fetch`` it returned and answers with
its fields, or with the hook's fallback.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from callbot.dialplan.actions import (
    Ending,
    Hangup,
    HookResult,
    HookStatus,
    Say,
    TurnOutcome,
    TurnResult,
)
from callbot.dialplan.context import DialogContext, Handler
from callbot.dialplan.endings import callback_done, transfer
from callbot.dialplan.hooks import reply_fields
from callbot.dialplan.intents import Hook, Intent
from callbot.dialplan.requests import answered, respond, slots_complete
from callbot.dialplan.slots import Ask, Done, Failed, Step, Wait
from callbot.dialplan.states import AwaitingHook, FillingSlots, Idle
from callbot.dialplan.templates import CALLBACK_NUMBER

logger = logging.getLogger(__name__)


class SlotsHandler(Handler[FillingSlots]):
    """Slot questions: a captured value is kept for the whole call."""

    def on_utterance(self, dialog: DialogContext, phase: FillingSlots, text: str) -> TurnResult:
        return self._step(dialog, phase, phase.collector.on_text(text))

    def on_dtmf(self, dialog: DialogContext, phase: FillingSlots, digit: str) -> TurnResult:
        return self._step(dialog, phase, phase.collector.on_key(digit))

    def on_no_input(self, dialog: DialogContext, phase: FillingSlots) -> TurnResult:
        return self._step(dialog, phase, phase.collector.on_silence())

    def _step(self, dialog: DialogContext, phase: FillingSlots, step: Step) -> TurnResult:
        state, collector, intent = dialog.state, phase.collector, phase.intent
        intent_id = intent.id if intent else None
        if isinstance(step, Wait):
            return TurnResult((), TurnOutcome.SLOT, intent_id)
        if isinstance(step, Ask):
            state.slots.update(collector.values)
            says = tuple(Say(text) for text in step.texts)
            return TurnResult(says, TurnOutcome.SLOT, intent_id, slots=step.captured)
        state.phase = Idle()
        if isinstance(step, Done):
            state.slots.update(collector.values)
            if intent is None:
                return callback_done(dialog, collector.values[CALLBACK_NUMBER], step.captured)
            return slots_complete(dialog, intent, TurnOutcome.SLOT, None, captured=step.captured)
        return self._failed(dialog, phase, step)

    def _failed(self, dialog: DialogContext, phase: FillingSlots, step: Failed) -> TurnResult:
        """Transfer when the slot says so; otherwise (and for a callback number) goodbye."""
        logger.info("slot %s failed: %s", step.slot, step.reason)
        intent = phase.intent
        slot = next((s for s in intent.slots if s.name == step.slot), None) if intent else None
        if intent is not None and slot is not None and slot.on_failure == "transfer":
            reason = f"slot {step.slot} {step.reason}"
            return transfer(dialog, reason, TurnOutcome.SLOT, spec=intent.transfer)
        says = dialog.says([dialog.dialplan.goodbye], False)
        ending = Ending.NO_INPUT if step.reason == "no input" else Ending.UNRESOLVED
        return dialog.end((*says, Hangup(f"slot {step.reason}", ending)), TurnOutcome.SLOT)


class HookHandler(Handler[AwaitingHook]):
    """The back-office is asked: the caller's words, keys and silences wait for its reply."""

    def on_utterance(self, dialog: DialogContext, phase: AwaitingHook, text: str) -> TurnResult:
        return TurnResult((), TurnOutcome.HOOK)  # the answer is on its way

    def on_dtmf(self, dialog: DialogContext, phase: AwaitingHook, digit: str) -> TurnResult:
        return TurnResult((), TurnOutcome.HOOK)

    def on_no_input(self, dialog: DialogContext, phase: AwaitingHook) -> TurnResult:
        return TurnResult((), TurnOutcome.HOOK)

    def on_hook_result(
        self, dialog: DialogContext, phase: AwaitingHook, result: HookResult
    ) -> TurnResult:
        intent = phase.intent
        if intent.hook != result.hook:
            return TurnResult((), TurnOutcome.IGNORED)
        dialog.state.phase = Idle()
        hook = dialog.dialplan.hook(result.hook)
        fields = None
        if result.status == "ok" and result.data is not None:
            fields = reply_fields(hook, result.data, dialog.dialplan.language)
        ok = result.status != "ok" or fields is not None
        status: HookStatus = result.status if ok else "malformed"
        logger.info("hook %s %s %s", hook.id, status, result.detail)
        if fields is not None:
            turn = respond(dialog, intent, TurnOutcome.HOOK, 1.0, extra=fields)
        else:
            turn = _fallback(dialog, hook, intent, status)
        return replace(turn, hook_status=status)


def _fallback(dialog: DialogContext, hook: Hook, intent: Intent, status: HookStatus) -> TurnResult:
    """No usable reply: the hook's fallback (or not-found) sentence, then transfer or go on."""
    sentence = hook.not_found if status == "not_found" and hook.not_found else hook.fallback
    if hook.on_failure == "transfer":
        reason = f"hook {hook.id} {status}"
        return transfer(dialog, reason, TurnOutcome.HOOK, lead=[sentence])
    return answered(dialog, [sentence], TurnOutcome.HOOK, intent.id)
