"""Calls per worker: ``callbot loadtest --asterisk`` against a control and N workers.

Everything is real but Asterisk: a throw-away PostgreSQL, ``callbot control`` and N
``callbot worker`` processes as a deployment runs them, and ``callbot loadtest`` in its
own process playing the cluster's Asterisk (ARI for the control, one ``websocket_client``
connection per worker), replaying the load-test corpus with ``--find-capacity``: 1, 2,
3... simultaneous calls until p95 voice-to-voice passes ``--p95-ms`` or a call fails.
Per level and per worker: calls and latency (the loadtest's own report, one folder per
cluster size). Then the figures side by side, a JSON and a PNG.

    .venv/bin/python benchmarks/cluster.py --workers 1,2 --out benchmarks/results/cluster.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-ari"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="cluster sizes to measure (1,2)")
    parser.add_argument("--max-concurrency", type=int, default=12)
    parser.add_argument("--calls-per-level", type=int, default=2)
    parser.add_argument("--p95-ms", type=float, default=2000.0, help="pass mark, p95")
    parser.add_argument("--worker-limit", type=int, default=16, help="each worker's call limit")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/cluster.json")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in args.workers.split(",")]
    return args


def start(role: str, name: str, env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "callbot", role],
        env={**os.environ, **env, "CALLBOT_CLUSTER_NODE_NAME": name},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(url: str, names: list[str], timeout_s: float = 180.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT node, ready FROM cluster_nodes").fetchall()
        if all(dict(rows).get(n) for n in names):
            return
        time.sleep(0.5)
    raise RuntimeError(f"workers not ready after {timeout_s:.0f} s: {rows}")


def measure(workers: int, args: argparse.Namespace, base_url: str, tmp: Path) -> dict[str, Any]:
    import psycopg

    from callbot.cluster import db
    from callbot.loadtest.postgres import free_port

    name = f"cluster_{workers}_{os.getpid()}"
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{base_url}/{name}"
    asyncio.run(db.prepare(url))
    ari_port = free_port()
    common = {
        "CALLBOT_RECORDS_URL": url,
        "CALLBOT_DIALPLAN": str(REPO / "audio/corpus/dialplan.yaml"),
        "CALLBOT_SERVER_AUDIOSOCKET": "false",
        "CALLBOT_SERVER_SOFTPHONE": "false",
        "CALLBOT_SECURITY_MAX_CONCURRENT_CALLS": str(args.worker_limit),
        "CALLBOT_ARI_URL": f"http://127.0.0.1:{ari_port}",
        "CALLBOT_ARI_PASSWORD": PASSWORD,
        "CALLBOT_DIALPLAN_RELOAD_S": "0",
        "CALLBOT_LOG_LEVEL": "WARNING",
    }
    names = [f"w{i}" for i in range(1, workers + 1)]
    connections = []
    processes = [
        start("control", "control", {**common, "CALLBOT_SERVER_PORT": str(free_port())}, tmp)
    ]
    for n in names:
        port = free_port()
        env = {
            **common,
            "CALLBOT_SERVER_PORT": str(port),
            "CALLBOT_DATA_DIR": str(tmp / n),
            "CALLBOT_CLUSTER_WEBSOCKET_CONNECTION": f"callbot-{n}",
        }
        processes.append(start("worker", n, env, tmp))
        connections += ["--connection", f"callbot-{n}=ws://127.0.0.1:{port}/media"]
    out = args.out.parent / f"cluster-{workers}w"
    try:
        wait_ready(url, names)
        command = [
            sys.executable, "-m", "callbot", "loadtest", "--asterisk", str(ari_port),
            *connections, "--records-url", url, "--find-capacity",
            "--max-concurrency", str(args.max_concurrency),
            "--calls-per-level", str(args.calls_per_level), "--p95-ms", str(args.p95_ms),
            "--no-progress", "--out", str(out),
        ]  # fmt: skip
        print(f"--- {workers} worker(s): {' '.join(command[2:])}", flush=True)
        done = subprocess.run(
            command,
            env={**os.environ, "CALLBOT_LOADTEST_ARI_PASSWORD": PASSWORD},
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        print(done.stderr[-3000:], flush=True)
    finally:
        stop(processes)
    data = json.loads((out / "results.json").read_text())
    return {"workers": workers, "report": str(out), **_figures(data)}


def _figures(data: dict[str, Any]) -> dict[str, Any]:
    levels = []
    for level in data["levels"]:
        s = level["summary"]
        levels.append(
            {
                "concurrency": level["concurrency"],
                "passed": level.get("passed"),
                "calls": s["calls"],
                "failed_calls": s["failed_calls"],
                "voice_to_voice_ms": s["voice_to_voice_ms"],
                "per_worker": s.get("per_worker", {}),
            }
        )
    return {"capacity": data["capacity"]["largest_passing"] or 0, "levels": levels}


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in report["clusters"]:
        x = [lv["concurrency"] for lv in run["levels"]]
        y = [lv["voice_to_voice_ms"]["p95"] for lv in run["levels"]]
        ax.plot(x, y, marker="o", label=f"{run['workers']} worker(s): {run['capacity']} calls")
    ax.axhline(report["p95_ms"], color="grey", linestyle="--", label="pass mark")
    ax.set_xlabel("simultaneous calls")
    ax.set_ylabel("voice-to-voice p95 (ms)")
    ax.set_title(f"callbot cluster, everything on {report['machine']['cpus']} cores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(args: argparse.Namespace) -> dict[str, Any]:
    from callbot.loadtest.postgres import ThrowawayPostgres

    server = ThrowawayPostgres()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="callbot-cluster-") as tmp:
            clusters = [measure(w, args, server.url, Path(tmp)) for w in args.workers]
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
    report = main(arguments)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2))
    plot(report, arguments.out.with_suffix(".png"))
    for run in report["clusters"]:
        print(f"{run['workers']} worker(s): capacity {run['capacity']} calls at p95 <= "
              f"{report['p95_ms']:.0f} ms ({run['report']})")  # fmt: skip
