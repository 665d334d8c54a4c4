"""The browser softphone in a real headless Chromium, against the real app and media edge.

Chromium's fake microphone plays a real French recording; a small in-test bot (a
:data:`~callbot.media.types.CallHandler`) talks to the page through the lead's
``create_app`` and the chan_websocket edge, so every byte crosses the real protocol:
MEDIA_START, caller frames, bot audio, MARK_MEDIA / MEDIA_MARK_PROCESSED, DTMF_END,
FLUSH_MEDIA and HANGUP. No models are loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from playwright.async_api import Page

from callbot.audio.formats import PIPELINE_RATE_HZ, SLIN_16K
from callbot.audio.wavfile import write_wav
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallInfo,
    InboundEvent,
    MarkPlayed,
    MediaSink,
)
from callbot.web.app import WebContext, create_app
from callbot.web.serving import serve_app
from tests.conftest import speech_16k
from tests.web.browser import Launch, watched_page

STEP_TIMEOUT_S = 10.0
"""Bound on every wait (browser start, call set-up, each exchange)."""
GREETING_S = 0.4
LONG_PROMPT_S = 4.0
SPEECH_FILE = "vm-password"  # "Mot de passe", fr_CA June
SPEECH_NEEDED_S = 2.0
SPEECH_RMS = 800.0
"""Frame RMS (int16) only speech reaches; the fake device sends zeros between loops."""


def tone(duration_s: float, freq_hz: float = 440.0) -> npt.NDArray[np.int16]:
    t = np.arange(int(duration_s * PIPELINE_RATE_HZ)) / PIPELINE_RATE_HZ
    return (0.3 * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


@dataclass
class Bot:
    """The in-test bot: greets, waits for speech and a key, then is interrupted and hangs up.

    A second call only listens (the caller hangs up). The test and the bot meet through
    the asyncio events below (one event loop).
    """

    info: CallInfo | None = None
    caller_audio: list[npt.NDArray[np.int16]] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    error: BaseException | None = None
    greeted: asyncio.Event = field(default_factory=asyncio.Event)
    heard: asyncio.Event = field(default_factory=asyncio.Event)
    long_prompt_sent: asyncio.Event = field(default_factory=asyncio.Event)
    page_playing: asyncio.Event = field(default_factory=asyncio.Event)
    flushed: asyncio.Event = field(default_factory=asyncio.Event)
    flush_checked: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    second_digits: list[str] = field(default_factory=list)
    second_digit: asyncio.Event = field(default_factory=asyncio.Event)
    second_end: str | None = None
    second_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        if self.info is not None:
            await self.listen(queue)
            return
        self.info = info
        try:
            await self.script(queue, sink)
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.done.set()

    async def script(self, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        await sink.send_audio(tone(GREETING_S), PIPELINE_RATE_HZ)
        await sink.mark("m1")
        await self.until(queue, lambda: "m1" in self.marks)
        self.greeted.set()
        await self.until(queue, lambda: bool(self.digits) and self.speech_heard())
        self.heard.set()
        await sink.send_audio(tone(LONG_PROMPT_S, 660.0), PIPELINE_RATE_HZ)
        await sink.mark("m2")  # dropped by the flush with the audio: never confirmed
        self.long_prompt_sent.set()
        await self.until(queue, self.page_playing.is_set)
        await sink.flush()
        self.flushed.set()
        await self.until(queue, self.flush_checked.is_set)
        await sink.hangup()

    async def listen(self, queue: asyncio.Queue[InboundEvent]) -> None:
        async with asyncio.timeout(3 * STEP_TIMEOUT_S):
            while not isinstance(event := await queue.get(), CallEnded):
                if isinstance(event, CallerDtmf):
                    self.second_digits.append(event.digit)
                    self.second_digit.set()
        self.second_end = event.reason
        self.second_done.set()

    async def until(self, queue: asyncio.Queue[InboundEvent], done: Callable[[], bool]) -> None:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while not done():
                with contextlib.suppress(TimeoutError):
                    self.record(await asyncio.wait_for(queue.get(), 0.05))

    def record(self, event: InboundEvent) -> None:
        if isinstance(event, CallerAudio):
            self.caller_audio.append(event.pcm)
        elif isinstance(event, CallerDtmf):
            self.digits.append(event.digit)
        elif isinstance(event, MarkPlayed):
            self.marks.append(event.mark_id)
        elif isinstance(event, CallEnded):
            raise AssertionError(f"the page ended the call early: {event.reason}")

    def audio(self) -> npt.NDArray[np.int16]:
        return np.concatenate(self.caller_audio) if self.caller_audio else np.zeros(0, np.int16)

    def speech_heard(self) -> bool:
        pcm = self.audio()
        if len(pcm) < SPEECH_NEEDED_S * PIPELINE_RATE_HZ:
            return False
        return max_frame_rms(pcm) > SPEECH_RMS


def max_frame_rms(pcm: npt.NDArray[np.int16], frame: int = 320) -> float:
    usable = len(pcm) - len(pcm) % frame
    frames = pcm[:usable].astype(np.float64).reshape(-1, frame)
    return float(np.sqrt((frames**2).mean(axis=1)).max())


def best_match(received: npt.NDArray[np.int16], template: npt.NDArray[np.int16]) -> float:
    """Peak normalised cross-correlation of ``template`` slid along ``received`` (0..1)."""
    x = received.astype(np.float64)
    t = template.astype(np.float64) - template.mean()
    n = len(t)
    size = 1 << int(np.ceil(np.log2(len(x) + n)))
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(t, size)), size)[: len(x) - n]
    sums = np.concatenate(([0.0], np.cumsum(x)))
    sums2 = np.concatenate(([0.0], np.cumsum(x * x)))
    window_sum = sums[n : len(x)] - sums[: len(x) - n]
    window_var = sums2[n : len(x)] - sums2[: len(x) - n] - window_sum**2 / n
    score = corr / np.sqrt(np.maximum(window_var, 1e-9) * float((t * t).sum()))
    return float(score.max())


def speech_match(received: npt.NDArray[np.int16], speech: npt.NDArray[np.int16]) -> float:
    """How well ``received`` holds ``speech``: median match of its voiced 250 ms windows.

    Short windows, because Chromium's automatic gain control changes the level over time,
    which a whole-utterance correlation would punish.
    """
    window = PIPELINE_RATE_HZ // 4
    scores = [
        best_match(received, speech[start : start + window])
        for start in range(0, len(speech) - window, window // 2)
        if max_frame_rms(speech[start : start + window]) > SPEECH_RMS
    ]
    return float(np.median(scores))


@pytest.fixture
def fake_mic(tmp_path: Path) -> tuple[Path, npt.NDArray[np.int16]]:
    """The recording as Chromium's fake capture device plays it (looped), 16 kHz mono."""
    speech = speech_16k(SPEECH_FILE)
    looped = np.concatenate([speech, np.zeros(PIPELINE_RATE_HZ // 2, np.int16)])
    path = tmp_path / "mic.wav"
    write_wav(path, looped)
    return path, speech


@dataclass
class Server:
    port: int
    bot: Bot


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    bot = Bot()
    app = create_app(WebContext(handler=bot, media=ChanWebsocketSettings()))
    running = await serve_app(app)
    yield Server(running.port, bot)
    await running.stop()


async def wait_number(page: Page, element_id: str, condition: str) -> None:
    """Wait (bounded) until the number shown in ``#element_id`` meets ``condition``."""
    value = f"Number(document.getElementById('{element_id}').textContent)"
    await page.wait_for_function(f"{value} {condition}")


async def text_int(page: Page, element_id: str) -> int:
    return int(await page.locator(f"#{element_id}").inner_text())


@pytest.mark.parametrize("context_rate_hz", [16000, 48000])
async def test_call_from_the_browser(
    server: Server,
    fake_mic: tuple[Path, npt.NDArray[np.int16]],
    chromium: Launch,
    tmp_path: Path,
    context_rate_hz: int,
) -> None:
    """16 kHz: Chromium resamples the microphone; 48 kHz: the page's own resampler does."""
    mic, speech = fake_mic
    bot = server.bot
    page_errors: list[str] = []
    async with chromium(mic, STEP_TIMEOUT_S) as browser:
        page = await watched_page(
            browser, page_errors, timeout_s=STEP_TIMEOUT_S, viewport=(640, 1000)
        )
        await page.goto(f"http://127.0.0.1:{server.port}/?rate={context_rate_hz}")
        await run_call(page, bot, tmp_path)
        await call_again_and_hang_up(page, bot)
        rate = await page.locator("#audio-rate").get_attribute("data-context-rate-hz")
        assert rate == str(context_rate_hz)
    assert bot.error is None, f"the bot failed: {bot.error!r}"
    assert page_errors == []
    # The recording itself arrived, resampled cleanly: a corrupt, aliased or byte-swapped
    # stream would not match it (other recordings of the same voice score under 0.65).
    assert speech_match(bot.audio(), speech) > 0.7


async def run_call(page: Page, bot: Bot, tmp_path: Path) -> None:
    await page.get_by_role("button", name="Appeler").click()
    await page.wait_for_selector('#softphone[data-state="in-call"]')
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.greeted.wait()
    info = bot.info
    assert info is not None
    assert (info.transport, info.media_format, info.caller_number) == (
        "chan_websocket",
        SLIN_16K,
        "softphone",
    )
    assert info.call_id.startswith("softphone-")
    assert await page.locator("#call-id").inner_text() == info.call_id
    await wait_number(page, "marks-confirmed", "=== 1")
    assert await text_int(page, "frames-received") == GREETING_S * 1000 / 20
    await wait_number(page, "frames-played", f">= {GREETING_S * 1000 / 20}")

    await page.get_by_role("button", name="Touche 5").click()
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.heard.wait()
    assert bot.digits == ["5"]
    await wait_number(page, "frames-sent", f">= {len(bot.audio()) // 320}")
    peak = await page.locator("#mic-level").get_attribute("data-peak")
    assert float(peak or 0) > 0.1  # the meter moved with the speech

    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.long_prompt_sent.wait()
    await page.wait_for_selector('#bot-speaking[data-speaking="true"]')
    await page.screenshot(path=str(tmp_path / "in-call.png"))
    bot.page_playing.set()
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.flushed.wait()
    await page.wait_for_function(
        "document.getElementById('flushes').textContent === '1'"
        " && document.getElementById('queue-ms').textContent === '0'"
        " && document.getElementById('bot-speaking').dataset.speaking === 'false'"
    )
    played = await text_int(page, "frames-played")
    await asyncio.sleep(0.3)
    # Barge-in: nothing more of the 4 s prompt plays, and its mark never fires.
    assert await text_int(page, "frames-played") == played
    assert played < (GREETING_S + LONG_PROMPT_S / 2) * 1000 / 20
    assert await text_int(page, "marks-confirmed") == 1
    assert bot.marks == ["m1"]
    bot.flush_checked.set()

    await page.wait_for_selector('#softphone[data-state="ended"]')
    reason = page.locator("#end-reason")
    assert await reason.get_attribute("data-reason") == "bot-hangup"
    assert await page.get_by_role("button", name="Appeler").is_enabled()
    assert await page.get_by_role("button", name="Raccrocher").is_disabled()
    await page.screenshot(path=str(tmp_path / "ended.png"))
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.done.wait()


async def call_again_and_hang_up(page: Page, bot: Bot) -> None:
    """A second call from the same page: keyboard DTMF, then the caller hangs up."""
    await page.get_by_role("button", name="Appeler").click()
    await page.wait_for_selector('#softphone[data-state="in-call"]')
    await page.keyboard.press("#")
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.second_digit.wait()
    await page.get_by_role("button", name="Raccrocher").click()
    async with asyncio.timeout(STEP_TIMEOUT_S):
        await bot.second_done.wait()
    assert bot.second_digits == ["#"]
    assert bot.second_end == "closed by Asterisk (1000)"  # the page closes as Asterisk does
    reason = page.locator("#end-reason")
    assert await reason.get_attribute("data-reason") == "user-hangup"
    assert await page.locator("#softphone").get_attribute("data-state") == "ended"
