"""Keys interrupt: whole calls through the simulated Asterisk, on loopback websockets, with
the real pipeline and models.

A key pressed during a prompt must stop it at Asterisk (FLUSH_MEDIA, timed where the
simulated Asterisk received it) within 300 ms; the agent key must have the caller handed
to the queue within 3 s of the key, hand-over sentence heard in full, nothing of the
greeting or the menu after it. The shipped Assurance Maladie dialplan is used as is: its
greeting lasts about 11 s, and its calls happen in opening hours (a fixed clock) so that
the agent key transfers. The transfer goes to a stand-in for the ARI call control that
notes when it was asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from callbot.app.service import Callbot, Engines
from callbot.audio.formats import ULAW_8K
from callbot.config import Settings
from callbot.dialplan import Transfer
from callbot.dialplan.store import DialplanStore
from callbot.handover.context import HandoverContext
from callbot.media.types import CallInfo
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.recording import ReceivedCommand
from callbot.simulator.run import wait_for_record
from tests.conftest import bot_settings
from tests.dialplan.flows import OPEN

pytestmark = pytest.mark.models

REPO = Path(__file__).resolve().parents[2]
ASSURANCE = REPO / "dialplans" / "assurance-maladie.yaml"
KEYPAD = Path(__file__).parent / "dialplans" / "keypad-fr.yaml"
FLUSH_WITHIN_S = 0.3
QUEUED_WITHIN_S = 3.0
POLL_S = 0.01


class QueueControl:
    """The ARI call control, reduced to what is measured: when the caller was handed over."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, Transfer]] = []

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        self.requests.append((time.monotonic(), transfer))
        return True


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(models_dir, ASSURANCE)


@pytest.fixture
def control() -> QueueControl:
    return QueueControl()


@pytest.fixture
async def bot(
    settings: Settings, engines: Engines, control: QueueControl
) -> AsyncIterator[Callbot]:
    running = await Callbot.start(settings, engines=engines, control=control, now=OPEN)
    yield running
    await running.stop()


@pytest.fixture
async def keypad_bot(
    settings: Settings, engines: Engines, control: QueueControl
) -> AsyncIterator[Callbot]:
    own = dataclasses.replace(engines, dialplans=DialplanStore.load(KEYPAD))
    await asyncio.to_thread(own.prepare, own.dialplans.current())
    local = dataclasses.replace(settings, dialplan=KEYPAD)
    running = await Callbot.start(local, engines=own, control=control)
    yield running
    await running.stop()


def caller(bot: Callbot, name: str) -> SimulatedChanWebsocketCall:
    return SimulatedChanWebsocketCall(bot.media_url, media_format=ULAW_8K, call_id=name)


async def bot_audio_after(peer: SimulatedChanWebsocketCall, since_s: float) -> float:
    """When the caller first hears the bot after ``since_s``."""
    async with asyncio.timeout(15):
        while (heard := peer.recording.first_audio_after(since_s)) is None:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return heard


async def press_after(peer: SimulatedChanWebsocketCall, since_s: float, digit: str) -> float:
    """Press ``digit`` at ``since_s``; returns when it was pressed."""
    await asyncio.sleep(max(0.0, since_s - time.monotonic()))
    pressed_s = time.monotonic()
    await peer.send_dtmf(digit)
    return pressed_s


async def flush_after(peer: SimulatedChanWebsocketCall, since_s: float) -> ReceivedCommand:
    """The first FLUSH_MEDIA the simulated Asterisk received after ``since_s``."""
    async with asyncio.timeout(5):
        while True:
            for command in peer.recording.commands:
                if command.name == "FLUSH_MEDIA" and command.at_s >= since_s:
                    return command
            await asyncio.sleep(POLL_S)


async def record_of(bot: Callbot, call_id: str) -> dict[str, Any]:
    record = await wait_for_record(bot.records, call_id)
    assert record is not None
    return record


async def test_a_key_one_second_into_the_greeting_stops_it(bot: Callbot) -> None:
    async with caller(bot, "key-greeting") as peer:
        greeting_s = await bot_audio_after(peer, 0.0)
        pressed_s = await press_after(peer, greeting_s + 1.0, "1")
        flush = await flush_after(peer, pressed_s)
        reaction_s = flush.at_s - pressed_s
        answer_s = await bot_audio_after(peer, flush.at_s + 0.1)
        await peer.wait_for_bot_silence(1.0, 30)
    print(f"key -> FLUSH_MEDIA: {reaction_s * 1000:.0f} ms")
    assert 0 <= reaction_s < FLUSH_WITHIN_S
    # The greeting stopped there: the next thing heard is the answer to the key.
    assert answer_s - flush.at_s < 2.0
    record = await record_of(bot, peer.call_id)
    assert record["turns"][0]["dtmf"] == "1"
    assert record["turns"][0]["intent"] == "attestation_droits"


async def test_the_agent_key_during_the_greeting_queues_the_caller_within_3_s(
    bot: Callbot, control: QueueControl
) -> None:
    async with caller(bot, "key-agent") as peer:
        greeting_s = await bot_audio_after(peer, 0.0)
        pressed_s = await press_after(peer, greeting_s + 1.0, "0")
        flush = await flush_after(peer, pressed_s)
        async with asyncio.timeout(10):
            while not control.requests:  # noqa: ASYNC110 - the stand-in's log
                await asyncio.sleep(POLL_S)
        requested_s, transfer = control.requests[0]
        heard_s = peer.recording.audible_seconds(since_s=flush.at_s)
        assert await peer.wait_closed(5)
    to_queue_s = requested_s - pressed_s
    print(f"key -> FLUSH_MEDIA: {(flush.at_s - pressed_s) * 1000:.0f} ms; "
          f"key -> transfer: {to_queue_s * 1000:.0f} ms; heard {heard_s:.2f} s")  # fmt: skip
    assert flush.at_s - pressed_s < FLUSH_WITHIN_S
    assert 0 < to_queue_s < QUEUED_WITHIN_S
    assert transfer.queue == "conseillers"
    # Between the key and the hand-over: the short hand-over sentence, heard in full, and
    # nothing of the greeting's remainder (about 10 s).
    assert 0.8 < heard_s < 2.5
    record = await record_of(bot, peer.call_id)
    assert record["outcome"] == "transferred" and record["transfer_queue"] == "conseillers"
    (turn,) = record["turns"]
    assert (turn["dtmf"], turn["intent"]) == ("0", "conseiller")
    assert turn["bot_text"] == ["Je vous passe un conseiller."]


async def test_a_value_typed_over_its_question_cuts_it_once_and_is_taken_whole(
    keypad_bot: Callbot,
) -> None:
    async with caller(keypad_bot, "key-entry") as peer:
        greeting_s = await bot_audio_after(peer, 0.0)
        pressed_s = await press_after(peer, greeting_s + 1.0, "1")
        greeting_cut = await flush_after(peer, pressed_s)
        question_s = await bot_audio_after(peer, greeting_cut.at_s + 0.1)
        first_digit_s = await press_after(peer, question_s + 0.8, "4")
        for digit in "2719#":
            await press_after(peer, time.monotonic() + 0.15, digit)
        question_cut = await flush_after(peer, first_digit_s)
        assert await peer.wait_closed(15)  # the answer, the goodbye, then the bot hangs up
    print(f"key -> FLUSH_MEDIA: {(greeting_cut.at_s - pressed_s) * 1000:.0f} ms (greeting), "
          f"{(question_cut.at_s - first_digit_s) * 1000:.0f} ms (question)")  # fmt: skip
    assert greeting_cut.at_s - pressed_s < FLUSH_WITHIN_S
    assert question_cut.at_s - first_digit_s < FLUSH_WITHIN_S
    # One flush per prompt cut, none for the digits typed once the line was quiet.
    assert peer.recording.command_names().count("FLUSH_MEDIA") == 2
    record = await record_of(keypad_bot, peer.call_id)
    assert [t["dtmf"] for t in record["turns"]] == ["1", "4", "2", "7", "1", "9", "#"]
    assert record["turns"][-1]["slots"] == ["dossier"]
    answer = record["turns"][-1]["bot_text"][0]
    assert answer.startswith("Votre dossier") and "".join(filter(str.isdigit, answer)) == "42719"
    assert record["outcome"] == "answered"
