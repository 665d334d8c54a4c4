"""Limits: concurrent calls (admission), message sizes at the protocol edges."""

import asyncio
from typing import Any

import pytest

from callbot.audio.formats import AudioFormat
from callbot.errors import AudioSocketError
from callbot.media.admission import CallAdmission, admitting
from callbot.media.types import CallInfo, InboundEvent
from callbot.protocols import audiosocket
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_app as cw_app

INFO = CallInfo("c-1", "chan_websocket", AudioFormat.from_asterisk_name("ulaw"))


class Sink:
    def __init__(self) -> None:
        self.hung_up = False

    async def hangup(self) -> None:
        self.hung_up = True


async def test_calls_over_the_limit_are_refused_before_the_handler_runs() -> None:
    admission = CallAdmission(max_concurrent_calls=1)
    release = asyncio.Event()
    started: list[str] = []
    refused: list[str] = []

    async def handler(info: CallInfo, inbound: asyncio.Queue[InboundEvent], sink: Any) -> None:
        started.append(info.call_id)
        await release.wait()

    gated = admitting(handler, admission, on_refused=refused.append)
    first = asyncio.create_task(gated(INFO, asyncio.Queue(), Sink()))
    await asyncio.sleep(0)
    second_sink = Sink()
    await gated(CallInfo("c-2", "audiosocket", INFO.media_format), asyncio.Queue(), second_sink)
    assert started == ["c-1"] and second_sink.hung_up and refused == ["busy"]
    release.set()
    await first
    assert admission.active == 0
    await asyncio.wait_for(gated(INFO, asyncio.Queue(), Sink()), 1)  # a slot again
    assert started == ["c-1", "c-1"]


def test_no_limit() -> None:
    admission = CallAdmission(0)
    assert all(admission.try_admit() for _ in range(100))
    with pytest.raises(ValueError):
        CallAdmission(-1)


class TestMessageSizes:
    def test_chan_websocket_text_over_64k_is_refused(self) -> None:
        with pytest.raises(cw.OversizeMessage):
            cw_app.parse_event("MEDIA_XON " + "x" * cw.MAX_EVENT_TEXT_BYTES)

    def test_chan_websocket_binary_over_64k_is_refused(self) -> None:
        with pytest.raises(cw.OversizeMessage):
            cw_app.AppConnection().receive_binary(b"\xff" * (cw.MAX_FRAME_BYTES + 1))

    def test_audiosocket_refuses_a_big_frame_on_its_header(self) -> None:
        parser = audiosocket.FrameParser(audiosocket.Direction.FROM_ASTERISK, max_payload_bytes=640)
        uuid_frame = b"\x01\x00\x10" + bytes(16)
        with pytest.raises(AudioSocketError, match="exceeds"):
            parser.feed(uuid_frame + b"\x10\x02\x81")  # 641 bytes announced, none sent yet
