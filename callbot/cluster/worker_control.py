"""A worker's call control: transfers carried out by the control leader, and the word
that the bot itself ends a call (so the control does not take it for a dead worker).

:class:`ClusterCallControl` is the :class:`~callbot.pipeline.control.CallControl` of
``callbot worker``; :func:`telling_ends` wraps its call handler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import AudioFormat
from callbot.cluster.commands import CommandClient
from callbot.dialplan import Transfer
from callbot.handover.context import HandoverContext
from callbot.media.types import CallHandler, CallInfo, InboundEvent, MediaSink

logger = logging.getLogger(__name__)


def transfer_payload(
    info: CallInfo, transfer: Transfer, context: HandoverContext | None
) -> dict[str, Any]:
    """What the control needs to transfer the caller (caller data: the row's payload is
    emptied once the transfer is carried out)."""
    return {
        "transfer": dataclasses.asdict(transfer),
        "context": context.to_json() if context is not None else None,
        "caller_number": info.caller_number,
    }


def transfer_from_payload(
    payload: dict[str, Any],
) -> tuple[Transfer, HandoverContext | None, str | None]:
    fields = dict(payload["transfer"])
    fields["slots"] = tuple(tuple(pair) for pair in fields.get("slots", ()))
    context = payload.get("context")
    return (
        Transfer(**fields),
        HandoverContext.from_json(context) if context else None,
        payload.get("caller_number"),
    )


class ClusterCallControl:
    """Transfers through the control leader (``cluster_commands``)."""

    def __init__(self, client: CommandClient) -> None:
        self._client = client

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        outcome = await self._client.request(
            info.call_id, "transfer", transfer_payload(info, transfer, context)
        )
        if not outcome.ok:
            logger.error("transfer to %s not carried out: %s", transfer.queue, outcome.detail)
        return outcome.ok


class _TellingSink:
    """The call's sink; a hang-up first tells the control role the bot ends the call."""

    def __init__(self, sink: MediaSink, tell: Callable[[], Awaitable[None]]) -> None:
        self._sink = sink
        self._tell = tell

    @property
    def format(self) -> AudioFormat:
        return self._sink.format

    async def send_audio(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        await self._sink.send_audio(pcm, sample_rate_hz)

    async def flush(self) -> None:
        await self._sink.flush()

    async def mark(self, mark_id: str) -> None:
        await self._sink.mark(mark_id)

    async def hangup(self) -> None:
        await self._tell()
        await self._sink.hangup()


def telling_ends(handler: CallHandler, client: CommandClient) -> CallHandler:
    """``handler`` whose calls tell the control role when the bot ends them: by hanging
    up, or by returning (the media edge then hangs up). Told before the media leg goes,
    so the control, seeing it go, knows it is no failure."""

    async def run(info: CallInfo, inbound: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        told = False

        async def tell() -> None:
            nonlocal told
            if not told:
                told = True
                await client.note_ended(info.call_id)

        try:
            await handler(info, inbound, _TellingSink(sink, tell))
        finally:
            await tell()

    return run
