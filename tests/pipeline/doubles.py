"""Test doubles of the call's surroundings: the line (a MediaSink) and call control."""

from __future__ import annotations

import numpy as np

from callbot.audio.formats import ULAW_8K
from callbot.dialplan import Transfer
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo


class LineRecorder:
    """A MediaSink that writes down what was done to the line."""

    format = ULAW_8K

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.samples = 0

    async def send_audio(self, pcm: np.ndarray, sample_rate_hz: int) -> None:
        self.calls.append(f"audio@{sample_rate_hz}")
        self.samples += pcm.size

    async def flush(self) -> None:
        self.calls.append("flush")

    async def mark(self, mark_id: str) -> None:
        self.calls.append(f"mark:{mark_id}")

    async def hangup(self) -> None:
        self.calls.append("hangup")


class Control:
    """Call control that accepts (or refuses) every transfer and writes each one down."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.handed: list[tuple[Transfer, HandoverContext | None]] = []

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        self.handed.append((transfer, context))
        return self.accept

    @property
    def transfers(self) -> list[Transfer]:
        return [transfer for transfer, _ in self.handed]

    @property
    def contexts(self) -> list[HandoverContext | None]:
        return [context for _, context in self.handed]
