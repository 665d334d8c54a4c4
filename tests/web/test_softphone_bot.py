"""The embedded default end to end: a real browser calls the real bot.

Chromium's fake microphone says a real French sentence; the page speaks chan_websocket
to `/media`; the real pipeline (Whisper, the dialplan, the voice) answers. This is what
a person gets with `callbot serve` and a browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import async_playwright

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.wavfile import write_wav
from callbot.app.service import Callbot
from callbot.simulator.run import wait_for_record
from tests.conftest import bot_settings, speech_16k
from tests.web.browser import CHROMIUM, chromium_args, on_console

pytestmark = [
    pytest.mark.browser,
    pytest.mark.models,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's chromium package"),
]
DIALPLAN = Path(__file__).resolve().parent.parent / "pipeline/dialplans/call-fr.yaml"


@pytest.fixture
async def bot(models_dir: Path) -> AsyncIterator[Callbot]:
    settings = bot_settings(models_dir, DIALPLAN, server={"softphone": True})
    running = await Callbot.start(settings)
    yield running
    await running.stop()


async def test_a_browser_call_is_answered_by_the_real_bot(bot: Callbot, tmp_path: Path) -> None:
    # The caller waits 4 s (the greeting), says the sentence, then stays silent.
    silence = np.zeros(4 * PIPELINE_RATE_HZ, np.int16)
    mic = tmp_path / "mic.wav"
    write_wav(
        mic, np.concatenate([silence, speech_16k("check-number-dial-again"), silence, silence])
    )
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=chromium_args(mic), timeout=20_000
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: on_console(msg, errors))
            await page.goto(f"{bot.http_url}/")
            await page.get_by_role("button", name="Appeler").click()
            # The greeting is heard and confirmed (MARK_MEDIA answered by the page).
            await page.wait_for_function(
                "Number(document.getElementById('marks-confirmed').textContent) >= 1"
            )
            # Then the answer to the caller's question: a second confirmed prompt.
            await page.wait_for_function(
                "Number(document.getElementById('marks-confirmed').textContent) >= 2",
                timeout=30_000,
            )
            call_id = await page.locator("#call-id").inner_text()
            await page.get_by_role("button", name="Raccrocher").click()
            await asyncio.sleep(0.5)
        finally:
            await browser.close()
    assert errors == []
    record = await wait_for_record(bot.records, call_id.strip())
    assert record is not None, f"no record for {call_id!r}"
    intents = [turn["intent"] for turn in record["turns"]]
    assert "numero" in intents, record["turns"]
    assert record["transport"] == "chan_websocket" and record["format"] == "slin16"
