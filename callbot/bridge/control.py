"""The call runner's :class:`~callbot.pipeline.control.CallControl` over ARI: transfers.

A transfer publishes the hand-over context (before the caller leaves the bot), sets the
``__CALLBOT_*`` variables the agent's phone and console read, and continues the caller
into ``[callbot-queues] <queue>``. What happens in the queue (agent screening, callback
offer, abandon) is :mod:`callbot.bridge.warm_transfer`.
"""

from __future__ import annotations

import logging
import re

from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.bridge.warm_transfer import HandoverPublisher, RenderWav, WarmTransfers
from callbot.dialplan import Transfer
from callbot.errors import AriError, CallError
from callbot.handover.build import build_context
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo

logger = logging.getLogger(__name__)

SUMMARY_MAX_CHARS = 200
"""The summary becomes a SIP header value: one short line."""
_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_-]+$")
"""What ``exten => _[a-z].`` in ``[callbot-queues]`` accepts (and is safe in a header)."""
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


class AriCallControl:
    """Transfers calls the :class:`StasisBridge` owns; other calls cannot be transferred."""

    def __init__(
        self,
        bridge: StasisBridge,
        settings: AriSettings | None = None,
        *,
        hub: HandoverPublisher | None = None,
        synthesize: RenderWav | None = None,
    ) -> None:
        self._bridge = bridge
        self._settings = settings or AriSettings()
        self._hub = hub
        self.warm = WarmTransfers(bridge, self._settings, hub, synthesize)
        bridge.add_event_tap(self.warm.on_event)

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        """Publish the context, then continue the caller into the queue; False when impossible.

        Runs in the call's task (its log lines carry the call id from there)."""
        # The bridge gives the media leg CALLBOT_CALL_ID = its own call id; the media edge
        # makes it CallInfo.call_id (query ``call_id`` would win, but the bridge sets none).
        call_id = info.call_id
        queue = transfer.queue
        if not _QUEUE_NAME.match(queue):
            logger.error("queue %r cannot be dialled in %s", queue, self._ctx)
            return False
        ctx = context if context is not None else build_context(None, transfer, info)
        await self._publish(ctx)
        caller = self._bridge.caller_channel_id(call_id)
        if caller is not None:
            await self.warm.watch(ctx, caller)
        try:
            await self._bridge.transfer(
                call_id,
                context=self._ctx,
                extension=queue,
                priority=1,
                variables=self._variables(ctx),
            )
        except (CallError, AriError) as exc:
            logger.warning("transfer to %s failed: %s", queue, exc)
            await self.warm.failed(ctx.context_id, str(exc))
            return False
        logger.info("handed to queue %s (context %s)", queue, ctx.context_id)
        return True

    async def _publish(self, ctx: HandoverContext) -> None:
        if self._hub is None:
            return
        try:
            await self._hub.publish(ctx)
        except Exception as exc:  # a down console never blocks the transfer
            logger.warning("hand-over context not published: %r", exc)

    def _variables(self, ctx: HandoverContext) -> dict[str, str]:
        """Set as ``__NAME`` by the bridge: inherited by every leg the queue rings."""
        base = self._settings.context_url_base
        return {
            "CALLBOT_CALL_ID": ctx.call_id,
            "CALLBOT_QUEUE": ctx.queue,
            "CALLBOT_SKILL": ctx.skill or "",
            "CALLBOT_LANGUAGE": ctx.language,
            "CALLBOT_MOTIF": _one_line(ctx.reason),
            "CALLBOT_INTENT": ctx.intents[-1] if ctx.intents else "",
            "CALLBOT_SUMMARY": _one_line(ctx.summary),
            "CALLBOT_CONTEXT_ID": ctx.context_id,
            "CALLBOT_CONTEXT_URL": f"{base.rstrip('/')}/{ctx.context_id}" if base else "",
            "CALLBOT_QUEUE_TIMEOUT": str(self._settings.queue_timeout_s),
        }

    @property
    def _ctx(self) -> str:
        return self._settings.queue_context


def _one_line(text: str) -> str:
    flat = _CONTROL_CHARS.sub(" ", text).strip()
    return flat if len(flat) <= SUMMARY_MAX_CHARS else flat[: SUMMARY_MAX_CHARS - 3] + "..."
