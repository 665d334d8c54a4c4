"""Calls per GPU: N simultaneous simulated calls against one callbot, Whisper on the GPU.

At each level N (default 1, 8, 32, 64, 128, 192), N callers dial at once (spread over
``--ramp-up``) and each plays real French recordings (Debian's asterisk-core-sounds-fr)
through the simulated Asterisk (chan_websocket, mu-law, real-time pace), waiting for
the bot's answers like a person. Measured per level: voice-to-voice latency (end of
the caller's speech to the first audible bot frame) p50/p95, Whisper's batch sizes,
GPU memory and utilisation (pynvml if installed, else ``nvidia-smi``, sampled twice a
second), and the server's CPU use.

The callbot (real pipeline, models loaded once) runs in this process; the callers run
in child processes so that their pacing does not compete with the server's event loop.

    .venv/bin/python benchmarks/gpu.py --out benchmarks/results/gpu.json
    nice -n 19 .venv/bin/python benchmarks/gpu.py --levels 1,2 --device cpu  # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOUNDS = Path("/usr/share/asterisk/sounds/fr_CA_f_June")
TURNS = ["check-number-dial-again", "agent-pass", "vm-password", "telephone-number"]
DIALPLAN = REPO / "tests/pipeline/dialplans/call-fr.yaml"
LEVELS = "1,8,32,64,128,192"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default=LEVELS, help=f"simultaneous calls (default {LEVELS})")
    parser.add_argument("--device", default="cuda", help="asr.device: cuda, cpu or auto")
    parser.add_argument("--compute-type", help="asr.compute_type (default: float16 on CUDA)")
    parser.add_argument("--model-dir", type=Path, help="asr.model_dir (default: whisper-base)")
    parser.add_argument("--max-batch", type=int, default=64, help="asr.max_batch")
    parser.add_argument("--workers", type=int, default=1, help="asr.workers")
    parser.add_argument("--batch-window-ms", type=float, default=20.0)
    parser.add_argument("--tts-cuda", action="store_true", help="tts.use_cuda (Piper voices)")
    parser.add_argument("--turns", type=int, default=len(TURNS), help="caller turns per call")
    parser.add_argument("--ramp-up", type=float, default=5.0, help="seconds to dial a level")
    parser.add_argument("--caller-processes", type=int, default=0, help="0: one per 24 calls")
    parser.add_argument("--out", type=Path, help="JSON report")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.levels = [int(n) for n in args.levels.split(",")]
    if not 1 <= args.turns <= len(TURNS) or min(args.levels) < 1:
        parser.error(f"--turns from 1 to {len(TURNS)}, levels from 1")
    return args


def server_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The callbot's settings for the run: Whisper on ``--device``, room for every call."""
    top = max(args.levels)
    asr: dict[str, Any] = {
        "device": args.device,
        "max_batch": args.max_batch,
        "workers": args.workers,
        "batch_window_ms": args.batch_window_ms,
        "max_pending": max(2 * args.max_batch, top),
    }
    if args.compute_type:
        asr["compute_type"] = args.compute_type
    if args.model_dir:
        asr["model_dir"] = str(args.model_dir)
    return {
        "dialplan": str(DIALPLAN),
        "server": {"host": "127.0.0.1", "port": 0, "audiosocket": False, "softphone": False},
        "security": {"max_concurrent_calls": top + 8},
        "records": {"enabled": False},
        "asr": asr,
        "tts": {"use_cuda": args.tts_cuda},
    }


def place_calls(
    media_url: str, count: int, turns: int, ramp_up_s: float, first: int, level: int
) -> list[dict[str, Any]]:
    """A child process: callers ``first`` to ``first + count`` of a level of ``level``
    calls, each dialling at its place on the ramp. Returns one dict per call."""
    from callbot.audio.formats import ULAW_8K
    from callbot.simulator.run import Target, open_peer, simulate
    from callbot.simulator.script import speech_turn

    script = [speech_turn(SOUNDS / f"{name}.wav") for name in TURNS[:turns]]

    async def one(index: int, spread_s: float) -> dict[str, Any]:
        await asyncio.sleep(spread_s)
        peer = open_peer(Target(media_url=media_url), "chan_websocket", ULAW_8K)
        try:
            trace = await simulate(peer, script)
        except Exception as exc:  # a failed call is a result, not a crash
            return {"call_id": peer.call_id, "error": f"{type(exc).__name__}: {exc}"}
        return {
            "call_id": trace.call_id,
            "error": None,
            "latencies_ms": [t.latency_ms for t in trace.turns],
        }

    async def run() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(one(i, ramp_up_s * (first + i) / level) for i in range(count))
        )

    return asyncio.run(run())


class GpuSampler:
    """GPU memory (MiB) and utilisation (%) every ``period_s``; nothing without a GPU."""

    def __init__(self, period_s: float = 0.5) -> None:
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self._nvml: Any = None
        try:
            import pynvml  # optional: nvidia-ml-py

            pynvml.nvmlInit()
            self._nvml = pynvml
        except Exception:
            self._nvml = None
        self.available = self._nvml is not None or shutil.which("nvidia-smi") is not None

    def read(self) -> tuple[float, float] | None:
        """(memory used MiB, utilisation %) summed over the GPUs, or None."""
        if self._nvml is not None:
            nvml = self._nvml
            used = util = 0.0
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                used += nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
                util += nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            return used, util
        if not self.available:
            return None
        query = "--query-gpu=memory.used,utilization.gpu"
        command = ["nvidia-smi", query, "--format=csv,noheader,nounits"]
        try:
            lines = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
            rows = [[float(v) for v in line.split(",")] for line in lines.strip().splitlines()]
        except (OSError, ValueError, subprocess.SubprocessError):
            return None
        return sum(r[0] for r in rows), sum(r[1] for r in rows)

    async def run(self) -> None:
        while True:
            sample = await asyncio.to_thread(self.read)
            if sample is not None:
                self.samples.append(sample)
            await asyncio.sleep(self.period_s)

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"memory_mib_max": None, "util_percent_mean": None, "util_percent_max": None}
        return {
            "memory_mib_max": round(max(s[0] for s in self.samples)),
            "util_percent_mean": round(statistics.fmean(s[1] for s in self.samples), 1),
            "util_percent_max": round(max(s[1] for s in self.samples), 1),
        }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarise_level(
    calls: int, results: list[dict[str, Any]], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """One level's figures from the callers' results and the server's call records."""
    failed = [r for r in results if r["error"]]
    heard = [ms for r in results if not r["error"] for ms in r["latencies_ms"]]
    latencies = [ms for ms in heard if ms is not None]
    server_turns = [t for record in records for t in record.get("turns", [])]
    asr_ms = [1000 * t["asr_s"] for t in server_turns if t.get("asr_s") is not None]
    return {
        "calls": calls,
        "failed_calls": len(failed),
        "errors": sorted({r["error"] for r in failed})[:5],
        "turns_measured": len(latencies),
        "turns_unanswered": len(heard) - len(latencies),
        "voice_to_voice_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies, default=None),
        },
        "asr_ms": {"p50": percentile(asr_ms, 0.5), "p95": percentile(asr_ms, 0.95)},
    }


def table(levels: list[dict[str, Any]]) -> str:
    """The levels as a Markdown table (for benchmarks/README.md)."""
    lines = [
        "| calls | failed | turns | p50 | p95 | ASR p95 | GPU memory | GPU util mean / max |"
        " server CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    for level in levels:
        v2v, gpu = level["voice_to_voice_ms"], level["gpu"]
        memory = "-" if gpu["memory_mib_max"] is None else f"{gpu['memory_mib_max']} MiB"
        util = (
            "-"
            if gpu["util_percent_mean"] is None
            else f"{gpu['util_percent_mean']:.0f} / {gpu['util_percent_max']:.0f} %"
        )
        lines.append(
            f"| {level['calls']} | {level['failed_calls']} | {level['turns_measured']}"
            f" ({level['turns_unanswered']} unanswered) | {ms(v2v['p50'])} | {ms(v2v['p95'])}"
            f" | {ms(level['asr_ms']['p95'])} | {memory} | {util}"
            f" | {level['server_cpu_percent']:.0f} % |"
        )
    return "\n".join(lines)


def write_report(out: Path, report: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))


@contextlib.contextmanager
def cpu_meter() -> Iterator[dict[str, float]]:
    """This process's CPU use over the block, in % of one core."""
    meter: dict[str, float] = {}
    wall, usage = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    try:
        yield meter
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
        meter["percent"] = 100 * cpu / max(1e-9, time.monotonic() - wall)


async def run_level(bot: Any, pool: ProcessPoolExecutor, calls: int, args: Any) -> dict[str, Any]:
    processes = args.caller_processes or math.ceil(calls / 24)
    shares = [calls // processes + (i < calls % processes) for i in range(processes)]
    firsts = [sum(shares[:i]) for i in range(processes)]
    sampler = GpuSampler()
    sampling = asyncio.create_task(sampler.run())
    loop = asyncio.get_running_loop()
    with cpu_meter() as cpu:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool, place_calls, bot.media_url, n, args.turns, args.ramp_up, first, calls
                )
                for n, first in zip(shares, firsts, strict=True)
                if n
            )
        )
    sampling.cancel()
    results = [r for part in parts for r in part]
    ids = {r["call_id"] for r in results}
    await asyncio.sleep(0.5)  # the server closes its side of the last calls
    records = [r for r in bot.records if r.get("call_id") in ids]
    level = summarise_level(calls, results, records)
    return {**level, "gpu": sampler.summary(), "server_cpu_percent": round(cpu["percent"])}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from callbot.app.service import Callbot, Engines
    from callbot.config import load_settings

    settings = load_settings(env={}, overrides=server_overrides(args))
    started = time.monotonic()
    engines = await asyncio.to_thread(Engines.load, settings)
    load_s = time.monotonic() - started
    bot = await Callbot.start(settings, engines=engines)
    levels: list[dict[str, Any]] = []
    largest = max(args.caller_processes or math.ceil(n / 24) for n in args.levels)
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(largest, mp_context=spawn) as pool:
            for calls in args.levels:
                level = await run_level(bot, pool, calls, args)
                levels.append(level)
                print(table([level]).splitlines()[-1], flush=True)
    finally:
        await bot.stop()
        engines.asr.close()
    asr = engines.asr
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {gpu_name() or 'no GPU'}",
        "command": " ".join(["python benchmarks/gpu.py", *args.argv]),
        "asr": f"{settings.asr.model_dir.name} {asr.device}/{asr.compute_type}, beam "
        f"{settings.asr.beam_size}, max_batch {settings.asr.max_batch}, "
        f"workers {settings.asr.workers}",
        "models_load_s": round(load_s, 2),
        "levels": levels,
    }
    if args.out is not None:
        write_report(args.out, report)
    print(table(levels))
    return report


def gpu_name() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    command = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
    try:
        names = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return ", ".join(names.split("\n")).strip(", ") or None


if __name__ == "__main__":
    from callbot.logs import setup_logging

    setup_logging("WARNING")
    asyncio.run(main(parse_args()))
