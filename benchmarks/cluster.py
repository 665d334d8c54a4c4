"""Calls per worker: a cluster (one ``callbot control``, N ``callbot worker``) under load.

Everything is real but Asterisk: a throw-away PostgreSQL, the control and worker
processes as ``callbot control`` / ``callbot worker`` run them, and the simulated
Asterisk (ARI + one chan_websocket ``websocket_client`` connection per worker) in this
process. At each level L, L callers dial at once and each plays real French recordings
(Debian's asterisk-core-sounds-fr, slin16, real-time pace) into the media leg the
control placed on a worker, waiting for the bot's answers like a person; each caller
places ``--calls`` calls in a row. Measured: voice-to-voice latency (end of the caller's
speech to the first bot audio) p50/p95 per level and per worker, and failed calls.
A level passes at p95 <= ``--p95-ms`` with no failed call; the capacity of a cluster is
its last passing level. Levels stop at the first failing one.

    .venv/bin/python benchmarks/cluster.py --workers 1,2 --out benchmarks/results/cluster.json

Writes the JSON report and, beside it, a PNG (p95 per level, one line per cluster size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SOUNDS = Path("/usr/share/asterisk/sounds/fr_CA_f_June")
TURNS = ["check-number-dial-again", "agent-pass", "vm-password", "telephone-number"]
DIALPLAN = REPO / "tests/pipeline/dialplans/call-fr.yaml"
PASSWORD = "bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="cluster sizes to measure (1,2)")
    parser.add_argument("--levels", default="1,2,3,4,5,6,7,8,10,12", help="simultaneous calls")
    parser.add_argument("--calls", type=int, default=2, help="calls each caller places")
    parser.add_argument("--p95-ms", type=float, default=2000.0, help="pass mark, p95")
    parser.add_argument("--worker-limit", type=int, default=16, help="each worker's call limit")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/cluster.json")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in args.workers.split(",")]
    args.levels = [int(n) for n in args.levels.split(",")]
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """The cluster's processes, started as a deployment runs them, logs in ``tmp``."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def start(self, role: str, name: str, **extra: str) -> None:
        port = self.ports[name] = free_port()
        env = {
            **os.environ,
            **self.env,
            **extra,
            "CALLBOT_CLUSTER_NODE_NAME": name,
            "CALLBOT_SERVER_PORT": str(port),
            "CALLBOT_DATA_DIR": str(self.tmp / name),
        }
        log = (self.tmp / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "callbot", role], env=env, cwd=REPO, stdout=log, stderr=log
        )

    def stop(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()


async def wait_ready(url: str, names: list[str], timeout_s: float = 180.0) -> None:
    from callbot.cluster import db
    from callbot.cluster.nodes import list_nodes

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        conn = await db.connect(url)
        async with conn:
            rows = {n.node: n for n in await list_nodes(conn)}
        if all(getattr(rows.get(n), "ready", False) for n in names) and any(
            r.leader for r in rows.values()
        ):
            await asyncio.sleep(1.5)  # the control's view is a heartbeat old
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"cluster not ready after {timeout_s:.0f} s: {sorted(rows)}")


async def one_call(sim: Any, dialer: Any, script: list[Any]) -> dict[str, Any]:
    from callbot.simulator.script import run_script

    caller = sim.place_call("0612345678", ["3949"])
    try:
        deadline = time.monotonic() + 15
        media = None
        while media is None:
            if time.monotonic() > deadline:
                return {"worker": None, "error": "no media leg in 15 s", "latencies_ms": []}
            bridge = sim.bridges.get(sim.channels[caller].bridge_id or "")
            others = [c for c in bridge.channels if c != caller] if bridge else []
            media = others[0] if others and others[0] in dialer.peers else None
            await asyncio.sleep(0.02)
        worker = sim.channels[media].external_media_params["external_host"]
        trace = await run_script(dialer.peers[media], script)
        latencies = [t.latency_ms for t in trace.turns]
        error = None if all(ms is not None for ms in latencies) else "a turn got no answer"
        return {"worker": worker, "error": error, "latencies_ms": latencies}
    except Exception as exc:  # a failed call is a result
        return {"worker": None, "error": f"{type(exc).__name__}: {exc}", "latencies_ms": []}
    finally:
        if not sim.channels[caller].hung_up:
            sim.hangup_channel(caller)


def figures(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50": None, "p95": None}
    values = np.array(latencies)
    return {"p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1)}  # fmt: skip


async def run_level(sim: Any, dialer: Any, level: int, calls: int) -> dict[str, Any]:
    from callbot.simulator.script import speech_turn

    script = [speech_turn(SOUNDS / f"{name}.wav") for name in TURNS]

    async def caller(index: int) -> list[dict[str, Any]]:
        await asyncio.sleep(index * 0.3)
        return [await one_call(sim, dialer, script) for _ in range(calls)]

    started = time.monotonic()
    results = [r for batch in await asyncio.gather(*map(caller, range(level))) for r in batch]
    per_worker: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        if r["worker"]:
            counts[r["worker"]] += 1
            per_worker[r["worker"]] += [ms for ms in r["latencies_ms"] if ms is not None]
    every = [ms for r in results for ms in r["latencies_ms"] if ms is not None]
    return {
        "level": level,
        "calls": len(results),
        "failed_calls": sum(1 for r in results if r["error"]),
        "errors": sorted({r["error"] for r in results if r["error"]})[:5],
        "voice_to_voice_ms": figures(every),
        "per_worker": {
            w: {"calls": counts[w], "voice_to_voice_ms": figures(per_worker[w])}
            for w in sorted(counts)
        },
        "seconds": round(time.monotonic() - started, 1),
    }


async def measure(workers: int, args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    import psycopg

    from callbot.simulator.ari_server import SimulatedAri
    from callbot.simulator.external_media import ExternalMediaDialer
    from callbot.simulator.websocket_client import WebsocketClientConnection

    name = f"cluster_{workers}_{os.getpid()}"
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{base_url}/{name}"
    from callbot.cluster import db

    await db.prepare(url)
    names = [f"w{i}" for i in range(1, workers + 1)]
    sim = SimulatedAri(password=PASSWORD, websocket_connections=[f"callbot-{n}" for n in names])
    await sim.start()
    connections: dict[str, WebsocketClientConnection] = {}
    dialer = ExternalMediaDialer(sim, connections)
    sim.on_external_media = dialer
    env = {
        "CALLBOT_RECORDS_URL": url,
        "CALLBOT_DIALPLAN": str(DIALPLAN),
        "CALLBOT_SERVER_AUDIOSOCKET": "false",
        "CALLBOT_SERVER_SOFTPHONE": "false",
        "CALLBOT_SECURITY_MAX_CONCURRENT_CALLS": str(args.worker_limit),
        "CALLBOT_ARI_URL": f"http://127.0.0.1:{sim.port}",
        "CALLBOT_ARI_PASSWORD": PASSWORD,
        "CALLBOT_DIALPLAN_RELOAD_S": "0",
        "CALLBOT_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory(prefix="callbot-cluster-") as tmp:
        processes = Processes(Path(tmp), env)
        try:
            processes.start("control", "control")
            for n in names:
                processes.start("worker", n, CALLBOT_CLUSTER_WEBSOCKET_CONNECTION=f"callbot-{n}")
                connections[f"callbot-{n}"] = WebsocketClientConnection(
                    f"callbot-{n}", f"ws://127.0.0.1:{processes.ports[n]}/media"
                )
            await wait_ready(url, names)
            levels = []
            for level in args.levels:
                result = await run_level(sim, dialer, level, args.calls)
                p95 = result["voice_to_voice_ms"]["p95"]
                result["passed"] = (
                    not result["failed_calls"] and p95 is not None and (p95 <= args.p95_ms)
                )
                levels.append(result)
                print(
                    f"{workers} worker(s), {level:2d} calls: p50 "
                    f"{result['voice_to_voice_ms']['p50']} p95 {p95} ms, failed "
                    f"{result['failed_calls']}/{result['calls']}, per worker "
                    + ", ".join(
                        f"{w} {v['calls']} calls p95 {v['voice_to_voice_ms']['p95']}"
                        for w, v in result["per_worker"].items()
                    ),
                    flush=True,
                )
                if not result["passed"]:
                    break
        finally:
            processes.stop()
            await dialer.aclose()
            await sim.stop()
    passing = [lv["level"] for lv in levels if lv["passed"]]
    return {"workers": workers, "capacity": max(passing, default=0), "levels": levels}


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in report["clusters"]:
        levels = [lv["level"] for lv in run["levels"]]
        p95 = [lv["voice_to_voice_ms"]["p95"] or np.nan for lv in run["levels"]]
        ax.plot(levels, p95, marker="o", label=f"{run['workers']} worker(s)")
    ax.axhline(report["p95_ms"], color="grey", linestyle="--", label="pass mark")
    ax.set_xlabel("simultaneous calls")
    ax.set_ylabel("voice-to-voice p95 (ms)")
    ax.set_title(f"callbot cluster on {report['machine']['cpus']} cores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from callbot.loadtest.postgres import ThrowawayPostgres

    server = ThrowawayPostgres()
    server.start()
    try:
        clusters = [await measure(w, args, server.url) for w in args.workers]
    finally:
        server.remove()
    return {
        "command": " ".join([sys.executable, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "p95_ms": args.p95_ms,
        "clusters": clusters,
    }


if __name__ == "__main__":
    arguments = parse_args()
    report = asyncio.run(main(arguments))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2))
    plot(report, arguments.out.with_suffix(".png"))
    for run in report["clusters"]:
        print(f"{run['workers']} worker(s): capacity {run['capacity']} calls at p95 <= "
              f"{report['p95_ms']:.0f} ms")  # fmt: skip
