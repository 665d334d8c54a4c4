"""chan_websocket, Asterisk's side: its texts byte for byte, the commands it reads, its queue."""

from __future__ import annotations

import dataclasses

import pytest

from callbot.audio.formats import ULAW_8K
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_asterisk as cwa
from callbot.protocols.chan_websocket import Command, ControlFormat, MediaStart
from tests.protocols.test_chan_websocket import (
    CHAN,
    COMMAND_FIXTURES,
    EVENT_FIXTURES,
    JSON,
    PLAIN,
    START,
    START_JSON,
    START_PLAIN,
)


class TestEvents:
    @pytest.mark.parametrize("fmt", [PLAIN, JSON])
    def test_media_start_encoded_as_asterisk_does(self, fmt: ControlFormat) -> None:
        variables = {"MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": "640", "__CALLBOT_CALL_ID": "c-1"}
        variables["CITY"] = "Liège"
        start = dataclasses.replace(START, channel_variables=variables)
        expected = START_PLAIN if fmt is PLAIN else START_JSON
        assert cwa.encode_event(start, fmt) == expected

    @pytest.mark.parametrize(("event", "plain", "js"), EVENT_FIXTURES)
    def test_encode_both_formats(self, event: cw.Event, plain: str, js: str) -> None:
        assert cwa.encode_event(event, PLAIN) == plain
        assert cwa.encode_event(event, JSON) == js

    def test_media_and_unknown_are_not_control_events(self) -> None:
        with pytest.raises(TypeError):
            cwa.encode_event(cw.Media(b"x"), PLAIN)


class TestCommands:
    @pytest.mark.parametrize(("command", "plain", "js"), COMMAND_FIXTURES)
    def test_parse_both_formats(self, command: Command, plain: str, js: str) -> None:
        assert cwa.parse_command(plain, PLAIN) == command
        assert cwa.parse_command(js, JSON) == command

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
