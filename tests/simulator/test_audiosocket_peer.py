"""The simulated AudioSocket Asterisk, against scripted raw bots and against our own server.

Where time is what a test checks (the 20 ms tick, the idle timer, underruns, drops), the
peer, the scripted bot and our server share one :class:`ManualClock`, moved by hand: the
counts are exact. Waits on the socket are event waits with a real-time bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import numpy as np
import pytest

from callbot.audio.formats import SLIN_16K
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.clock import Clock, ManualClock
from callbot.media.types import CallEnded, CallerAudio, CallInfo, InboundEvent, MediaSink
from callbot.protocols.audiosocket import (
    Audio,
    CallUuid,
    Direction,
    Dtmf,
    Event,
    FrameParser,
    HangupMessage,
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
WAIT_S = 3.0
"""Real-time bound on an event wait (never reached unless the test fails)."""
HALF = FRAME_S / 2
"""Advancing by a whole number of frames plus this lands between two ticks."""

Script = Callable[[asyncio.StreamWriter], Coroutine[Any, Any, None]]


class RawBot:
    """A bot server at byte level: records what the simulated Asterisk sends, runs a script."""

    def __init__(self, script: Script | None) -> None:
        self.script = script
        self.events: list[Event] = []
        self.changed = asyncio.Event()
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
                self.events += parser.feed(data)
                self.changed.set()
        self.eof.set()
        if script is not None:
            script.cancel()
            await asyncio.gather(script, return_exceptions=True)
        writer.close()

    def audio(self) -> list[Audio]:
        return [e for e in self.events if isinstance(e, Audio)]

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()


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
        await asyncio.wait_for(asyncio.gather(*bot.connections), WAIT_S)


async def paced(clock: Clock, writer: asyncio.StreamWriter, frames: list[bytes]) -> None:
    start = clock.monotonic()
    for i, frame in enumerate(frames):
        await clock.sleep(start + i * FRAME_S - clock.monotonic())
        writer.write(encode_audio(frame))


class TestCallerSide:
    async def test_uuid_first_then_a_frame_every_20_ms(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, call_id=CALL_ID, clock=clock)
            async with call:
                assert call.media_format.sample_rate_hz == 8000
                await bot.until(lambda: len(bot.audio()) == 1)  # the first tick, at once
                await clock.advance(0.5 + HALF)
                await bot.until(lambda: len(bot.audio()) >= 26)
                await clock.advance(0)
            await asyncio.wait_for(bot.eof.wait(), WAIT_S)
        assert bot.events[0] == CallUuid(uuid.UUID(CALL_ID))
        assert bot.raw[:3] == b"\x01\x00\x10"
        frames = bot.audio()
        assert len(frames) == 26
        assert all(f.sample_rate_hz == 8000 and f.payload == bytes(320) for f in frames)

    async def test_speed_runs_the_tick_faster(self) -> None:
        clock = ManualClock()
        async with (
            raw_bot() as (bot, port),
            SimulatedAudioSocketCall("127.0.0.1", port, speed=2.0, clock=clock),
        ):
            await bot.until(lambda: len(bot.audio()) == 1)
            await clock.advance(0.5 + HALF / 2)
            await bot.until(lambda: len(bot.audio()) >= 51)
            await clock.advance(0)
        assert len(bot.audio()) == 51  # a tick every 10 ms

    async def test_play_sends_speech_at_real_time_and_returns_at_its_end(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, sample_rate_hz=16000, clock=clock)
            async with call:
                await bot.until(lambda: len(bot.audio()) == 1)
                t0 = clock.monotonic()
                playing = asyncio.create_task(call.play(TONE_8K[:2400], 8000))  # 300 ms
                await clock.advance(0.3 - HALF)
                assert not playing.done()
                await clock.advance(FRAME_S)
                ended_s = await asyncio.wait_for(playing, WAIT_S)
                assert ended_s - t0 == pytest.approx(0.3)  # its 15th frame's tick
        speech = [f for f in bot.audio() if any(f.payload)]
        assert len(speech) == 15
        assert all(f.sample_rate_hz == 16000 and len(f.payload) == 640 for f in speech)

    async def test_dtmf_is_one_frame_with_the_ascii_digit(self) -> None:
        async with raw_bot() as (bot, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            await call.send_dtmf("5")
            await bot.until(lambda: any(isinstance(e, Dtmf) for e in bot.events))
        assert [e for e in bot.events if isinstance(e, Dtmf)] == [Dtmf("5")]
        assert encode_dtmf("5") in bot.raw

    async def test_caller_hangup_closes_the_socket_without_a_frame(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (bot, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, clock=clock)
            async with call:
                await clock.advance(0.1)
                await call.hangup()
                await asyncio.wait_for(bot.eof.wait(), WAIT_S)
            assert call.closed and call.close_reason == "caller hung up"
            assert not any(isinstance(e, HangupMessage) for e in bot.events)
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
            writer.write(encode_hangup())

        async with raw_bot(bye) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_closed(WAIT_S)
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
            assert await call.wait_closed(WAIT_S)
            await asyncio.wait_for(bot.eof.wait(), WAIT_S)
        assert call.close_reason.startswith("protocol error")

    async def test_bot_closing_the_socket_ends_the_call(self) -> None:
        async def close(writer: asyncio.StreamWriter) -> None:
            writer.close()

        async with raw_bot(close) as (_, port), SimulatedAudioSocketCall("127.0.0.1", port) as call:
            assert await call.wait_closed(WAIT_S)
        assert call.close_reason == "bot closed the socket"
        assert call.recording.command_names() == []

    async def test_idle_hangup_when_neither_side_sends(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall(
                "127.0.0.1", port, send_silence=False, idle_hangup_s=0.31, clock=clock
            )
            async with call:
                await clock.advance(0.31)
                assert not call.closed
                await clock.advance(FRAME_S)  # the first tick past 0.31 s (0.32) hangs up
                assert call.closed
        assert "no audio either way" in call.close_reason

    async def test_caller_frames_keep_the_app_timer_alive(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall("127.0.0.1", port, idle_hangup_s=0.2, clock=clock)
            async with call:
                await clock.advance(1.0)
                assert not call.closed

    async def test_no_idle_timer_for_the_channel_driver(self) -> None:
        clock = ManualClock()
        async with raw_bot() as (_, port):
            call = SimulatedAudioSocketCall(
                "127.0.0.1", port, send_silence=False, idle_hangup_s=None, clock=clock
            )
            async with call:
                await clock.advance(5.0)
                assert not call.closed


class TestRecording:
    async def test_paced_bot_audio_is_recorded_at_16k_without_underruns(self) -> None:
        clock = ManualClock()

        async def speak(writer: asyncio.StreamWriter) -> None:
            await paced(clock, writer, [TONE_FRAME_8K] * 15 + [bytes(320)] * 40)

        async with (
            raw_bot(speak) as (_, port),
            SimulatedAudioSocketCall("127.0.0.1", port, clock=clock) as call,
        ):
            await clock.advance(0.8)  # the tone, then silent frames still coming
            rec = call.recording
            assert rec.underruns == 0
            assert rec.dropped_frames == 0
            # 15 frames of tone, and the resampler's tail may spill into a 16th.
            assert round(rec.audible_seconds() / FRAME_S) in (15, 16)
            assert rec.audio().size == sum(f.pcm.size for f in rec.frames)
            assert all(f.pcm.size == 320 for f in rec.frames[:20])

    async def test_gaps_count_as_underruns_and_bursts_as_drops(self) -> None:
        """The phone's buffer (80 ms of slack, 300 ms deep): its last 20 ms played, 280 ms
        with nothing is 200 ms past the slack: 10 underruns, each counting one 20 ms slot;
        then 800 ms at once finds it 80 ms short: 19 frames fit its depth, 21 are dropped."""
        clock = ManualClock()

        async def stutter(writer: asyncio.StreamWriter) -> None:
            await paced(clock, writer, [TONE_FRAME_8K] * 5)
            await clock.sleep(0.3)  # 15 slots with nothing: some beyond the jitter slack
            writer.write(encode_audio(TONE_FRAME_8K) * 40)  # 800 ms at once

        async with (
            raw_bot(stutter) as (_, port),
            SimulatedAudioSocketCall("127.0.0.1", port, idle_hangup_s=None, clock=clock) as call,
        ):
            await clock.advance(0.6 + HALF)
        assert call.recording.underruns == 10
        assert call.recording.dropped_frames == 21

    async def test_wait_for_bot_silence_is_false_when_the_bot_never_speaks(self) -> None:
        clock = ManualClock()

        async def mute(writer: asyncio.StreamWriter) -> None:
            await paced(clock, writer, [bytes(320)] * 50)

        async with (
            raw_bot(mute) as (_, port),
            SimulatedAudioSocketCall("127.0.0.1", port, clock=clock) as call,
        ):
            waiting = asyncio.create_task(call.wait_for_bot_silence(quiet_s=0.1, timeout_s=0.3))
            await clock.advance(0.29)
            assert not waiting.done()
            await clock.advance(0.02)
            assert await asyncio.wait_for(waiting, WAIT_S) is False

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
    """End to end: the simulated Asterisk dials the real AudioSocket edge at 16 kHz, both
    on one clock: the edge's pacer keeps the phone's buffer fed, tick for tick."""
    clock = ManualClock()
    heard: list[int] = []

    async def echo(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert info.media_format == SLIN_16K
        while not isinstance(event := await queue.get(), CallEnded):
            if isinstance(event, CallerAudio) and np.abs(event.pcm).max() > 1000:
                heard.append(event.pcm.size)
                await sink.send_audio(event.pcm, 16000)

    server = AudioSocketServer(echo, AudioSocketSettings(port=0, first_audio_timeout_s=0.2), clock)
    host, port = await server.start()
    try:
        async with SimulatedAudioSocketCall(host, port, sample_rate_hz=16000, clock=clock) as call:
            playing = asyncio.create_task(call.play(TONE_8K[:4000], 8000))  # 500 ms
            await clock.advance(0.5 + HALF)
            await asyncio.wait_for(playing, WAIT_S)
            await clock.advance(1.0)
            assert call.recording.underruns == 0
            assert call.recording.dropped_frames == 0
            assert 0.4 <= call.recording.audible_seconds() <= 0.6
            assert sum(heard) >= 0.4 * 16000
    finally:
        await server.stop()
