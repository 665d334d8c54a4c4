"""The simulated AudioSocket Asterisk, against scripted raw bots and against our own server."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import numpy as np
import pytest

from callbot.audio.formats import SLIN_16K
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.types import CallEnded, CallerAudio, CallInfo, InboundEvent, MediaSink
from callbot.protocols.audiosocket import (
    Audio,
    CallUuid,
    Direction,
    Dtmf,
    Event,
    FrameParser,
    Hangup,
    encode_audio,
    encode_dtmf,
    encode_frame,
    encode_hangup,
)
from callbot.simulator.audiosocket_peer import (
    FRAME_S,
    JitterBuffer,
    SimulatedAudioSocketCall,
    _BotAudioDecoder,
)

CALL_ID = "5e0c1c2a-9b1f-4c55-8f43-6d1f0a2b3c4d"
TONE_8K = (8000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)
TONE_FRAME_8K = TONE_8K[:160].astype("<i2").tobytes()


Script = Callable[[asyncio.StreamWriter], Coroutine[Any, Any, None]]


class RawBot:
    """A bot server at byte level: records what the simulated Asterisk sends, runs a script."""

    def __init__(self, script: Script | None) -> None:
        self.script = script
        self.events: list[tuple[float, Event]] = []
        self.eof = asyncio.Event()
        self.raw = bytearray()
        self.connections: list[asyncio.Task[Any]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(asyncio.current_task())  # type: ignore[arg-type]
        parser = FrameParser(Direction.FROM_ASTERISK)
        script = asyncio.create_task(self.script(writer)) if self.script else None
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65_536):
                self.raw += data
                now = time.monotonic()
                self.events += [(now, e) for e in parser.feed(data)]
        self.eof.set()
        if script is not None:
            script.cancel()
            await asyncio.gather(script, return_exceptions=True)
        writer.close()

    def audio(self) -> list[Audio]:
        return [e for _, e in self.events if isinstance(e, Audio)]


@contextlib.asynccontextmanager
async def raw_bot(
    script: Callable[[asyncio.StreamWriter], Coroutine[Any, Any, None]] | None = None,
) -> AsyncIterator[tuple[RawBot, int]]:
    bot = RawBot(script)
    server = await asyncio.start_server(bot, "127.0.0.1", 0)
    try:
        yield bot, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        # The simulated caller has hung up by now: let each connection see its EOF.
        await asyncio.wait_for(asyncio.gather(*bot.connections), 2.0)


async def paced(writer: asyncio.StreamWriter, frames: list[bytes]) -> None:
    start = time.monotonic()
    for i, frame in enumerate(frames):
        await asyncio.sleep(max(0.0, start + i * FRAME_S - time.monotonic()))
        writer.write(encode_audio(frame))


class TestCallerSide:
    async def test_uuid_first_then_a_frame_every_20_ms(self) -> None:
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, call_id=CALL_ID)
            async with call:
                assert call.media_format.sample_rate_hz == 8000
                await asyncio.sleep(0.5)
            await asyncio.wait_for(bot.eof.wait(), 1.0)
        assert bot.events[0][1] == CallUuid(uuid.UUID(CALL_ID))
        assert bot.raw[:3] == b"\x01\x00\x10"
        frames = bot.audio()
        assert 20 <= len(frames) <= 28
        assert all(f.sample_rate_hz == 8000 and f.payload == bytes(320) for f in frames)

    async def test_speed_runs_the_tick_faster(self) -> None:
        async with raw_bot() as (bot, port), SimulatedAudioSocketCall("127.0.0.1", port, speed=2.0):
            await asyncio.sleep(0.5)
        assert 42 <= len(bot.audio()) <= 54

    async def test_play_sends_speech_at_real_time_and_returns_at_its_end(self) -> None:
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, sample_rate_hz=16000)
            async with call:
                t0 = time.monotonic()
                ended_s = await call.play(TONE_8K[:2400], 8000)  # 300 ms, resampled to 16k
                assert 0.27 <= ended_s - t0 <= 0.4
                assert abs(time.monotonic() - ended_s) < 0.05
        speech = [f for f in bot.audio() if any(f.payload)]
        assert len(speech) == 15
        assert all(f.sample_rate_hz == 16000 and len(f.payload) == 640 for f in speech)

    async def test_dtmf_is_one_frame_with_the_ascii_digit(self) -> None:
        async with raw_bot() as (bot, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            await call.send_dtmf("5")
            await asyncio.sleep(0.05)
        assert [e for _, e in bot.events if isinstance(e, Dtmf)] == [Dtmf("5")]
        assert encode_dtmf("5") in bot.raw

    async def test_caller_hangup_closes_the_socket_without_a_frame(self) -> None:
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port)
            async with call:
                await asyncio.sleep(0.05)
                await call.hangup()
                await asyncio.wait_for(bot.eof.wait(), 1.0)
            assert call.closed and call.close_reason == "caller hung up"
            assert not any(isinstance(e, Hangup) for _, e in bot.events)
            assert (len(bot.raw) - 19) % 323 == 0  # the UUID, then whole audio frames only
            with pytest.raises(ConnectionError):
                await call.play(TONE_8K[:160], 8000)

    def test_arguments_are_checked(self) -> None:
        with pytest.raises(ValueError):
            SimulatedAudioSocketCall("127.0.0.1", 1, call_id="not-a-uuid")
        with pytest.raises(ValueError):
            SimulatedAudioSocketCall("127.0.0.1", 1, sample_rate_hz=11025)
        with pytest.raises(ValueError):
            SimulatedAudioSocketCall("127.0.0.1", 1, speed=0.5)


class TestAsteriskRules:
    async def test_bot_hangup_frame_is_recorded_and_ends_the_call(self) -> None:
        async def bye(writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(0.05)
            writer.write(encode_hangup())

        async with raw_bot(bye) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_closed(1.0)
        assert call.close_reason == "bot hung up"
        assert call.recording.command_names() == ["HANGUP"]

    @pytest.mark.parametrize(
        "frame",
        [
            encode_frame(0x01, bytes(16)),  # UUID from the app
            encode_dtmf("1"),
            encode_frame(0xFF, b"\x01"),
            encode_frame(0x42, b"x"),
            b"\x10\x00\x00",  # empty audio
        ],
    )
    async def test_anything_asterisk_refuses_tears_down(self, frame: bytes) -> None:
        async def bad(writer: asyncio.StreamWriter) -> None:
            writer.write(encode_audio(TONE_FRAME_8K) + frame)

        async with raw_bot(bad) as (bot, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_closed(1.0)
            await asyncio.wait_for(bot.eof.wait(), 1.0)
        assert call.close_reason.startswith("protocol error")

    async def test_bot_closing_the_socket_ends_the_call(self) -> None:
        async def close(writer: asyncio.StreamWriter) -> None:
            writer.close()

        async with raw_bot(close) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_closed(1.0)
        assert call.close_reason == "bot closed the socket"
        assert call.recording.command_names() == []

    async def test_idle_hangup_when_neither_side_sends(self) -> None:
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall(
                "127.0.0.1", port, send_silence=False, idle_hangup_s=0.3
            )
            async with call:
                t0 = time.monotonic()
                assert await call.wait_closed(1.0)
                assert 0.25 <= time.monotonic() - t0 <= 0.5
        assert "no audio either way" in call.close_reason

    async def test_caller_frames_keep_the_app_timer_alive(self) -> None:
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, idle_hangup_s=0.2)
            async with call:
                assert not await call.wait_closed(0.4)

    async def test_no_idle_timer_for_the_channel_driver(self) -> None:
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall(
                "127.0.0.1", port, send_silence=False, idle_hangup_s=None
            )
            async with call:
                assert not await call.wait_closed(0.3)


class TestRecording:
    async def test_paced_bot_audio_is_recorded_at_16k_without_underruns(self) -> None:
        async def speak(writer: asyncio.StreamWriter) -> None:
            await paced(writer, [TONE_FRAME_8K] * 15 + [bytes(320)] * 40)

        async with raw_bot(speak) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_for_bot_silence(quiet_s=0.2, timeout_s=2.0)
            await asyncio.sleep(0.1)
            rec = call.recording
            assert rec.underruns == 0
            assert rec.dropped_frames == 0
            assert 0.26 <= rec.audible_seconds() <= 0.34
            assert rec.audio().size == sum(f.pcm.size for f in rec.frames)
            assert all(f.pcm.size == 320 for f in rec.frames[:20])

    async def test_gaps_count_as_underruns_and_bursts_as_drops(self) -> None:
        async def stutter(writer: asyncio.StreamWriter) -> None:
            await paced(writer, [TONE_FRAME_8K] * 5)
            await asyncio.sleep(0.3)  # 15 slots with nothing: some beyond the jitter slack
            writer.write(encode_audio(TONE_FRAME_8K) * 40)  # 800 ms at once

        async with (
            raw_bot(stutter) as (_, port),
            SimulatedAudioSocketCall("127.0.0.1", port, idle_hangup_s=None) as call,
        ):
            await asyncio.sleep(0.6)
        assert 6 <= call.recording.underruns <= 14
        assert call.recording.dropped_frames >= 20

    async def test_wait_for_bot_silence_is_false_when_the_bot_never_speaks(self) -> None:
        async def mute(writer: asyncio.StreamWriter) -> None:
            await paced(writer, [bytes(320)] * 50)

        async with raw_bot(mute) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert not await call.wait_for_bot_silence(quiet_s=0.1, timeout_s=0.3)

    def test_jitter_buffer_counts_late_slots_once(self) -> None:
        jitter = JitterBuffer(slack_s=0.04, depth_s=0.1)
        assert jitter.poll(0.0) == 0  # nothing counted before the bot's first frame
        assert jitter.offer(1.0, 0.02) == (True, 0)
        assert jitter.poll(1.05) == 0  # 30 ms late: within the slack
        assert jitter.poll(1.12) == 3
        assert jitter.poll(1.12) == 0
        fits = [jitter.offer(1.12, 0.02)[0] for _ in range(8)]
        assert fits.count(True) == 7 and fits[-1] is False  # from -40 ms up to the 100 ms depth

    def test_decoder_keeps_arrival_times_across_resampler_delay(self) -> None:
        decoder = _BotAudioDecoder(8000)
        out = []
        for i in range(10):
            out += decoder.push(TONE_FRAME_8K, at_s=float(i))
        out += decoder.finish()
        assert [at for at, _ in out] == [float(i) for i in range(10)]
        assert all(pcm.size == 320 and pcm.dtype == np.int16 for _, pcm in out)


async def test_against_our_server_a_paced_echo_has_no_underruns() -> None:
    """End to end: the simulated Asterisk dials the real AudioSocket edge at 16 kHz."""
    heard: list[int] = []

    async def echo(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert info.media_format == SLIN_16K
        while not isinstance(event := await queue.get(), CallEnded):
            if isinstance(event, CallerAudio) and np.abs(event.pcm).max() > 1000:
                heard.append(event.pcm.size)
                await sink.send_audio(event.pcm, 16000)

    server = AudioSocketServer(echo, AudioSocketSettings(port=0, first_audio_timeout_s=0.2))
    host, port = await server.start()
    try:
        async with SimulatedAudioSocketCall(host, port, sample_rate_hz=16000) as call:
            await call.play(TONE_8K[:4000], 8000)  # 500 ms
            assert await call.wait_for_bot_silence(quiet_s=0.2, timeout_s=2.0)
            assert call.recording.underruns == 0
            assert 0.4 <= call.recording.audible_seconds() <= 0.6
            assert sum(heard) >= 0.4 * 16000
    finally:
        await server.stop()
