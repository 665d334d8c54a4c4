"""The "more details?" question after a short answer, and what the caller's reply means.

An intent with ``details`` answers in two steps (:func:`~callbot.dialplan.requests.
offer_details`): the short ``answer``, then the question. Yes (or key 1) says the
details, no (key 2), a silence or words that ask nothing go on as after any answer (the
follow-up question); words or a key that make another request are that request, so a
caller who moves on is not made to answer the question first.
"""

from __future__ import annotations

from callbot.dialplan.actions import Say, TurnOutcome, TurnResult
from callbot.dialplan.context import DialogContext, Handler
from callbot.dialplan.normalize import content_words
from callbot.dialplan.requests import answered, matched, menu_choice, request_in
from callbot.dialplan.states import Idle, OfferingDetails
from callbot.dialplan.yesno import yes_or_no, yes_or_no_key


class DetailsHandler(Handler[OfferingDetails]):
    """ "More details?": yes says them, anything else goes on; a new request is one."""

    def on_utterance(self, dialog: DialogContext, phase: OfferingDetails, text: str) -> TurnResult:
        dialog.state.phase = Idle()
        language = dialog.dialplan.language
        reply = yes_or_no(text, language)
        asks = text if reply.answer is None else reply.rest
        if reply.answer is None or content_words(asks, language):
            request = request_in(dialog, asks)
            if request is not None and request.intent != phase.intent.id:
                return matched(dialog, request)  # "non, et pour ma carte Vitale ?"
            if request is not None and reply.answer is None:
                return _details(dialog, phase)  # the same question again: the rest of it
        return _details(dialog, phase) if reply.answer else _go_on(dialog, phase)

    def on_dtmf(self, dialog: DialogContext, phase: OfferingDetails, digit: str) -> TurnResult:
        dialog.state.phase = Idle()
        answer = yes_or_no_key(digit)
        if answer is None and digit in dialog.by_digit:
            return menu_choice(dialog, digit)
        return _details(dialog, phase) if answer else _go_on(dialog, phase)

    def on_no_input(self, dialog: DialogContext, phase: OfferingDetails) -> TurnResult:
        """A no, not a silence in a row: the call goes on (a silence turn all the same)."""
        dialog.state.phase = Idle()
        return _go_on(dialog, phase, TurnOutcome.NO_INPUT)


def _details(dialog: DialogContext, phase: OfferingDetails) -> TurnResult:
    """Say the details, then go on as after any answer."""
    return answered(dialog, [], TurnOutcome.DETAILS, phase.intent.id, first=Say(phase.details))


def _go_on(
    dialog: DialogContext, phase: OfferingDetails, outcome: TurnOutcome = TurnOutcome.DETAILS
) -> TurnResult:
    """No details: on as after any answer (the follow-up question, when there is one)."""
    return answered(dialog, [], outcome, phase.intent.id)
