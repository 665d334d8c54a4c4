"""chan_websocket core, with texts as Asterisk writes them (channels/chan_websocket.c)."""

from __future__ import annotations

import dataclasses

import pytest

from callbot.audio.formats import SLIN_8K, SLIN_16K, ULAW_8K, AudioFormat, Codec
from callbot.errors import ChanWebsocketError
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_asterisk as cwa
from callbot.protocols.chan_websocket import (
    AsteriskError,
    BufferingCompleted,
    Command,
    CommandName,
    ControlFormat,
    Dtmf,
    MarkProcessed,
    MediaStart,
    QueueDrained,
    Status,
    UnknownEvent,
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


class TestMediaStart:
    def test_plain(self) -> None:
        assert cw.parse_event(START_PLAIN) == START

    def test_json_with_channel_variables(self) -> None:
        event = cw.parse_event(START_JSON)
        assert isinstance(event, MediaStart)
        assert event.media_format == SLIN_16K and event.optimal_frame_size == 640
        assert event.channel_variables["__CALLBOT_CALL_ID"] == "c-1"
        assert event.channel_variables["CITY"] == "Liège"

    @pytest.mark.parametrize("fmt", [PLAIN, JSON])
    def test_encoded_as_asterisk_does(self, fmt: ControlFormat) -> None:
        variables = {"MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": "640", "__CALLBOT_CALL_ID": "c-1"}
        variables["CITY"] = "Liège"
        start = dataclasses.replace(START, channel_variables=variables)
        expected = START_PLAIN if fmt is PLAIN else START_JSON
        assert cwa.encode_event(start, fmt) == expected

    @pytest.mark.parametrize(
        ("name", "fmt", "frame"),
        [
            ("ulaw", ULAW_8K, 160),
            ("slin", SLIN_8K, 320),
            ("alaw", AudioFormat(Codec.ALAW, 8000), 160),
        ],
    )
    def test_formats(self, name: str, fmt: AudioFormat, frame: int) -> None:
        text = START_PLAIN.replace("slin16", name).replace(":640", f":{frame}")
        event = cw.parse_event(text)
        assert isinstance(event, MediaStart)
        assert event.media_format == fmt and event.optimal_frame_size == frame

    def test_passthrough_codec_has_no_media_format(self) -> None:
        text = START_PLAIN.replace("slin16", "opus").replace(":640", ":0")
        event = cw.parse_event(text)
        assert isinstance(event, MediaStart)
        assert event.media_format is None and event.optimal_frame_size == 0


class TestEvents:
    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_parse_plain(self, event: cw.Event, plain: str, js: str) -> None:
        assert cw.parse_event(plain) == _without_channel_id(event)

    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_parse_json(self, event: cw.Event, plain: str, js: str) -> None:
        assert cw.parse_event(js) == event

    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_encode_both_formats(self, event: cw.Event, plain: str, js: str) -> None:
        assert cwa.encode_event(event, PLAIN) == plain
        assert cwa.encode_event(event, JSON) == js

    def test_error_text_keeps_spaces_and_drops_trailing_newline(self) -> None:
        text = (
            f"ERROR channel_id:{CHAN} error_text:SET_MEDIA_DIRECTION only supports JSON format.\n"
        )
        event = cw.parse_event(text)
        assert event == AsteriskError("SET_MEDIA_DIRECTION only supports JSON format.", CHAN)

    def test_unknown_events(self) -> None:
        assert cw.parse_event("MEDIA_FOO a:b") == UnknownEvent("MEDIA_FOO", "MEDIA_FOO a:b")
        unknown = cw.parse_event('{"event":"NEW_THING","channel_id":"x"}')
        assert isinstance(unknown, UnknownEvent) and unknown.name == "NEW_THING"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   ",
            "{not json",
            "[1, 2]",
            '{"channel_id":"x"}',
            '{"event":5}',
            "MEDIA_START connection_id:a channel:b",  # fields missing
            START_PLAIN.replace("optimal_frame_size:640", "optimal_frame_size:big"),
            START_PLAIN + " stray",
            "DTMF_END channel_id:x",
            '{"event":"DTMF_END","channel_id":"x","digit":5}',
            EVENT_FIXTURES[7][1].replace("queue_full:false", "queue_full:maybe"),
            '{"event":"MEDIA_START","connection_id":"a","channel":"b","channel_id":"c",'
            '"format":"ulaw","optimal_frame_size":true,"ptime":20}',
            START_JSON.replace('"channel_variables":{', '"channel_variables":[{').replace(
                "}}", "}]}"
            ),
        ],
    )
    def test_malformed(self, text: str) -> None:
        with pytest.raises(cw.MalformedMessage):
            cw.parse_event(text)

    def test_oversize_text(self) -> None:
        with pytest.raises(cw.OversizeMessage):
            cw.parse_event("MEDIA_XON" + " " * 70_000)
        with pytest.raises(cw.OversizeMessage):
            cw.parse_event("é" * 40_000)  # 80,000 bytes in UTF-8

    def test_errors_belong_to_the_tree_and_map_to_close_codes(self) -> None:
        assert issubclass(cw.OversizeMessage, ChanWebsocketError)
        assert cw.close_code_for(cw.OversizeMessage("x")) == 1009
        assert cw.close_code_for(cw.MalformedMessage("x")) is None
        assert cw.close_code_for(cw.UnsupportedMedia("x")) == 1003
        assert cw.close_code_for(cw.MissingMediaStart("x")) == 1002


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


class TestCommands:
    @pytest.mark.parametrize(("command", "plain", "js"), COMMAND_FIXTURES)
    def test_encode(self, command: Command, plain: str, js: str) -> None:
        assert cw.encode_command(command, PLAIN) == plain
        assert cw.encode_command(command, JSON) == js

    @pytest.mark.parametrize(("command", "plain", "js"), COMMAND_FIXTURES)
    def test_asterisk_parses_what_the_app_sends(
        self, command: Command, plain: str, js: str
    ) -> None:
        assert cwa.parse_command(plain, PLAIN) == command
        assert cwa.parse_command(js, JSON) == command

    def test_set_media_direction_is_json_only(self) -> None:
        cmd = Command("SET_MEDIA_DIRECTION", direction="in")
        expected = '{"command":"SET_MEDIA_DIRECTION","direction":"in"}'
        assert cw.encode_command(cmd, JSON) == expected
        with pytest.raises(cw.CommandError):
            cw.encode_command(cmd, PLAIN)

    @pytest.mark.parametrize("bad_id", ["two words", "", "x" * 120, "tab\there"])
    def test_ids_asterisk_would_mangle_or_ignore(self, bad_id: str) -> None:
        with pytest.raises(cw.CommandError):
            cw.encode_command(Command("MARK_MEDIA", bad_id), JSON)

    def test_unknown_name_refused(self) -> None:
        with pytest.raises(ValueError):
            cw.encode_command(Command("DANCE"), PLAIN)

    def test_asterisk_ignores_empty_and_long_text(self) -> None:
        assert cwa.parse_command("", PLAIN) is None
        assert cwa.parse_command("MARK_MEDIA " + "x" * 118, PLAIN) is None  # 129 bytes
        assert cwa.parse_command("MARK_MEDIA " + "x" * 117, PLAIN) == Command(
            "MARK_MEDIA", "x" * 117
        )
        assert cwa.parse_command("  FLUSH_MEDIA \n", PLAIN) == Command("FLUSH_MEDIA")

    def test_asterisk_json_parse_errors(self) -> None:
        with pytest.raises(cw.MalformedMessage, match="Unable to parse JSON command"):
            cwa.parse_command("FLUSH_MEDIA", JSON)
        assert cwa.parse_command("[1]", JSON) == Command("")
        assert cwa.parse_command('{"command":7}', JSON) == Command("")


class TestAppConnection:
    def test_format_follows_asterisk(self) -> None:
        conn = cw.AppConnection()
        assert conn.control_format is PLAIN
        assert conn.command(CommandName.MARK_MEDIA, "m1") == "MARK_MEDIA m1"
        conn.receive_text(START_JSON)
        assert conn.control_format is JSON and conn.media_start is not None
        assert conn.command(CommandName.MARK_MEDIA, "m1") == (
            '{"command":"MARK_MEDIA","correlation_id":"m1"}'
        )

    def test_plain_start_keeps_plain(self) -> None:
        conn = cw.AppConnection()
        conn.receive_text(START_PLAIN)
        assert conn.command(CommandName.FLUSH_MEDIA) == "FLUSH_MEDIA"

    def test_configured_format_wins(self) -> None:
        conn = cw.AppConnection(JSON)
        conn.receive_text(START_PLAIN)
        assert conn.command(CommandName.HANGUP) == '{"command":"HANGUP"}'

    def test_flow_control(self) -> None:
        conn = cw.AppConnection()
        assert conn.may_send
        assert conn.receive_text("MEDIA_XOFF") == Xoff()
        assert not conn.may_send
        conn.receive_text(f'{{"event":"MEDIA_XON","channel_id":"{CHAN}"}}')
        assert conn.may_send

    def test_binary(self) -> None:
        conn = cw.AppConnection()
        assert conn.receive_binary(b"\xff" * 160) == cw.Media(b"\xff" * 160)
        with pytest.raises(cw.OversizeMessage):
            conn.receive_binary(b"\x00" * 65_536)

    def test_frame_size_limit_counts_the_header(self) -> None:
        cw.check_frame_size(65_531, masked=False)  # 4-byte header: 65,535 in all
        with pytest.raises(cw.OversizeMessage):
            cw.check_frame_size(65_532, masked=False)
        cw.check_frame_size(65_527, masked=True)
        with pytest.raises(cw.OversizeMessage):
            cw.check_frame_size(65_528, masked=True)
        assert cw.MAX_SAFE_PAYLOAD_BYTES == 65_527


class TestOutboundChunker:
    def test_whole_frames_and_remainder_carried(self) -> None:
        chunker = cw.OutboundChunker(SLIN_16K, max_chunk_ms=100)  # 5 frames, 3200 bytes
        chunks = chunker.push(b"\x01" * (640 * 12 + 100))
        assert [len(c) for c in chunks] == [3200, 3200, 1280]
        assert [len(c) for c in chunker.push(b"\x02" * 540)] == [640]
        assert chunker.finish() == b""

    def test_finish_pads_with_codec_silence(self) -> None:
        chunker = cw.OutboundChunker(ULAW_8K)
        assert chunker.push(b"\x10" * 100) == []
        assert chunker.finish() == b"\x10" * 100 + b"\xff" * 60
        chunker.push(b"\x10" * 10)
        chunker.clear()
        assert chunker.finish() == b""

    def test_chunks_stay_under_the_frame_limit(self) -> None:
        slin48 = AudioFormat(Codec.SLIN, 48_000)
        chunker = cw.OutboundChunker(slin48, max_chunk_ms=2000)
        chunks = chunker.push(b"\x00" * 1920 * 100)
        assert max(len(c) for c in chunks) <= cw.MAX_SAFE_PAYLOAD_BYTES
        assert all(len(c) % 1920 == 0 for c in chunks)


def test_playout_clock() -> None:
    clock = cw.PlayoutClock()
    clock.sent(2.0, now_s=100.0)
    clock.sent(1.0, now_s=100.5)
    assert clock.lead_s(101.0) == pytest.approx(2.0)
    assert clock.lead_s(200.0) == 0.0
    clock.sent(0.5, now_s=200.0)
    assert clock.lead_s(200.0) == pytest.approx(0.5)
    clock.reset()
    assert clock.lead_s(200.0) == 0.0


# --- Asterisk side ----------------------------------------------------------------------------

PARSE_ERROR = '"error_text":"Unable to parse JSON command"'
ULAW_START = MediaStart("media1", "WebSocket/media1/0x1", CHAN, "ulaw", ULAW_8K, 160, 20)


def _channel(fmt: ControlFormat = PLAIN) -> cwa.AsteriskChannel:
    return cwa.AsteriskChannel(ULAW_START, fmt)


def _play(channel: cwa.AsteriskChannel, ticks: int) -> tuple[list[bytes | None], list[str]]:
    frames: list[bytes | None] = []
    events: list[str] = []
    for _ in range(ticks):
        out = channel.tick()
        frames.append(out.frame)
        events.extend(out.events)
    return frames, events


class TestAsteriskChannel:
    def test_media_start_and_dtmf_texts(self) -> None:
        assert _channel().media_start_text() == (
            f"MEDIA_START connection_id:media1 channel:WebSocket/media1/0x1 channel_id:{CHAN} "
            "format:ulaw optimal_frame_size:160 ptime:20"
        )
        assert _channel(JSON).dtmf_text("#") == (
            f'{{"event":"DTMF_END","channel_id":"{CHAN}","digit":"#"}}'
        )

    def test_reframes_and_drops_the_partial_tail(self) -> None:
        channel = _channel()
        assert channel.receive_binary(bytes(range(160)) * 2 + b"\x01" * 100) == []
        assert channel.queue_length == 2 and channel.dropped_frames == 1
        frames, _ = _play(channel, 3)
        assert frames == [bytes(range(160)), bytes(range(160)), None]

    def test_buffering_keeps_partial_frames(self) -> None:
        channel = _channel(JSON)
        channel.receive_text('{"command":"START_MEDIA_BUFFERING"}')
        channel.receive_binary(b"\x01" * 100)
        channel.receive_binary(b"\x02" * 100)  # completes one frame, 40 bytes left over
        assert channel.queue_length == 1
        command, replies = channel.receive_text(
            '{"command":"STOP_MEDIA_BUFFERING","correlation_id":"b7"}'
        )
        assert command == Command("STOP_MEDIA_BUFFERING", "b7") and replies == []
        frames, events = _play(channel, 3)
        assert frames == [b"\x01" * 100 + b"\x02" * 60, b"\x02" * 40, None]
        assert events == [
            f'{{"event":"MEDIA_BUFFERING_COMPLETED","channel_id":"{CHAN}","correlation_id":"b7"}}'
        ]

    def test_mark_fires_when_playout_reaches_it(self) -> None:
        channel = _channel()
        channel.receive_binary(b"\x01" * 320)
        channel.receive_text("MARK_MEDIA m1")
        channel.receive_binary(b"\x02" * 160)
        channel.receive_text("MARK_MEDIA m2")
        outputs = [channel.tick() for _ in range(4)]
        assert [o.events for o in outputs] == [
            (),
            (),
            ("MEDIA_MARK_PROCESSED m1",),
            ("MEDIA_MARK_PROCESSED m2",),
        ]
        assert outputs[2].frame == b"\x02" * 160 and outputs[3].frame is None

    def test_xoff_at_900_full_at_1000_xon_below_800(self) -> None:
        channel = _channel()
        for _ in range(8):
            assert channel.receive_binary(b"\x00" * 160 * 100) == []
        assert channel.receive_binary(b"\x00" * 160 * 99) == [] and not channel.queue_full
        assert channel.receive_binary(b"\x00" * 160) == ["MEDIA_XOFF"]
        assert channel.receive_binary(b"\x00" * 160 * 150) == []  # accepted: 1050 queued
        assert channel.receive_binary(b"\x00" * 160 * 3) == []  # full: dropped whole
        assert channel.queue_length == 1050 and channel.dropped_frames == 3
        _, events = _play(channel, 250)  # down to 800: not yet below
        assert events == [] and channel.queue_length == 800
        _, events = _play(channel, 2)
        assert events == ["MEDIA_XON"]

    def test_flush_drops_audio_and_marks(self) -> None:
        channel = _channel()
        channel.receive_binary(b"\x01" * 1600)
        channel.receive_text("MARK_MEDIA lost")
        channel.receive_text("FLUSH_MEDIA")
        assert channel.queue_length == 0
        frames, events = _play(channel, 2)
        assert frames == [None, None] and events == []

    def test_status_drained_pause(self) -> None:
        channel = _channel()
        channel.receive_binary(b"\x01" * 320)
        assert channel.receive_text("GET_STATUS")[1] == [
            f"STATUS channel_id:{CHAN} queue_length:2 xon_level:800 xoff_level:900 "
            "queue_full:false bulk_media:false media_paused:false"
        ]
        channel.receive_text("PAUSE_MEDIA")
        assert _play(channel, 2) == ([None, None], [])
        channel.receive_text("CONTINUE_MEDIA")
        channel.receive_text("REPORT_QUEUE_DRAINED")
        assert _play(channel, 4) == ([b"\x01" * 160, b"\x01" * 160, None, None], ["QUEUE_DRAINED"])

    def test_media_direction(self) -> None:
        plain = _channel()
        assert plain.receive_text('SET_MEDIA_DIRECTION {"direction":"in"}')[1] == [
            f"ERROR channel_id:{CHAN} error_text:SET_MEDIA_DIRECTION only supports JSON format.\n"
        ]
        channel = _channel(JSON)
        _, replies = channel.receive_text(
            '{"command":"SET_MEDIA_DIRECTION","direction":"sideways"}'
        )
        assert replies == [
            f'{{"event":"ERROR","channel_id":"{CHAN}","error_text":"\'sideways\' is not a valid '
            'direction for SET_MEDIA_DIRECTION.\\n"}'
        ]
        channel.receive_text('{"command":"SET_MEDIA_DIRECTION","direction":"in"}')
        assert channel.receive_binary(b"\x01" * 160) == [] and channel.queue_length == 0
        _, replies = channel.receive_text('{"command":"MARK_MEDIA","correlation_id":"x"}')
        assert "not supported while media direction is 'in'" in replies[0]

    def test_ignored_and_broken_commands(self) -> None:
        channel = _channel(JSON)
        assert channel.receive_text('{"command":"DANCE"}') == (Command("DANCE"), [])
        assert channel.receive_text('{"command":"MARK_MEDIA","correlation_id":"' + "x" * 100) == (
            None,
            [],
        )
        assert channel.receive_text("HANGUP") == (
            None,
            [f'{{"event":"ERROR","channel_id":"{CHAN}",{PARSE_ERROR}}}'],
        )
        assert not channel.hangup_requested
        channel.receive_text('{"command":"ANSWER"}')
        channel.receive_text('{"command":"HANGUP"}')
        assert channel.answered and channel.hangup_requested

    def test_oversize_frames(self) -> None:
        channel = _channel()
        with pytest.raises(cw.OversizeMessage):
            channel.receive_binary(b"\x00" * 65_532, masked=False)
        with pytest.raises(cw.OversizeMessage):
            channel.receive_text("x" * 65_528, masked=True)
        assert channel.receive_binary(b"\x00" * 160 * 409, masked=False) == []

    def test_passthrough_refused(self) -> None:
        start = MediaStart("m", "WebSocket/m/0x1", CHAN, "opus", None, 0, 20)
        with pytest.raises(cw.UnsupportedMedia):
            cwa.AsteriskChannel(start, PLAIN)
