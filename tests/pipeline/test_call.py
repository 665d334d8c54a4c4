"""Whole calls through the simulated Asterisk, against the real pipeline and models.

Real French recordings (Debian's asterisk-core-sounds-fr) play the caller; Whisper
base recognises them; the dialplan answers; espeak-ng (no French Piper voice is
installable here) speaks; the simulated Asterisk plays the answer out in the call's
codec at real time, as Asterisk would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from callbot.app.service import Callbot, Engines
from callbot.audio.convert import resample
from callbot.audio.formats import SLIN_16K, ULAW_8K
from callbot.config import Settings
from callbot.dialplan.store import DialplanStore
from callbot.media.types import CallInfo
from callbot.records.settings import RecordsSettings
from callbot.simulator.run import Target, merge, open_peer, simulate, wait_for_record
from callbot.simulator.script import (
    DtmfTurn,
    HangupTurn,
    SilenceTurn,
    speech_turn,
)
from tests.conftest import bot_settings, sound, speech_16k

pytestmark = pytest.mark.models

DIALPLAN = Path(__file__).parent / "dialplans" / "call-fr.yaml"


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(
        models_dir,
        DIALPLAN,
        server={"audiosocket": True, "audiosocket_port": 0},
        call={"no_input_timeout_s": 2.0},
    )


def envelope(pcm: np.ndarray) -> np.ndarray:
    frames = pcm[: pcm.size - pcm.size % 320].astype(np.float64).reshape(-1, 320)
    return np.sqrt(np.mean(frames**2, axis=1))


def envelope_match(heard: np.ndarray, expected: np.ndarray) -> float:
    """Best normalised correlation of the 20 ms loudness envelopes over all alignments."""
    a, b = envelope(heard), envelope(expected)
    best = 0.0
    for shift in range(0, max(1, a.size - b.size + 1)):
        window = a[shift : shift + b.size]
        if window.size < b.size:
            break
        best = max(best, float(np.corrcoef(window, b)[0, 1]))
    return best


def target(bot: Callbot) -> Target:
    return Target(media_url=bot.media_url, audiosocket=("127.0.0.1", bot.audiosocket_port or 0))


async def call(bot: Callbot, turns: list, transport: str = "chan_websocket", fmt=ULAW_8K) -> dict:
    peer = open_peer(target(bot), transport, fmt)
    trace = await simulate(peer, turns)
    record = await wait_for_record(bot.records, trace.call_id)
    result = merge(trace, record, peer)
    # What the caller heard after each of its turns, for tests that listen to it.
    result["_heard_after"] = [peer.recording.audio(since_s=t.ended_at_s) for t in trace.turns]
    return result


async def test_french_call_is_answered_in_the_call_codec(bot: Callbot, engines: Engines) -> None:
    record = await call(
        bot,
        [speech_turn(sound("check-number-dial-again")), speech_turn(sound("vm-goodbye"))],
    )
    first, second = record["turns"]
    assert "numero" in first["caller_text"].lower().replace("é", "e")
    assert first["intent"] == "numero"
    assert "numéro de dossier" in first["bot_text"]
    assert first["latency_ms"] is not None and 0 < first["latency_ms"] < 6000
    assert second["intent"] == "au_revoir"
    assert record["outcome"] == "answered" and record["hung_up_by"] == "bot"
    assert record["greeting_ms"] is not None and record["greeting_ms"] < 1000
    assert {"MARK_MEDIA", "HANGUP"} <= set(record["bot_commands"])
    assert record["dropped_frames"] == 0
    # What the caller heard, decoded from mu-law, is the answer the voice synthesized
    # (espeak's robotic French defeats Whisper, so compare loudness envelopes instead).
    voice = engines.voices.synthesizer("fr-FR", None)
    spoken = [c async for c in voice.stream(first["bot_text"])]
    expected = resample(np.concatenate([c.pcm for c in spoken]), spoken[0].sample_rate_hz, 16000)
    assert envelope_match(record["_heard_after"][0], expected) > 0.9


async def test_audiosocket_call_in_slin16(bot: Callbot) -> None:
    record = await call(
        bot, [speech_turn(sound("check-number-dial-again"))], "audiosocket", SLIN_16K
    )
    assert record["transport"] == "audiosocket" and record["format"] == "slin16"
    assert record["turns"][0]["intent"] == "numero"
    assert record["turns"][0]["latency_ms"] is not None
    assert record["bot_audio_s"] > 2.0


async def test_dtmf_reaches_the_dialplan(bot: Callbot) -> None:
    record = await call(bot, [DtmfTurn("1")])
    assert record["turns"][0]["dtmf"] == "1"
    assert record["turns"][0]["intent"] == "mot_de_passe"
    assert "mot de passe oublié" in record["turns"][0]["bot_text"]


async def test_dtmf_zero_transfers_but_without_ari_the_call_ends_politely(bot: Callbot) -> None:
    record = await call(bot, [DtmfTurn("0")])
    assert record["transfer_queue"] == "conseillers"
    # No ARI in this test: nobody to take it, and the record says why (issue 10, item 5).
    assert record["outcome"] == "transfer_unavailable"
    assert record["hung_up_by"] == "bot"


async def test_barge_in_stops_the_prompt(bot: Callbot) -> None:
    peer = open_peer(target(bot), "chan_websocket", ULAW_8K)
    async with peer:
        await peer.wait_for_bot_silence(0.8, 20)
        await peer.play(speech_16k("check-number-dial-again"), 16000)
        # Wait for the answer to start, then talk over it.
        started = time.monotonic()
        while peer.recording.first_audio_after(started) is None:
            assert time.monotonic() - started < 15, "the bot never answered"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        spoke_at = time.monotonic()
        await peer.play(speech_16k("auth-thankyou"), 16000)
        await peer.wait_for_bot_silence(1.0, 20)
        flush = [c for c in peer.recording.commands if c.name == "FLUSH_MEDIA"]
        assert flush, "barge-in sent no FLUSH_MEDIA"
        reaction_s = flush[0].at_s - spoke_at
        assert 0 < reaction_s < 1.5
        await peer.hangup()
    record = await wait_for_record(bot.records, peer.call_id)
    assert record is not None and record["turns"][0]["barged_in"] is True


async def test_caller_hangs_up_mid_prompt(bot: Callbot) -> None:
    record = await call(bot, [speech_turn(sound("check-number-dial-again")), HangupTurn(0.3)])
    assert record["outcome"] == "hung_up_by_caller"
    assert record["hung_up_by"] == "caller-mid-prompt"
    # The server is fine and takes the next call.
    again = await call(bot, [DtmfTurn("1")])
    assert again["turns"][0]["intent"] == "mot_de_passe"


async def test_silence_reprompts_then_ends_the_call(bot: Callbot) -> None:
    record = await call(bot, [SilenceTurn(8.0)])
    assert record["no_input_turns"] >= 1
    assert record["hung_up_by"] == "bot"
    assert record["outcome"] == "no_input"  # no call resolved by the bot


async def test_a_failing_pipeline_apologises_and_never_kills_the_process(
    bot: Callbot, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated recogniser crash")

    monkeypatch.setattr(engines.asr, "transcribe", broken)
    record = await call(bot, [speech_turn(sound("check-number-dial-again"))])
    assert record["outcome"] == "failed"
    assert any("simulated recogniser crash" in e for e in record["errors"])
    assert record["hung_up_by"] == "bot"
    # The caller heard the apology after speaking (never silence).
    assert record["bot_audio_s"] > 3.0
    monkeypatch.undo()
    again = await call(bot, [DtmfTurn("1")])
    assert again["turns"][0]["intent"] == "mot_de_passe"


async def test_asterisk_dying_mid_prompt_ends_the_call_cleanly(bot: Callbot) -> None:
    peer = open_peer(target(bot), "chan_websocket", ULAW_8K)
    async with peer:
        started = time.monotonic()
        while peer.recording.first_audio_after(started) is None:
            assert time.monotonic() - started < 10, "no greeting"
            await asyncio.sleep(0.02)
        peer.drop()  # mid-greeting, no close handshake
    record = await wait_for_record(bot.records, peer.call_id)
    # Not a caller's hang-up: the media connection died under the call.
    assert record is not None and record["outcome"] == "failed"
    assert record["hung_up_by"] == "asterisk"
    assert "closed by Asterisk" in record["outcome_detail"]
    assert bot.runner.active_calls == 0
    again = await call(bot, [DtmfTurn("1")])
    assert again["turns"][0]["intent"] == "mot_de_passe"


async def test_last_words_before_hanging_up_are_not_cut_by_the_caller(bot: Callbot) -> None:
    peer = open_peer(target(bot), "chan_websocket", ULAW_8K)
    async with peer:
        await peer.wait_for_bot_silence(0.8, 20)
        await peer.play(speech_16k("vm-goodbye"), 16000)  # -> "Au revoir." then hang-up
        started = time.monotonic()
        while peer.recording.first_audio_after(started) is None:
            assert time.monotonic() - started < 15, "the bot never answered"
            await asyncio.sleep(0.02)
        await peer.play(speech_16k("auth-thankyou"), 16000)  # talks over the goodbye
        assert await peer.wait_closed(15)
    assert "FLUSH_MEDIA" not in peer.recording.command_names()
    record = await wait_for_record(bot.records, peer.call_id)
    assert record is not None and record["outcome"] == "answered"


async def test_an_edited_dialplan_serves_new_calls_and_a_broken_one_is_refused(
    settings: Settings, engines: Engines, tmp_path: Path
) -> None:
    dialplan = tmp_path / "line.yaml"
    dialplan.write_text(DIALPLAN.read_text(encoding="utf-8"), encoding="utf-8")
    local = dataclasses.replace(settings, dialplan=dialplan, dialplan_reload_s=0.05)
    own = dataclasses.replace(engines, dialplans=DialplanStore.load(dialplan))
    running = await Callbot.start(local, engines=own)
    try:
        first = await call(running, [DtmfTurn("1")])
        assert first["dialplan_version"] == 1
        text = dialplan.read_text(encoding="utf-8")
        edited = text.replace("utilisez le lien mot de passe oublié", "appelez le 3646")
        dialplan.write_text(edited, encoding="utf-8")
        await wait_until(lambda: own.dialplans.current().version == 2)
        second = await call(running, [DtmfTurn("1")])
        assert second["dialplan_version"] == 2 and "3646" in second["turns"][0]["bot_text"]
        dialplan.write_text(edited + "\nunknown_field: 1\n", encoding="utf-8")
        await asyncio.sleep(0.5)  # refused: version 2 keeps serving
        third = await call(running, [DtmfTurn("1")])
        assert third["dialplan_version"] == 2 and "3646" in third["turns"][0]["bot_text"]
    finally:
        await running.stop()


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling a file watcher's effect
            await asyncio.sleep(0.05)


async def test_the_record_is_stored_from_the_start_and_after_each_turn(
    settings: Settings, engines: Engines, tmp_path: Path
) -> None:
    """A crash loses at most the turn in progress (issue 10, item 3): the runner hands the
    record over as the call starts and as each turn completes, then once at the end."""
    records = RecordsSettings(url=str(tmp_path / "records.sqlite3"))
    running = await Callbot.start(dataclasses.replace(settings, records=records), engines=engines)
    handed: list[tuple[str, int, int, str]] = []
    store_progress = running.runner.on_progress
    assert store_progress is not None

    def spy(record: dict, info: CallInfo) -> None:
        handed.append(
            (record["outcome"], len(record["turns"]), record["revision"], record["record_token"])
        )
        store_progress(record, info)

    running.runner.on_progress = spy
    try:
        record = await call(running, [DtmfTurn("1"), DtmfTurn("2"), HangupTurn(0.3)])
        assert running.ops.writer is not None and running.ops.store is not None
        assert await asyncio.to_thread(running.ops.writer.wait_settled, 10)
        stored = await asyncio.to_thread(running.ops.store.calls, 0, None, in_progress=True)
        [final] = [r for r in running.records if r["call_id"] == record["call_id"]]
    finally:
        await running.stop()
    # At the call's first second (no turn yet), then as each turn completes (the next
    # one begins: the second key, then the no-input reprompt before the hang-up).
    assert {outcome for outcome, *_ in handed} == {"in_progress"}
    assert [turns for _, turns, _, _ in handed] == list(range(len(handed)))
    assert len(handed) >= 2
    assert [revision for _, _, revision, _ in handed] == list(range(1, len(handed) + 1))
    assert {token for *_, token in handed} == {final["record_token"]}
    assert final["revision"] == len(handed) + 1
    [row] = stored  # one row, updated in place, final now
    assert (row.call_id, row.state, row.outcome) == (record["call_id"], "final", record["outcome"])
    assert [t.dtmf for t in row.turns][:2] == ["1", "2"]
    assert len(row.turns) == len(final["turns"]) == len(handed)
