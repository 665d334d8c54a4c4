"""A callbot process in miniature, to be killed: ``python -m tests.records.live_calls``.

It opens the records path exactly as ``callbot serve`` does (:class:`Operations`, hence
the real store, spool and writer), starts ``--calls`` calls whose journals report their
progress as the call runner does (at the start, then as each turn completes), completes
``--turns`` turns per call and opens one more, waits until the writer has stored
everything, prints ``READY`` and sleeps until it is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from callbot.app.service import Operations
from callbot.audio.formats import AudioFormat
from callbot.calls.journal import CallJournal
from callbot.config import Settings
from callbot.media.types import CallInfo
from callbot.records.settings import RecordsSettings


def durable_settings(url: str, spool_dir: str) -> Settings:
    """Records settings with short times, so that tests see recovery in seconds."""
    records = RecordsSettings(
        url=url, spool_dir=spool_dir, retry_max_s=0.3, heartbeat_s=0.2, interrupted_after_s=1.5
    )
    return dataclasses.replace(Settings(), records=records)


def start_call(ops: Operations, call_id: str, number: str = "0612345678") -> CallJournal:
    """A call as :class:`callbot.pipeline.call.CallRunner` reports it."""
    info = CallInfo(call_id, "chan_websocket", AudioFormat.from_asterisk_name("ulaw"), number)
    journal = CallJournal(info, dialplan="assurance-maladie", voice="siwis")
    journal.on_turn_done = lambda: ops.call_progress(journal.snapshot(), info)
    ops.call_progress(journal.snapshot(), info)
    return journal


def take_turn(journal: CallJournal, text: str) -> None:
    turn = journal.new_turn()  # completes the previous turn: its record is written
    turn.caller_text, turn.intent, turn.outcome = text, "attestation_droits", "matched"
    turn.bot_text.append("Très bien.")


def end_call(ops: Operations, journal: CallJournal) -> None:
    journal.finish("answered", "goodbye", by="bot")
    ops.call_ended(journal.snapshot(), journal.info)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("spool_dir")
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--turns", type=int, default=2)
    args = parser.parse_args()
    ops = await Operations.open(durable_settings(args.url, args.spool_dir), lambda: 0)
    assert ops.writer is not None
    journals = [start_call(ops, f"live-{n}") for n in range(args.calls)]
    for turn in range(1, args.turns + 2):  # the last turn is still going on when killed
        for journal in journals:
            take_turn(journal, f"phrase {turn}")
    await asyncio.to_thread(ops.writer.wait_settled, 30)
    print("READY", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
