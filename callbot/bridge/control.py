"""The call runner's :class:`~callbot.pipeline.control.CallControl` over ARI.

A transfer hands the caller to ``[callbot-queues]`` at ``<queue>,1`` (see
``asterisk/extensions.conf``) with inheritable variables that ``Queue()`` copies onto
the agent's legs, where ``callbot-agents-headers`` turns ``CALLBOT_MOTIF`` and
``CALLBOT_SUMMARY`` into SIP headers for a screen pop.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from callbot.bridge.stasis import StasisBridge
from callbot.dialplan import Transfer
from callbot.errors import AriError, CallError
from callbot.media.types import CallInfo

logger = logging.getLogger(__name__)

SUMMARY_MAX_CHARS = 200
"""The summary becomes a SIP header value: one short line."""
_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_-]+$")
"""What ``exten => _[a-z].`` in ``[callbot-queues]`` accepts (and is safe in a header)."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class TransferSettings:
    queue_context: str = "callbot-queues"
    priority: int = 1


class AriCallControl:
    """Transfers calls the :class:`StasisBridge` owns; other calls cannot be transferred."""

    def __init__(self, bridge: StasisBridge, settings: TransferSettings | None = None) -> None:
        self._bridge = bridge
        self._settings = settings or TransferSettings()

    async def transfer(self, info: CallInfo, transfer: Transfer) -> bool:
        """Continue the caller into the queue context; False (logged) when impossible."""
        # The bridge gives the media leg CALLBOT_CALL_ID = its own call id; the media edge
        # makes it CallInfo.call_id (query ``call_id`` would win, but the bridge sets none).
        call_id = info.call_id
        queue = transfer.queue
        if not _QUEUE_NAME.match(queue):
            logger.error("call %s: queue %r cannot be dialled in %s", call_id, queue, self._ctx)
            return False
        variables = {
            "CALLBOT_CALL_ID": call_id,
            "CALLBOT_QUEUE": queue,
            "CALLBOT_MOTIF": _one_line(transfer.reason),
            "CALLBOT_SUMMARY": _one_line(transfer.summary or ""),
        }
        try:
            await self._bridge.transfer(
                call_id,
                context=self._ctx,
                extension=queue,
                priority=self._settings.priority,
                variables=variables,
            )
        except (CallError, AriError) as exc:
            logger.warning("call %s: transfer to %s failed: %s", call_id, queue, exc)
            return False
        logger.info("call %s: handed to queue %s", call_id, queue)
        return True

    @property
    def _ctx(self) -> str:
        return self._settings.queue_context


def _one_line(text: str) -> str:
    flat = _CONTROL_CHARS.sub(" ", text).strip()
    return flat if len(flat) <= SUMMARY_MAX_CHARS else flat[: SUMMARY_MAX_CHARS - 3] + "..."
