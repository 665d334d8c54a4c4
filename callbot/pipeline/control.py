"""How a call leaves the bot: the call-control side (ARI) for transfers and hang-ups."""

from __future__ import annotations

import logging
from typing import Protocol

from callbot.dialplan import Transfer
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo

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
            "call %s: transfer to queue %r requested but no call control (ARI) is configured",
            info.call_id,
            transfer.queue,
        )
        return False


def can_transfer(control: CallControl) -> bool:
    """Whether ``control`` can hand a caller to a human at all (False: no ARI configured,
    the call's outcome is then ``transfer_unavailable``, never a failed transfer)."""
    return not isinstance(control, NoCallControl)
