"""A simulated Asterisk speaking AudioSocket: it dials the bot's server as Asterisk does.

Behaviour copied from the Asterisk source (see :mod:`callbot.protocols.audiosocket`):

* TCP client with TCP_NODELAY and a 2 s connect timeout (``res_audiosocket.c``); the call
  UUID frame goes first, then one caller frame per 20 ms tick.
* Bot frames are "played" as they arrive: ``app_audiosocket.c`` writes each one straight
  to the channel, with no buffer or pacing of its own. A phone's jitter buffer is modelled
  to count underruns (the bot sent nothing in time) and drops (the bot sent too far ahead).
* A hang-up frame from the bot ends the call; any other kind, or an empty audio frame,
  tears it down as a protocol error (``ast_audiosocket_receive_frame_with_hangup``).
* The dialplan app (20.14, 21.9, 22.4, 23.0 and later) hangs up after 2 s without a frame
  in either direction (``MAX_WAIT_TIMEOUT_MSEC``; any caller frame or DTMF restarts the
  timer too); the channel driver and older apps have no timer (``idle_hangup_s=None``).
* On the caller's hang-up Asterisk sends nothing: it just closes the socket.

Its time (the 20 ms tick, the jitter buffer, the idle timer, the recording's stamps) is
read on a :class:`~callbot.media.clock.Clock`: a test gives it the same
:class:`~callbot.media.clock.ManualClock` as the bot's edge and counts underruns exactly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections import deque
from types import TracebackType

import numpy as np
import numpy.typing as npt

from callbot.audio.convert import OutboundConverter, StreamResampler, decode
from callbot.audio.formats import FRAME_MS, PIPELINE_RATE_HZ, AudioFormat, Codec
from callbot.errors import AudioSocketError
from callbot.logs import call_log
from callbot.media.clock import SYSTEM_CLOCK, Clock, wait_event
from callbot.protocols.audiosocket import (
    AUDIO_KIND_BY_RATE_HZ,
    Audio,
    Direction,
    FrameParser,
    HangupMessage,
    encode_audio,
    encode_dtmf,
    encode_uuid,
)
from callbot.simulator.recording import BotRecording

logger = logging.getLogger(__name__)

FRAME_S = FRAME_MS / 1000
CONNECT_TIMEOUT_S = 2.0
"""``MAX_CONNECT_TIMEOUT_MSEC`` in ``res_audiosocket.c``."""
APP_IDLE_HANGUP_S = 2.0
"""``MAX_WAIT_TIMEOUT_MSEC`` in ``app_audiosocket.c``."""


class JitterBuffer:
    """The caller's phone: plays bot audio at real time from a small buffer.

    ``poll`` counts 20 ms slots that found the buffer empty for longer than ``slack_s``
    (underruns); ``offer`` refuses a frame that would overfill ``depth_s`` (a drop).
    Pure arithmetic on the times it is given.
    """

    def __init__(self, slack_s: float = 0.08, depth_s: float = 0.3) -> None:
        self.slack_s = slack_s
        self.depth_s = depth_s
        self._level_s: float | None = None  # None until the bot's first frame
        self._at_s = 0.0

    def poll(self, now_s: float) -> int:
        if self._level_s is None:
            return 0
        self._level_s -= now_s - self._at_s
        self._at_s = now_s
        underruns = 0
        while self._level_s < -self.slack_s - 1e-9:  # epsilon: float sums of 20 ms
            underruns += 1
            self._level_s += FRAME_S
        return underruns

    def offer(self, now_s: float, duration_s: float) -> tuple[bool, int]:
        """Whether the frame fits, and the underruns counted up to its arrival."""
        if self._level_s is None:
            self._level_s, self._at_s = 0.0, now_s
        underruns = self.poll(now_s)
        if self._level_s + duration_s > self.depth_s + 1e-9:
            return False, underruns
        self._level_s += duration_s
        return True, underruns


class _BotAudioDecoder:
    """Wire frames to 16 kHz with a streaming resampler (no clicks at frame edges), each
    output frame stamped with its wire frame's arrival time despite the resampler's delay."""

    def __init__(self, sample_rate_hz: int) -> None:
        self.format = AudioFormat(Codec.SLIN, sample_rate_hz)
        self._resampler = StreamResampler(sample_rate_hz, PIPELINE_RATE_HZ)
        self._pending: deque[tuple[float, int]] = deque()
        self._out = np.zeros(0, dtype=np.int16)

    def push(self, payload: bytes, at_s: float) -> list[tuple[float, npt.NDArray[np.int16]]]:
        pcm = decode(self.format, payload)
        self._pending.append(
            (at_s, round(pcm.size * PIPELINE_RATE_HZ / self.format.sample_rate_hz))
        )
        self._out = np.concatenate([self._out, self._resampler.process(pcm)])
        return self._ready()

    def finish(self) -> list[tuple[float, npt.NDArray[np.int16]]]:
        tail = self._resampler.process(np.zeros(0, dtype=np.int16), last=True)
        self._out = np.concatenate([self._out, tail])
        frames = self._ready()
        for at_s, size in self._pending:  # whatever the filter kept back: pad
            frames.append((at_s, np.pad(self._out[:size], (0, max(0, size - self._out.size)))))
            self._out = self._out[size:]
        self._pending.clear()
        return frames

    def _ready(self) -> list[tuple[float, npt.NDArray[np.int16]]]:
        frames = []
        while self._pending and self._out.size >= self._pending[0][1]:
            at_s, size = self._pending.popleft()
            frames.append((at_s, self._out[:size].astype(np.int16)))
            self._out = self._out[size:]
        return frames


class SimulatedAudioSocketCall:
    """One caller on AudioSocket. Use as ``async with SimulatedAudioSocketCall(...) as call``.

    ``speed`` > 1 runs the caller's 20 ms tick faster (caller audio sent faster than real
    time). The bot still paces in real time, so underruns and the idle timer stay real-time.
    ``send_silence=False`` models a silence-suppressed caller leg (nothing between phrases).
    Times in this API are ``clock`` seconds.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sample_rate_hz: int = 8000,
        call_id: str | None = None,
        speed: float = 1.0,
        send_silence: bool = True,
        idle_hangup_s: float | None = APP_IDLE_HANGUP_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if sample_rate_hz not in AUDIO_KIND_BY_RATE_HZ:
            raise ValueError(f"AudioSocket cannot carry {sample_rate_hz} Hz")
        if speed < 1:
            raise ValueError("speed must be >= 1")
        self.host, self.port = host, port
        self.call_id = str(uuid.UUID(call_id)) if call_id else str(uuid.uuid4())
        self.speed = speed
        self.send_silence = send_silence
        self.idle_hangup_s = idle_hangup_s
        self.clock = clock
        self.recording = BotRecording()
        self.closed = False
        self.close_reason = ""
        self._format = AudioFormat(Codec.SLIN, sample_rate_hz)
        self._outbound = OutboundConverter(self._format)
        self._caller = bytearray()
        self._queued_bytes = 0
        self._sent_bytes = 0
        self._plays: deque[tuple[int, asyncio.Future[float]]] = deque()
        self._parser = FrameParser(Direction.TO_ASTERISK)
        self._decoder = _BotAudioDecoder(sample_rate_hz)
        self._jitter = JitterBuffer()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed_event = asyncio.Event()
        self._last_activity_s = clock.monotonic()
        self._listen_since_s = clock.monotonic()

    @property
    def media_format(self) -> AudioFormat:
        return self._format

    async def __aenter__(self) -> SimulatedAudioSocketCall:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writer = writer
        writer.write(encode_uuid(uuid.UUID(self.call_id)))
        self._last_activity_s = self._listen_since_s = self.clock.monotonic()
        self._tasks = [
            asyncio.create_task(self._tick_loop()),
            asyncio.create_task(self._read_loop(reader)),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.hangup()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- caller actions ----------------------------------------------------------------
    async def play(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> float:
        """Queue caller speech; returns the clock's time once its last sample was sent."""
        if self.closed:
            raise ConnectionError(f"call {self.call_id} is closed: {self.close_reason}")
        data = self._outbound.convert(pcm, sample_rate_hz)
        self._caller += data
        self._queued_bytes += len(data)
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._plays.append((self._queued_bytes, done))
        end_s = await done
        self._listen_since_s = end_s
        return end_s

    async def send_dtmf(self, digit: str) -> None:
        if self.closed or self._writer is None:
            raise ConnectionError(f"call {self.call_id} is closed: {self.close_reason}")
        self._writer.write(encode_dtmf(digit))
        self._last_activity_s = self.clock.monotonic()

    async def hangup(self) -> None:
        """The caller hangs up: Asterisk closes the socket without a frame."""
        self._close("caller hung up")

    async def wait_for_bot_silence(self, quiet_s: float, timeout_s: float) -> bool:
        """True once the bot has played audible audio since the caller's last ``play``
        ended (or since the call began) and then nothing audible for ``quiet_s``."""
        deadline_s = self.clock.monotonic() + timeout_s
        while True:
            spoke = self.recording.first_audio_after(self._listen_since_s) is not None
            last_s = self.recording.last_audio_at()
            if spoke and last_s is not None and self.clock.monotonic() - last_s >= quiet_s:
                return True
            if self.closed:
                return spoke
            if self.clock.monotonic() >= deadline_s:
                return False
            await self.clock.sleep(0.01)

    async def wait_closed(self, timeout_s: float) -> bool:
        await wait_event(self.clock, self._closed_event, timeout_s)
        return self.closed

    # -- Asterisk's side ---------------------------------------------------------------
    async def _tick_loop(self) -> None:
        tick_s = FRAME_S / self.speed
        start_s, tick = self.clock.monotonic(), 0
        while not self.closed:
            delay_s = start_s + tick * tick_s - self.clock.monotonic()
            if delay_s > 0:
                await self.clock.sleep(delay_s)
            tick += 1
            now_s = self.clock.monotonic()
            self.recording.underruns += self._jitter.poll(now_s)
            frame = self._next_caller_frame()
            if frame is not None and self._writer is not None:
                self._writer.write(encode_audio(frame, self._format.sample_rate_hz))
                self._last_activity_s = now_s
            self._resolve_plays(now_s)
            idle_s = now_s - self._last_activity_s
            if self.idle_hangup_s is not None and idle_s >= self.idle_hangup_s:
                self._close(f"no audio either way for {self.idle_hangup_s:.1f} s (app timeout)")

    def _next_caller_frame(self) -> bytes | None:
        size = self._format.frame_bytes
        if not self._caller:
            return bytes(size) if self.send_silence else None
        chunk = bytes(self._caller[:size])
        del self._caller[:size]
        self._sent_bytes += len(chunk)
        return chunk + bytes(size - len(chunk))

    def _resolve_plays(self, now_s: float) -> None:
        while self._plays and self._plays[0][0] <= self._sent_bytes:
            _, done = self._plays.popleft()
            if not done.done():
                done.set_result(now_s)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(65_536):
                now_s = self.clock.monotonic()
                for event in self._parser.feed(data):
                    if isinstance(event, Audio):
                        self._on_bot_audio(event, now_s)
                    elif isinstance(event, HangupMessage):
                        self.recording.add_command("HANGUP", at_s=now_s)
                        self._close("bot hung up")
                        return
            self._close("bot closed the socket")
        except (BrokenPipeError, ConnectionResetError):
            self._close("bot closed the socket")
        except AudioSocketError as exc:
            call_log(logger, self.call_id).warning("simulated Asterisk tears down: %s", exc)
            self._close(f"protocol error: {exc}")
        except OSError as exc:
            self._close(f"connection lost: {exc}")

    def _on_bot_audio(self, event: Audio, now_s: float) -> None:
        self._last_activity_s = now_s
        duration_s = len(event.payload) / 2 / event.sample_rate_hz
        fits, underruns = self._jitter.offer(now_s, duration_s)
        self.recording.underruns += underruns
        if not fits:
            self.recording.dropped_frames += 1
            return
        if event.sample_rate_hz != self._decoder.format.sample_rate_hz:
            self._record(self._decoder.finish())  # Asterisk would transcode; so do we
            self._decoder = _BotAudioDecoder(event.sample_rate_hz)
        self._record(self._decoder.push(event.payload, now_s))

    def _record(self, frames: list[tuple[float, npt.NDArray[np.int16]]]) -> None:
        for at_s, pcm in frames:
            self.recording.add_frame(pcm, at_s=at_s)

    def _close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        call_log(logger, self.call_id).info("simulated AudioSocket call closed (%s)", reason)
        self._record(self._decoder.finish())
        if self._writer is not None:
            self._writer.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for _, done in self._plays:
            if not done.done():
                done.set_exception(ConnectionError(f"call closed: {reason}"))
        self._plays.clear()
        self._closed_event.set()
