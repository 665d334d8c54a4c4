"""chan_websocket messages, with texts as Asterisk writes them (channels/chan_websocket.c).

The fixtures here (every event and command, both control formats) are the wire facts the
app side (``test_chan_websocket_app``) and the Asterisk side
(``test_chan_websocket_asterisk``) are each checked against; the round trips below check
that each side reads what the other writes.
"""

from __future__ import annotations

import dataclasses

import pytest

from callbot.audio.formats import SLIN_16K, ULAW_8K, AudioFormat, Codec
from callbot.errors import ChanWebsocketError
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_app as app
from callbot.protocols import chan_websocket_asterisk as cwa
from callbot.protocols.chan_websocket import (
    AsteriskError,
    BufferingCompleted,
    Command,
    ControlFormat,
    Dtmf,
    MarkProcessed,
    MediaStart,
    QueueDrained,
    Status,
    Xoff,
    Xon,
)

PLAIN, JSON = ControlFormat.PLAIN, ControlFormat.JSON
CHAN = "1763700000.42"

START_PLAIN = (
    "MEDIA_START connection_id:media1 channel:WebSocket/media1/0x7f3c2c00a1b0 "
    f"channel_id:{CHAN} format:slin16 optimal_frame_size:640 ptime:20"
)
START_JSON = (
    '{"event":"MEDIA_START","connection_id":"media1",'
    f'"channel":"WebSocket/media1/0x7f3c2c00a1b0","channel_id":"{CHAN}","format":"slin16",'
    '"optimal_frame_size":640,"ptime":20,"channel_variables":'
    '{"MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE":"640","__CALLBOT_CALL_ID":"c-1","CITY":"Liège"}}'
)
START = MediaStart(
    connection_id="media1",
    channel="WebSocket/media1/0x7f3c2c00a1b0",
    channel_id=CHAN,
    format_name="slin16",
    media_format=SLIN_16K,
    optimal_frame_size=640,
    ptime_ms=20,
)

# (event, plain text, JSON text): every control event Asterisk sends, both formats.
EVENT_FIXTURES: list[tuple[cw.Event, str, str]] = [
    (
        Dtmf("5", CHAN),
        f"DTMF_END digit:5 channel_id:{CHAN}",
        f'{{"event":"DTMF_END","channel_id":"{CHAN}","digit":"5"}}',
    ),
    (Xoff(CHAN), "MEDIA_XOFF", f'{{"event":"MEDIA_XOFF","channel_id":"{CHAN}"}}'),
    (Xon(CHAN), "MEDIA_XON", f'{{"event":"MEDIA_XON","channel_id":"{CHAN}"}}'),
    (QueueDrained(CHAN), "QUEUE_DRAINED", f'{{"event":"QUEUE_DRAINED","channel_id":"{CHAN}"}}'),
    (
        MarkProcessed("prompt-3", CHAN),
        "MEDIA_MARK_PROCESSED prompt-3",
        f'{{"event":"MEDIA_MARK_PROCESSED","channel_id":"{CHAN}","correlation_id":"prompt-3"}}',
    ),
    (
        MarkProcessed("", CHAN),
        "MEDIA_MARK_PROCESSED",
        f'{{"event":"MEDIA_MARK_PROCESSED","channel_id":"{CHAN}","correlation_id":""}}',
    ),
    (
        BufferingCompleted("b1", CHAN),
        "MEDIA_BUFFERING_COMPLETED b1",
        f'{{"event":"MEDIA_BUFFERING_COMPLETED","channel_id":"{CHAN}","correlation_id":"b1"}}',
    ),
    (
        Status(CHAN, 12, 800, 900, False, True, False),
        f"STATUS channel_id:{CHAN} queue_length:12 xon_level:800 xoff_level:900 "
        "queue_full:false bulk_media:true media_paused:false",
        f'{{"event":"STATUS","channel_id":"{CHAN}","queue_length":12,"xon_level":800,'
        '"xoff_level":900,"queue_full":false,"bulk_media":true,"media_paused":false}',
    ),
    (
        AsteriskError("MARK_MEDIA not supported in passthrough mode", CHAN),
        f"ERROR channel_id:{CHAN} error_text:MARK_MEDIA not supported in passthrough mode",
        f'{{"event":"ERROR","channel_id":"{CHAN}",'
        '"error_text":"MARK_MEDIA not supported in passthrough mode"}',
    ),
]


def _without_channel_id(event: cw.Event) -> cw.Event:
    # The plain form of these events carries no channel_id.
    if isinstance(event, Xoff | Xon | QueueDrained):
        return type(event)()
    if isinstance(event, MarkProcessed | BufferingCompleted):
        return type(event)(event.correlation_id)
    return event


COMMAND_FIXTURES: list[tuple[Command, str, str]] = [
    (Command("ANSWER"), "ANSWER", '{"command":"ANSWER"}'),
    (Command("HANGUP"), "HANGUP", '{"command":"HANGUP"}'),
    (
        Command("START_MEDIA_BUFFERING"),
        "START_MEDIA_BUFFERING",
        '{"command":"START_MEDIA_BUFFERING"}',
    ),
    (
        Command("STOP_MEDIA_BUFFERING", "b1"),
        "STOP_MEDIA_BUFFERING b1",
        '{"command":"STOP_MEDIA_BUFFERING","correlation_id":"b1"}',
    ),
    (
        Command("MARK_MEDIA", "prompt-3"),
        "MARK_MEDIA prompt-3",
        '{"command":"MARK_MEDIA","correlation_id":"prompt-3"}',
    ),
    (Command("MARK_MEDIA"), "MARK_MEDIA", '{"command":"MARK_MEDIA"}'),
    (Command("FLUSH_MEDIA"), "FLUSH_MEDIA", '{"command":"FLUSH_MEDIA"}'),
    (Command("REPORT_QUEUE_DRAINED"), "REPORT_QUEUE_DRAINED", '{"command":"REPORT_QUEUE_DRAINED"}'),
    (Command("GET_STATUS"), "GET_STATUS", '{"command":"GET_STATUS"}'),
    (Command("PAUSE_MEDIA"), "PAUSE_MEDIA", '{"command":"PAUSE_MEDIA"}'),
    (Command("CONTINUE_MEDIA"), "CONTINUE_MEDIA", '{"command":"CONTINUE_MEDIA"}'),
]


class TestRoundTrips:
    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_the_app_reads_every_event_asterisk_writes(
        self, event: cw.Event, plain: str, js: str
    ) -> None:
        assert app.parse_event(cwa.encode_event(event, ControlFormat.JSON)) == event
        plain_event = app.parse_event(cwa.encode_event(event, ControlFormat.PLAIN))
        assert plain_event == _without_channel_id(event)

    @pytest.mark.parametrize("fmt", [PLAIN, JSON])
    def test_media_start_with_its_variables(self, fmt: ControlFormat) -> None:
        variables = {"__CALLBOT_CALL_ID": "c-1", "CITY": "Liège"}
        start = dataclasses.replace(START, channel_variables=variables)
        parsed = app.parse_event(cwa.encode_event(start, fmt))
        # The plain form carries no channel variables.
        assert parsed == (start if fmt is JSON else START)

    @pytest.mark.parametrize(("command", "plain", "js"), COMMAND_FIXTURES)
    def test_asterisk_reads_every_command_the_app_writes(
        self, command: Command, plain: str, js: str
    ) -> None:
        for fmt in (PLAIN, JSON):
            assert cwa.parse_command(app.encode_command(command, fmt), fmt) == command


def test_errors_belong_to_the_tree_and_map_to_close_codes() -> None:
    assert issubclass(cw.OversizeMessage, ChanWebsocketError)
    assert cw.close_code_for(cw.OversizeMessage("x")) == 1009
    assert cw.close_code_for(cw.MalformedMessage("x")) is None
    assert cw.close_code_for(cw.UnsupportedMedia("x")) == 1003
    assert cw.close_code_for(cw.MissingMediaStart("x")) == 1002
    assert cw.close_code_for(cw.CommandError("x")) is None


def test_frame_size_limit_counts_the_header() -> None:
    cw.check_frame_size(65_531, masked=False)  # 4-byte header: 65,535 in all
    with pytest.raises(cw.OversizeMessage):
        cw.check_frame_size(65_532, masked=False)
    cw.check_frame_size(65_527, masked=True)
    with pytest.raises(cw.OversizeMessage):
        cw.check_frame_size(65_528, masked=True)
    assert cw.MAX_SAFE_PAYLOAD_BYTES == 65_527


@pytest.mark.parametrize(
    ("fmt", "frame"),
    [
        (ULAW_8K, b"\xff" * 160),
        (AudioFormat(Codec.ALAW, 8000), b"\xd5" * 160),
        (SLIN_16K, bytes(640)),
    ],
)
def test_silence_is_one_frame_of_the_codec_s_zero(fmt: AudioFormat, frame: bytes) -> None:
    assert cw.silence_frame(fmt) == frame
