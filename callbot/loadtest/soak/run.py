"""Runs a soak (see :mod:`callbot.loadtest.soak`): the server, the calls, the faults,
then the records compared."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from callbot.loadtest import require_extra
from callbot.loadtest.corpus import CallSpec, Corpus
from callbot.loadtest.postgres import ThrowawayPostgres
from callbot.loadtest.soak.faults import crash_server, stop_database
from callbot.loadtest.soak.plan import Event, Placed, SoakPlan
from callbot.loadtest.soak.report import settle, soak_report
from callbot.loadtest.soak.server import Sampler, ServerProcess
from callbot.simulator.run import Target, open_peer
from callbot.simulator.script import CallerBehaviour, Turn, run_script

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"


async def run_soak(corpus: Corpus, plan: SoakPlan, workdir: Path) -> dict[str, Any]:
    """Run the soak; returns the report data (see :mod:`callbot.loadtest.soak`)."""
    require_extra()  # now, not when the report is drawn after the run
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    database = ThrowawayPostgres() if plan.postgres else None
    if database is not None:
        await asyncio.to_thread(database.start)
        records_url = f"{database.url}/postgres"
    else:
        records_url = str(workdir / "records.sqlite3")
    env = {
        "CALLBOT_DIALPLAN": str(corpus.dialplan_path.resolve()),
        "CALLBOT_RECORDS_URL": records_url,
        "CALLBOT_SERVER_AUDIOSOCKET": "false",
        "CALLBOT_SERVER_SOFTPHONE": "false",
        "CALLBOT_MODELS_DIR": str(MODELS_DIR),
        "CALLBOT_HANDOVER_STORE_PATH": str(workdir / "handover.sqlite3"),
        "CALLBOT_LOG_FORMAT": "json",
        **dict(plan.server_env),
    }
    server = ServerProcess(workdir, env, workdir / "server.log")
    zero = time.monotonic()
    events: list[Event] = []
    await server.start()
    events.append(Event(round(time.monotonic() - zero, 1), f"server started (pid {server.pid})"))
    sampler = Sampler(server, plan.sample_every_s)
    background = [asyncio.create_task(sampler.run(zero))]
    if plan.kill_server_every_s:
        background.append(asyncio.create_task(crash_server(server, plan, zero, events)))
    if plan.stop_db_every_s and database is not None:
        background.append(asyncio.create_task(stop_database(database, plan, zero, events)))
    try:
        placed = await _place_calls(corpus, plan, server, zero)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    if not server.running:
        await server.start()  # killed at the very end: let it finalise the records
    settled = await settle(records_url, placed, plan.settle_s)
    for call in placed:
        call.join(settled.get(call.call_id), plan.concurrency)
    await server.stop()
    if database is not None:
        await asyncio.to_thread(database.remove)
    return soak_report(plan, placed, settled, sampler.samples, events, time.monotonic() - zero)


async def _place_calls(
    corpus: Corpus, plan: SoakPlan, server: ServerProcess, zero: float
) -> list[Placed]:
    scripts: dict[str, list[Turn]] = {}
    placed: list[Placed] = []
    counter = iter(range(plan.calls))
    stop_at = None if plan.duration_s is None else zero + plan.duration_s

    async def worker(number: int) -> None:
        await asyncio.sleep(2.0 * number / max(1, plan.concurrency))  # ramp-up
        for index in counter:
            spec = corpus.calls[index % len(corpus.calls)]
            if spec.id not in scripts:
                scripts[spec.id] = await asyncio.to_thread(corpus.turns, spec)
            while True:  # a call the server never took (it was down) is dialled again
                if stop_at is not None and time.monotonic() >= stop_at:
                    return
                call = await _one_call(spec, scripts[spec.id], server, plan, zero)
                placed.append(call)
                if call.reached_server:
                    break
            done = sum(c.reached_server for c in placed)
            if done % max(1, plan.calls // 20) == 0:
                elapsed_min = (time.monotonic() - zero) / 60
                print(f"soak: {done}/{plan.calls} calls, {elapsed_min:.0f} min", file=sys.stderr)
            await asyncio.sleep(plan.redial_pause_s)

    await asyncio.gather(*(worker(n) for n in range(plan.concurrency)))
    return placed


async def _one_call(
    spec: CallSpec, turns: list[Turn], server: ServerProcess, plan: SoakPlan, zero: float
) -> Placed:
    call_id = f"soak-{uuid.uuid4().hex[:12]}"
    target = Target(media_url=server.base_url.replace("http", "ws", 1) + "/media")
    peer = open_peer(target, "chan_websocket", plan.media_format, call_id=call_id)
    started = time.monotonic()
    call = Placed(call_id, spec, round(started - zero, 2), reached_server=False)
    try:
        await peer.__aenter__()  # type: ignore[attr-defined]
    except Exception as exc:  # refused or timed out: the server was down
        call.error = f"unreachable: {type(exc).__name__}"
        call.duration_s = time.monotonic() - started
        await asyncio.sleep(1.0)  # a real line would not redial in a tight loop
        return call
    call.reached_server = True
    try:
        async with asyncio.timeout(600):
            call.trace = await run_script(peer, turns, CallerBehaviour(hangup_wait_s=5.0))
    except Exception as exc:
        call.error = f"dropped: {type(exc).__name__}"
    finally:
        with contextlib.suppress(Exception):
            await peer.__aexit__(None, None, None)  # type: ignore[attr-defined]
        recording = peer.recording
        call.line = SimpleNamespace(
            recording=SimpleNamespace(
                dropped_frames=recording.dropped_frames, underruns=recording.underruns
            )
        )
        call.duration_s = time.monotonic() - started
    return call
