"""The embedded default end to end: a real browser calls the real bot.

Chromium's fake microphone says a real French sentence; the page speaks chan_websocket
to `/media`; the real pipeline (Whisper, the dialplan, the voice) answers. This is what
a person gets with `callbot serve` and a browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from callbot.app.service import Callbot
from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.wavfile import write_wav
from callbot.simulator.run import wait_for_record
from tests.conftest import bot_settings, speech_16k
from tests.web.browser import Launch, watched_page

STEP_TIMEOUT_S = 20.0
DIALPLAN = Path(__file__).resolve().parent.parent / "pipeline/dialplans/call-fr.yaml"


@pytest.fixture
async def bot(models_dir: Path) -> AsyncIterator[Callbot]:
    settings = bot_settings(models_dir, DIALPLAN, server={"softphone": True})
    running = await Callbot.start(settings)
    yield running
    await running.stop()


async def test_a_browser_call_is_answered_by_the_real_bot(
    bot: Callbot, chromium: Launch, tmp_path: Path
) -> None:
    # The caller waits 4 s (the greeting), says the sentence, then stays silent.
    silence = np.zeros(4 * PIPELINE_RATE_HZ, np.int16)
    mic = tmp_path / "mic.wav"
    write_wav(
        mic, np.concatenate([silence, speech_16k("check-number-dial-again"), silence, silence])
    )
    errors: list[str] = []
    async with chromium(mic, STEP_TIMEOUT_S) as browser:
        page = await watched_page(browser, errors, timeout_s=STEP_TIMEOUT_S)
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
        await page.wait_for_selector('#softphone[data-state="ended"]')
        # The browser stays up until the bot has ended the call on its side.
        record = await wait_for_record(bot.records, call_id.strip())
    assert errors == []
    assert record is not None, f"no record for {call_id!r}"
    intents = [turn["intent"] for turn in record["turns"]]
    assert "numero" in intents, record["turns"]
    assert record["transport"] == "chan_websocket" and record["format"] == "slin16"
