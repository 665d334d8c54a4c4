"""How a call leaves the bot: the call-control side (ARI) for transfers and hang-ups."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from callbot.calls.journal import CallJournal
from callbot.dialplan import Transfer
from callbot.handover.build import build_context
from callbot.handover.callback import build_callback
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo
from callbot.records.callbacks import Callback

logger = logging.getLogger(__name__)


class CallControl(Protocol):
    """Carries out a transfer to a human queue. ARI implements it; see callbot.bridge."""

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        """Hand the caller to ``transfer.queue`` with ``context`` for the agent; False when
        this call cannot be transferred."""
        ...


class NoCallControl:
    """No control plane (softphone, Dial(WebSocket) without ARI): transfers cannot happen.

    The caller has already heard the handover sentence; the call then ends on the
    media side, and the record says the transfer was requested but not possible.
    """

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        logger.warning(
            "transfer to queue %r requested but no call control (ARI) is configured",
            transfer.queue,
        )
        return False


def can_transfer(control: CallControl) -> bool:
    """Whether ``control`` can hand a caller to a human at all (False: no ARI configured,
    the call's outcome is then ``transfer_unavailable``, never a failed transfer)."""
    return not isinstance(control, NoCallControl)


class CallHandover:
    """One call's way to a human: call control, with the agent's context built from the
    call's journal at the moment of the transfer. Every hand-over of a call (the dialog's
    transfer, the apology after a failure, shutdown, a refused caller) goes through here."""

    def __init__(
        self,
        control: CallControl,
        journal: CallJournal,
        *,
        language: str,
        intent_labels: Mapping[str, str] | None = None,
    ) -> None:
        self._control = control
        self._journal = journal
        self.language = language
        """The dialplan's (BCP 47): the context's, unless the transfer names one."""
        self._intent_labels = intent_labels

    @property
    def possible(self) -> bool:
        """Whether a caller can be handed over at all (see :func:`can_transfer`)."""
        return can_transfer(self._control)

    async def transfer(self, transfer: Transfer) -> bool:
        """Hand the caller to ``transfer.queue`` with the call's context; False when call
        control could not."""
        info = self._journal.info
        context = build_context(
            self._journal,
            transfer,
            info,
            intent_labels=self._intent_labels,
            language=self.language,
        )
        return await self._control.transfer(info, transfer, context)

    def callback(self) -> Callback | None:
        """The callback the caller asked for (out of hours), as the agents' work item, with
        the summary a transfer would give; None when none was asked."""
        request = self._journal.callback
        if request is None:
            return None
        return build_callback(
            self._journal, request, intent_labels=self._intent_labels, language=self.language
        )
