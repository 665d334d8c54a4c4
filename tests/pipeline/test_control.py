"""CallHandover: the one place a call's hand-over context is built, then given to control."""

from __future__ import annotations

from callbot.audio.formats import ULAW_8K
from callbot.calls.journal import CallJournal
from callbot.dialplan import Transfer
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo
from callbot.pipeline.control import CallHandover, NoCallControl

INFO = CallInfo("c1", "chan_websocket", ULAW_8K, caller_number="0612345678")


class Control:
    def __init__(self) -> None:
        self.contexts: list[HandoverContext | None] = []

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        self.contexts.append(context)
        return True


async def test_the_context_comes_from_the_journal_as_the_transfer_happens() -> None:
    journal, control = CallJournal(INFO), Control()
    journal.new_turn(caller_text="je veux un conseiller", intent="conseiller")
    handover = CallHandover(
        control, journal, language="en-GB", intent_labels={"conseiller": "an advisor"}
    )
    assert handover.possible
    assert await handover.transfer(Transfer("conseillers", "asked for a person"))
    [context] = control.contexts
    assert context is not None and context.call_id == "c1" and context.queue == "conseillers"
    assert context.language == "en-GB" and context.intents == ("conseiller",)
    assert context.summary.startswith("Call about an advisor")
    assert context.caller_number == "0612345678"


async def test_without_call_control_no_hand_over_is_possible() -> None:
    handover = CallHandover(NoCallControl(), CallJournal(INFO), language="fr-FR")
    assert not handover.possible
    assert not await handover.transfer(Transfer("conseillers", "x"))
