"""AudioSocket framing, with byte fixtures written from res/res_audiosocket.c."""

from __future__ import annotations

import uuid

import pytest

from callbot.errors import AudioSocketError
from callbot.protocols.audiosocket import (
    AUDIO_KIND_BY_RATE_HZ,
    Audio,
    CallUuid,
    Direction,
    Dtmf,
    Error,
    FrameParser,
    HangupMessage,
    Kind,
    encode_audio,
    encode_dtmf,
    encode_error,
    encode_frame,
    encode_hangup,
    encode_uuid,
)

CALL_UUID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
UUID_FRAME = b"\x01\x00\x10" + bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
AUDIO_8K_FRAME = b"\x10\x01\x40" + b"\x01\x00" * 160  # 320 bytes: 20 ms of slin
DTMF_HASH_FRAME = b"\x03\x00\x01#"


def from_asterisk(max_payload_bytes: int = 0xFFFF) -> FrameParser:
    return FrameParser(Direction.FROM_ASTERISK, max_payload_bytes)


def to_asterisk() -> FrameParser:
    return FrameParser(Direction.TO_ASTERISK)


class TestEncoders:
    def test_uuid_frame_is_kind_1_length_16_raw_bytes(self) -> None:
        assert encode_uuid(CALL_UUID) == UUID_FRAME

    def test_audio_8k_is_kind_0x10_big_endian_length(self) -> None:
        assert encode_audio(b"\x01\x00" * 160, 8000) == AUDIO_8K_FRAME

    @pytest.mark.parametrize(
        ("rate_hz", "kind"),
        [
            (8000, 0x10),
            (12000, 0x11),
            (16000, 0x12),
            (24000, 0x13),
            (32000, 0x14),
            (44100, 0x15),
            (48000, 0x16),
            (96000, 0x17),
            (192000, 0x18),
        ],
    )
    def test_audio_kind_for_every_rate(self, rate_hz: int, kind: int) -> None:
        assert encode_audio(b"\xaa\xbb", rate_hz) == bytes([kind]) + b"\x00\x02\xaa\xbb"

    def test_dtmf_is_one_ascii_byte(self) -> None:
        assert encode_dtmf("#") == DTMF_HASH_FRAME
        assert encode_dtmf("b") == b"\x03\x00\x01B"

    def test_hangup_is_three_zero_bytes(self) -> None:
        assert encode_hangup() == b"\x00\x00\x00"

    def test_error_with_and_without_code(self) -> None:
        assert encode_error(0x02) == b"\xff\x00\x01\x02"
        assert encode_error() == b"\xff\x00\x00"

    def test_length_over_65535_is_refused(self) -> None:
        assert len(encode_frame(Kind.AUDIO_SLIN, b"\x00" * 0xFFFF)) == 0xFFFF + 3
        with pytest.raises(ValueError, match="exceeds"):
            encode_frame(Kind.AUDIO_SLIN, b"\x00" * 0x10000)

    def test_bad_inputs_are_refused(self) -> None:
        with pytest.raises(ValueError, match="11025"):
            encode_audio(b"\x00\x00", 11025)
        with pytest.raises(ValueError, match="empty"):
            encode_audio(b"", 8000)
        with pytest.raises(ValueError, match="DTMF"):
            encode_dtmf("12")


class TestParserFromAsterisk:
    def test_a_whole_call(self) -> None:
        parser = from_asterisk()
        events = parser.feed(UUID_FRAME + AUDIO_8K_FRAME + DTMF_HASH_FRAME + AUDIO_8K_FRAME)
        assert events == [
            CallUuid(CALL_UUID),
            Audio(8000, b"\x01\x00" * 160),
            Dtmf("#"),
            Audio(8000, b"\x01\x00" * 160),
        ]
        assert parser.buffered_bytes == 0

    def test_every_audio_kind_gives_its_rate(self) -> None:
        parser = from_asterisk()
        parser.feed(UUID_FRAME)
        for rate_hz, kind in AUDIO_KIND_BY_RATE_HZ.items():
            assert parser.feed(bytes([kind]) + b"\x00\x02\x10\x20") == [Audio(rate_hz, b"\x10\x20")]

    def test_byte_by_byte_input_is_buffered(self) -> None:
        parser = from_asterisk()
        stream = UUID_FRAME + AUDIO_8K_FRAME
        events = []
        for i in range(len(stream)):
            events += parser.feed(stream[i : i + 1])
            if i < len(UUID_FRAME) - 1:
                assert events == []
        assert events == [CallUuid(CALL_UUID), Audio(8000, b"\x01\x00" * 160)]

    def test_split_inside_header_and_payload(self) -> None:
        parser = from_asterisk()
        parser.feed(UUID_FRAME)
        assert parser.feed(AUDIO_8K_FRAME[:2]) == []
        assert parser.feed(AUDIO_8K_FRAME[2:100]) == []
        assert parser.buffered_bytes == 100
        assert parser.feed(AUDIO_8K_FRAME[100:] + DTMF_HASH_FRAME[:1]) == [
            Audio(8000, b"\x01\x00" * 160)
        ]
        assert parser.feed(DTMF_HASH_FRAME[1:]) == [Dtmf("#")]

    def test_hangup_and_error_are_tolerated(self) -> None:
        parser = from_asterisk()
        assert parser.feed(UUID_FRAME + b"\xff\x00\x01\x01") == [CallUuid(CALL_UUID), Error(1)]
        assert parser.feed(b"\xff\x00\x00") == [Error(None)]
        assert parser.feed(b"\x00\x00\x00" + AUDIO_8K_FRAME) == [HangupMessage()]
        assert parser.ended
        assert parser.feed(AUDIO_8K_FRAME) == []

    def test_lowercase_dtmf_is_normalised(self) -> None:
        parser = from_asterisk()
        assert parser.feed(UUID_FRAME + b"\x03\x00\x01a") == [CallUuid(CALL_UUID), Dtmf("A")]


class TestParserFromAsteriskErrors:
    @pytest.mark.parametrize(
        ("stream", "message"),
        [
            (AUDIO_8K_FRAME, "before the call UUID"),
            (UUID_FRAME + UUID_FRAME, "second call UUID"),
            (b"\x01\x00\x04abcd", "UUID of 4 bytes"),
            (UUID_FRAME + b"\x02\x00\x01x", "unknown AudioSocket kind 0x02"),
            (UUID_FRAME + b"\x19\x00\x02xx", "unknown AudioSocket kind 0x19"),
            (UUID_FRAME + b"\x10\x00\x00", "zero-length"),
            (UUID_FRAME + b"\x03\x00\x02ab", "bad DTMF"),
            (UUID_FRAME + b"\x03\x00\x01x", "bad DTMF"),
        ],
    )
    def test_malformed_streams(self, stream: bytes, message: str) -> None:
        with pytest.raises(AudioSocketError, match=message):
            from_asterisk().feed(stream)

    def test_oversize_is_refused_at_the_header(self) -> None:
        parser = from_asterisk(max_payload_bytes=640)
        parser.feed(UUID_FRAME)
        assert parser.feed(b"\x10\x02\x80" + b"\x00" * 640) == [Audio(8000, b"\x00" * 640)]
        with pytest.raises(AudioSocketError, match=r"641 bytes.*640-byte limit"):
            parser.feed(b"\x10\x02\x81")  # header only: refused before any payload arrives

    def test_max_payload_setting_is_checked(self) -> None:
        with pytest.raises(ValueError, match="max_payload_bytes"):
            FrameParser(Direction.FROM_ASTERISK, max_payload_bytes=0x10000)


class TestParserToAsterisk:
    """What Asterisk's ast_audiosocket_receive_frame_with_hangup accepts from the app."""

    def test_audio_and_hangup(self) -> None:
        parser = to_asterisk()
        assert parser.feed(AUDIO_8K_FRAME + b"\x12\x00\x02\x01\x02" + b"\x00\x00\x00") == [
            Audio(8000, b"\x01\x00" * 160),
            Audio(16000, b"\x01\x02"),
            HangupMessage(),
        ]

    def test_hangup_length_is_ignored_like_asterisk(self) -> None:
        assert to_asterisk().feed(b"\x00\x00\x05") == [HangupMessage()]

    def test_no_uuid_needed_from_the_app(self) -> None:
        assert to_asterisk().feed(AUDIO_8K_FRAME) == [Audio(8000, b"\x01\x00" * 160)]

    @pytest.mark.parametrize(
        "frame",
        [UUID_FRAME, DTMF_HASH_FRAME, b"\xff\x00\x01\x01", b"\x20\x00\x01x"],
    )
    def test_anything_but_hangup_or_audio_tears_down(self, frame: bytes) -> None:
        with pytest.raises(AudioSocketError, match="only hang-up and audio"):
            to_asterisk().feed(frame)

    def test_zero_length_audio_tears_down(self) -> None:
        with pytest.raises(AudioSocketError, match="zero-length"):
            to_asterisk().feed(b"\x10\x00\x00")
