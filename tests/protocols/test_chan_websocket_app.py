"""chan_websocket, the app's side: Asterisk's texts in, commands out, flow control, chunking."""

from __future__ import annotations

import pytest

from callbot.audio.formats import SLIN_8K, SLIN_16K, ULAW_8K, AudioFormat, Codec
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_app as app
from callbot.protocols.chan_websocket import (
    AsteriskError,
    Command,
    CommandName,
    MediaStart,
    UnknownEvent,
    Xoff,
)
from tests.protocols.test_chan_websocket import (
    CHAN,
    COMMAND_FIXTURES,
    EVENT_FIXTURES,
    JSON,
    PLAIN,
    START,
    START_JSON,
    START_PLAIN,
    _without_channel_id,
)


class TestMediaStart:
    def test_plain(self) -> None:
        assert app.parse_event(START_PLAIN) == START

    def test_json_with_channel_variables(self) -> None:
        event = app.parse_event(START_JSON)
        assert isinstance(event, MediaStart)
        assert event.media_format == SLIN_16K and event.optimal_frame_size == 640
        assert event.channel_variables["__CALLBOT_CALL_ID"] == "c-1"
        assert event.channel_variables["CITY"] == "Liège"

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
        event = app.parse_event(text)
        assert isinstance(event, MediaStart)
        assert event.media_format == fmt and event.optimal_frame_size == frame

    def test_passthrough_codec_has_no_media_format(self) -> None:
        text = START_PLAIN.replace("slin16", "opus").replace(":640", ":0")
        event = app.parse_event(text)
        assert isinstance(event, MediaStart)
        assert event.media_format is None and event.optimal_frame_size == 0


class TestEvents:
    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_parse_plain(self, event: cw.Event, plain: str, js: str) -> None:
        assert app.parse_event(plain) == _without_channel_id(event)

    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_parse_json(self, event: cw.Event, plain: str, js: str) -> None:
        assert app.parse_event(js) == event

    def test_error_text_keeps_spaces_and_drops_trailing_newline(self) -> None:
        text = (
            f"ERROR channel_id:{CHAN} error_text:SET_MEDIA_DIRECTION only supports JSON format.\n"
        )
        event = app.parse_event(text)
        assert event == AsteriskError("SET_MEDIA_DIRECTION only supports JSON format.", CHAN)

    def test_unknown_events(self) -> None:
        assert app.parse_event("MEDIA_FOO a:b") == UnknownEvent("MEDIA_FOO", "MEDIA_FOO a:b")
        unknown = app.parse_event('{"event":"NEW_THING","channel_id":"x"}')
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
            app.parse_event(text)

    def test_oversize_text(self) -> None:
        with pytest.raises(cw.OversizeMessage):
            app.parse_event("MEDIA_XON" + " " * 70_000)
        with pytest.raises(cw.OversizeMessage):
            app.parse_event("é" * 40_000)  # 80,000 bytes in UTF-8


class TestCommands:
    @pytest.mark.parametrize(("command", "plain", "js"), COMMAND_FIXTURES)
    def test_encode(self, command: Command, plain: str, js: str) -> None:
        assert app.encode_command(command, PLAIN) == plain
        assert app.encode_command(command, JSON) == js

    def test_set_media_direction_is_json_only(self) -> None:
        cmd = Command("SET_MEDIA_DIRECTION", direction="in")
        expected = '{"command":"SET_MEDIA_DIRECTION","direction":"in"}'
        assert app.encode_command(cmd, JSON) == expected
        with pytest.raises(cw.CommandError):
            app.encode_command(cmd, PLAIN)

    @pytest.mark.parametrize("bad_id", ["two words", "", "x" * 120, "tab\there"])
    def test_ids_asterisk_would_mangle_or_ignore(self, bad_id: str) -> None:
        with pytest.raises(cw.CommandError):
            app.encode_command(Command("MARK_MEDIA", bad_id), JSON)

    def test_unknown_name_refused(self) -> None:
        with pytest.raises(ValueError):
            app.encode_command(Command("DANCE"), PLAIN)


class TestAppConnection:
    def test_format_follows_asterisk(self) -> None:
        conn = app.AppConnection()
        assert conn.control_format is PLAIN
        assert conn.command(CommandName.MARK_MEDIA, "m1") == "MARK_MEDIA m1"
        conn.receive_text(START_JSON)
        assert conn.control_format is JSON and conn.media_start is not None
        assert conn.command(CommandName.MARK_MEDIA, "m1") == (
            '{"command":"MARK_MEDIA","correlation_id":"m1"}'
        )

    def test_plain_start_keeps_plain(self) -> None:
        conn = app.AppConnection()
        conn.receive_text(START_PLAIN)
        assert conn.command(CommandName.FLUSH_MEDIA) == "FLUSH_MEDIA"

    def test_configured_format_wins(self) -> None:
        conn = app.AppConnection(JSON)
        conn.receive_text(START_PLAIN)
        assert conn.command(CommandName.HANGUP) == '{"command":"HANGUP"}'

    def test_flow_control(self) -> None:
        conn = app.AppConnection()
        assert conn.may_send
        assert conn.receive_text("MEDIA_XOFF") == Xoff()
        assert not conn.may_send
        conn.receive_text(f'{{"event":"MEDIA_XON","channel_id":"{CHAN}"}}')
        assert conn.may_send

    def test_binary(self) -> None:
        conn = app.AppConnection()
        assert conn.receive_binary(b"\xff" * 160) == cw.Media(b"\xff" * 160)
        with pytest.raises(cw.OversizeMessage):
            conn.receive_binary(b"\x00" * 65_536)


class TestOutboundChunker:
    def test_whole_frames_and_remainder_carried(self) -> None:
        chunker = app.OutboundChunker(SLIN_16K, max_chunk_ms=100)  # 5 frames, 3200 bytes
        chunks = chunker.push(b"\x01" * (640 * 12 + 100))
        assert [len(c) for c in chunks] == [3200, 3200, 1280]
        assert [len(c) for c in chunker.push(b"\x02" * 540)] == [640]
        assert chunker.finish() == b""

    def test_finish_pads_with_codec_silence(self) -> None:
        chunker = app.OutboundChunker(ULAW_8K)
        assert chunker.push(b"\x10" * 100) == []
        assert chunker.finish() == b"\x10" * 100 + b"\xff" * 60
        chunker.push(b"\x10" * 10)
        chunker.clear()
        assert chunker.finish() == b""

    def test_chunks_stay_under_the_frame_limit(self) -> None:
        slin48 = AudioFormat(Codec.SLIN, 48_000)
        chunker = app.OutboundChunker(slin48, max_chunk_ms=2000)
        chunks = chunker.push(b"\x00" * 1920 * 100)
        assert max(len(c) for c in chunks) <= cw.MAX_SAFE_PAYLOAD_BYTES
        assert all(len(c) % 1920 == 0 for c in chunks)
