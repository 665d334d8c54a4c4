"""Joining the simulated side of a call with the server's record; a whole simulated call
at a set time, with a number typed on the keypad."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from callbot.audio.formats import ULAW_8K
from callbot.config import Settings
from callbot.simulator.recording import BotRecording
from callbot.simulator.run import Target, merge, open_peer, simulate, wait_for_record
from callbot.simulator.script import CallerBehaviour, CallTrace, DtmfTurn, TurnTrace
from tests.conftest import bot_settings

if TYPE_CHECKING:
    from callbot.app.service import Callbot, Engines

CLOCK_PLAN = Path(__file__).parent / "dialplans" / "clock-fr.yaml"
EASTER_MONDAY = dt.datetime(2026, 4, 6, 10, 0)
"""Local time of the dialplan (Europe/Paris)."""


async def test_a_record_already_there_is_found_without_waiting() -> None:
    records = [{"call_id": "a"}, {"call_id": "b", "outcome": "answered"}]
    assert await wait_for_record(records, "b", 0.0) == {"call_id": "b", "outcome": "answered"}
    assert await wait_for_record(records, "zzz", 0.0) is None


class _Peer:
    recording = BotRecording()


def _key(digit: str, *said: str) -> dict[str, Any]:
    return {"dtmf": digit, "intent": "rappel", "bot_text": list(said)}


def test_the_keys_of_one_entry_are_one_turn() -> None:
    trace = CallTrace("c", 0.0)
    trace.turns = [
        TurnTrace("dtmf 1", "dtmf", 1.0),
        TurnTrace("dtmf 0612345678", "dtmf", 2.0, keys=10),
        TurnTrace("silence 8 s", "silence", 3.0),
        TurnTrace("dtmf 1", "dtmf", 4.0),
    ]
    read_back = "J'ai noté 06 12 34 56 78, c'est bien ça ?"
    server = [
        _key("1", "Tapez votre numéro de téléphone."),
        *(_key(d) for d in "061234567"),
        {**_key("8", read_back), "server_latency_ms": 12},
        {"intent": "no_input", "bot_text": ["Je ne vous entends pas.", read_back]},
        _key("1", "C'est noté, le 06 12 34 56 78."),
    ]
    turns = merge(trace, {"turns": server}, _Peer())["turns"]  # type: ignore[arg-type]
    assert [(t["dtmf"], t["bot_text"]) for t in turns] == [
        ("1", "Tapez votre numéro de téléphone."),
        ("0612345678", read_back),
        (None, None),
        ("1", "C'est noté, le 06 12 34 56 78."),
    ]
    assert turns[1]["server_latency_ms"] == 12


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(models_dir, CLOCK_PLAN)


@pytest.fixture
async def easter_bot(settings: Settings, engines: Engines) -> AsyncIterator[Callbot]:
    """A callbot whose calls all happen on Easter Monday 2026 at 10:00 (``--now``)."""
    from callbot.app.service import Callbot

    running = await Callbot.start(settings, engines=engines, now=EASTER_MONDAY)
    yield running
    await running.stop()


async def test_a_call_at_a_set_time_with_a_typed_number(easter_bot: Callbot) -> None:
    target = Target(media_url=easter_bot.media_url)
    peer = open_peer(target, "chan_websocket", ULAW_8K)
    turns = [DtmfTurn("1"), DtmfTurn("0612345678"), DtmfTurn("1")]
    trace = await simulate(peer, turns, CallerBehaviour(answer_timeout_s=20.0))
    record = await wait_for_record(easter_bot.records, trace.call_id)
    merged = merge(trace, record, peer)
    assert [t["dtmf"] for t in merged["turns"]] == ["1", "0612345678", "1"]
    said = [t["bot_text"] for t in merged["turns"]]
    assert said[0] == "Tapez votre numéro de téléphone."
    assert said[1] == "J'ai noté 06 12 34 56 78, c'est bien ça ?"
    assert said[2] == (
        "C'est noté, le 06 12 34 56 78. Nous sommes fermés aujourd'hui, jour férié : "
        "Lundi de Pâques. Nous rouvrons demain à 8 h 30. Au revoir."
    )
    assert merged["hung_up_by"] == "bot"
