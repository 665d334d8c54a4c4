"""A soak: many calls against a callbot in its own process, with crashes and database
outages on a schedule, then every call placed compared with the records stored.

What it does, in order:

* starts ``callbot serve`` as a child process (the server under test: its own CPU, its
  own event loop), with records in SQLite or in a throw-away PostgreSQL it also starts;
* places ``calls`` calls from the recorded corpus, ``concurrency`` at a time, through the
  simulated Asterisk (chan_websocket, real-time pace), like :mod:`callbot.loadtest.runner`;
* on a schedule, if asked: ``kill -9`` of the server, which comes back after
  ``restart_delay_s`` (what systemd's ``Restart=always`` does), and/or the database
  stopped for ``db_down_s``;
* samples the server's RSS, open file descriptors and CPU all along (the pid changes
  after a restart);
* at the end, waits for the records to settle and compares: every call that reached the
  server must have exactly one record (a call the server never accepted, while it was
  down, is counted apart: on a real line Asterisk would have sent it to a human).

The report (JSON, and a PNG with p95 per tenth of the run, RSS and fds over time) says
the calls by outcome and failure reason, records lost (goal: 0), RSS and fds at the start
and the end, and p95 voice-to-voice per tenth of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import psutil

from callbot.audio.formats import ULAW_8K, AudioFormat
from callbot.loadtest.corpus import CallSpec, Corpus
from callbot.loadtest.metrics import CallResult, call_result, failed_call, percentiles
from callbot.loadtest.postgres import ThrowawayPostgres, free_port
from callbot.records.store import RecordStore, open_store
from callbot.simulator.run import Target, open_peer
from callbot.simulator.script import CallerBehaviour, CallTrace, Turn, run_script

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True, slots=True)
class SoakPlan:
    calls: int = 100
    concurrency: int = 7
    duration_s: float | None = None
    """Stop dialling new calls after this long even if fewer than ``calls`` were placed
    (calls in progress finish)."""
    media_format: AudioFormat = ULAW_8K
    postgres: bool = False
    """Records in a throw-away PostgreSQL (else SQLite in the work dir)."""
    kill_server_every_s: float | None = None
    restart_delay_s: float = 1.0
    stop_db_every_s: float | None = None
    db_down_s: float = 30.0
    sample_every_s: float = 1.0
    redial_pause_s: float = 3.0
    """A caller line waits this long between two calls (a trunk does not hand the bot a new
    call in the millisecond the last one hung up, while its slot is still being freed)."""
    settle_s: float = 90.0
    """After the last call, how long records may take to appear (spool replay, in-progress
    records of a killed process finalised as ``interrupted``)."""
    server_env: tuple[tuple[str, str], ...] = ()
    """Extra ``CALLBOT_*`` settings for the server."""


@dataclass
class Placed:
    """One call as the caller side saw it (joined with its record once they settled)."""

    call_id: str
    spec: CallSpec
    started_s: float
    reached_server: bool
    duration_s: float = 0.0
    trace: CallTrace | None = None
    line: SimpleNamespace | None = None
    """What the call result needs of the caller's recording (not the audio itself)."""
    error: str = ""
    result: CallResult | None = None

    def join(self, record: dict[str, Any] | None, concurrency: int) -> None:
        if self.trace is None or self.line is None:
            self.result = failed_call(
                self.spec, self.call_id, self.error or "error", concurrency=concurrency,
                started_s=self.started_s, duration_s=self.duration_s,
            )  # fmt: skip
            return
        self.result = call_result(
            self.spec, self.trace, record, self.line, concurrency=concurrency,
            started_s=self.started_s, duration_s=self.duration_s,
        )  # fmt: skip


@dataclass
class Event:
    t_s: float
    what: str


class ServerProcess:
    """``callbot serve`` in a child process; :meth:`kill9` and :meth:`start` again."""

    def __init__(self, workdir: Path, env: dict[str, str], log_path: Path) -> None:
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.log = log_path.open("ab")
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, **self.env, "CALLBOT_SERVER_PORT": str(self.port)}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callbot",
            "serve",
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.starts += 1
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"callbot exited with {self.process.returncode}: see log")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.base_url}/readyz") as reply:
                        if reply.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError("callbot did not become ready")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill9(self) -> None:
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (drain), then wait."""
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 90)
        self.log.close()


class Sampler:
    """RSS, fds and CPU of whatever process is the server now."""

    def __init__(self, server: ServerProcess, every_s: float) -> None:
        self.server, self.every_s = server, every_s
        self.samples: list[dict[str, float]] = []
        self._proc: psutil.Process | None = None

    async def run(self, zero_s: float) -> None:
        while True:
            pid = self.server.pid
            with contextlib.suppress(psutil.Error):
                if pid is not None and (self._proc is None or self._proc.pid != pid):
                    self._proc = psutil.Process(pid)
                    self._proc.cpu_percent(None)
                if (
                    self._proc is not None
                    and self._proc.is_running()
                    and self._proc.status() != psutil.STATUS_ZOMBIE
                ):
                    with self._proc.oneshot():
                        self.samples.append(
                            {
                                "t_s": round(time.monotonic() - zero_s, 1),
                                "pid": float(self._proc.pid),
                                "rss_mib": round(self._proc.memory_info().rss / (1 << 20), 1),
                                "fds": float(self._proc.num_fds()),
                                "cpu_percent": round(self._proc.cpu_percent(None), 1),
                            }
                        )
            await asyncio.sleep(self.every_s)


async def run_soak(corpus: Corpus, plan: SoakPlan, workdir: Path) -> dict[str, Any]:
    """Run the soak; returns the report data (see the module docstring)."""
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
        background.append(asyncio.create_task(_crashes(server, plan, zero, events)))
    if plan.stop_db_every_s and database is not None:
        background.append(asyncio.create_task(_outages(database, plan, zero, events)))
    try:
        placed = await _place_calls(corpus, plan, server, zero)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    if not server.running:
        await server.start()  # killed at the very end: let it finalise the records
    settled = await _settle(records_url, placed, plan.settle_s)
    for call in placed:
        call.join(settled.get(call.call_id), plan.concurrency)
    await server.stop()
    if database is not None:
        await asyncio.to_thread(database.remove)
    return _report(plan, placed, settled, sampler.samples, events, time.monotonic() - zero)


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


async def _crashes(server: ServerProcess, plan: SoakPlan, zero: float, events: list[Event]) -> None:
    assert plan.kill_server_every_s is not None
    while True:
        await asyncio.sleep(plan.kill_server_every_s)
        pid = server.pid
        await server.kill9()
        events.append(Event(round(time.monotonic() - zero, 1), f"kill -9 server (pid {pid})"))
        await asyncio.sleep(plan.restart_delay_s)
        await server.start()
        events.append(Event(round(time.monotonic() - zero, 1), f"server ready (pid {server.pid})"))


async def _outages(
    database: ThrowawayPostgres, plan: SoakPlan, zero: float, events: list[Event]
) -> None:
    assert plan.stop_db_every_s is not None
    while True:
        await asyncio.sleep(plan.stop_db_every_s)
        await asyncio.to_thread(database.stop)
        events.append(Event(round(time.monotonic() - zero, 1), "database stopped"))
        try:
            await asyncio.sleep(plan.db_down_s)
        finally:  # even when the soak ends during the outage
            await asyncio.shield(asyncio.to_thread(database.start))
            events.append(Event(round(time.monotonic() - zero, 1), "database started"))


async def _settle(url: str, placed: list[Placed], settle_s: float) -> dict[str, dict[str, Any]]:
    """The stored record of every call that reached the server, once they are final."""
    wanted = {c.call_id for c in placed if c.reached_server}
    deadline = time.monotonic() + settle_s
    found: dict[str, dict[str, Any]] = {}
    while True:
        found = await asyncio.to_thread(_stored, url, wanted)
        pending = [r for r in found.values() if r.get("outcome") in ("in_progress", None)]
        if (len(found) == len(wanted) and not pending) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(2.0)


def _stored(url: str, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Records of ``wanted`` calls: by call id, duplicates (``<id>#2``) under their id too."""
    with contextlib.closing(open_store(url, "soak-salt")) as store:
        calls = _all_calls(store)
    out: dict[str, dict[str, Any]] = {}
    for call in calls:
        data = call.to_dict()
        call_id = data.get("duplicate_of") or data["call_id"]
        if call_id in wanted:
            data["copies"] = out.get(call_id, {}).get("copies", 0) + 1
            out[call_id] = data
    return out


def _all_calls(store: RecordStore) -> list[Any]:
    return list(store.calls(0.0))


def _report(
    plan: SoakPlan,
    placed: list[Placed],
    stored: dict[str, dict[str, Any]],
    samples: list[dict[str, float]],
    events: list[Event],
    elapsed_s: float,
) -> dict[str, Any]:
    reached = [c for c in placed if c.reached_server]
    lost = sorted(c.call_id for c in reached if c.call_id not in stored)
    doubled = sorted(k for k, v in stored.items() if v.get("copies", 1) > 1)
    failures = Counter(
        (c.result.failure_kind or c.result.failure.split(":")[0] or "ok") if c.result else "ok"
        for c in reached
    )
    outcomes = Counter(stored[c.call_id]["outcome"] for c in reached if c.call_id in stored)
    tenths = []
    ordered = sorted(placed, key=lambda c: c.started_s)
    for part in _tenths(ordered):
        latencies = [
            t.latency_ms
            for c in part
            if c.result is not None
            for t in c.result.turns
            if t.latency_ms is not None
        ]
        tenths.append({"calls": len(part), **percentiles(latencies)})
    return {
        "plan": {k: v for k, v in asdict(plan).items() if k != "media_format"},
        "elapsed_s": round(elapsed_s, 1),
        "calls_placed": len(placed),
        "calls_reached_server": len(reached),
        "calls_unreachable": len(placed) - len(reached),
        "records_stored": len(stored),
        "records_lost": len(lost),
        "lost_call_ids": lost[:50],
        "records_duplicated": len(doubled),
        "outcomes": dict(outcomes),
        "failures": dict(failures),
        "rss_mib": _span(samples, "rss_mib"),
        "fds": _span(samples, "fds"),
        "p95_ms_by_tenth": [t.get("p95") for t in tenths],
        "latency_by_tenth": tenths,
        "events": [asdict(e) for e in events],
        "calls": [
            {
                "call_id": c.call_id,
                "corpus_call": c.spec.id,
                "started_s": c.started_s,
                "duration_s": round(c.duration_s, 1),
                "record": (stored.get(c.call_id) or {}).get("outcome"),
                "failure": c.result.failure if c.result else "",
            }
            for c in reached
        ],
        "samples": samples,
    }


def _span(samples: list[dict[str, float]], key: str) -> dict[str, float | None]:
    values = [s[key] for s in samples]
    return {
        "start": values[0] if values else None,
        "end": values[-1] if values else None,
        "max": max(values, default=None),
    }


def _tenths(items: list[Placed]) -> Iterator[list[Placed]]:
    size = max(1, -(-len(items) // 10))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_soak_report(data: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``soak.json`` and ``soak.png`` (p95 per tenth; RSS and fds over time, events)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "soak.json", out / "soak.png"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(9, 9))
    p95 = [v if v is not None else float("nan") for v in data["p95_ms_by_tenth"]]
    top.bar(range(1, len(p95) + 1), p95, color="#3b6ea5")
    top.axhline(2000, color="#b03a2e", linestyle="--", label="2 s")
    top.set(title="p95 voice-to-voice by tenth of the run", xlabel="tenth", ylabel="ms")
    top.legend()
    t = [s["t_s"] for s in data["samples"]]
    mid.plot(t, [s["rss_mib"] for s in data["samples"]], color="#2e7d32")
    mid.set(title="server RSS", xlabel="s", ylabel="MiB")
    low.plot(t, [s["fds"] for s in data["samples"]], color="#6a1b9a")
    low.set(title="server open file descriptors", xlabel="s", ylabel="fds")
    for event in data["events"]:
        if "kill" in event["what"] or "stopped" in event["what"]:
            for axis in (mid, low):
                axis.axvline(event["t_s"], color="#999", linestyle=":")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return json_path, png_path
