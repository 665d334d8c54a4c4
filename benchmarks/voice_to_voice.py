"""Voice-to-voice latency of callbot on this machine, one call at a time.

Starts an in-process callbot (real Whisper, real voice, real websockets on loopback),
replays real French recordings through the simulated Asterisk (chan_websocket, mu-law,
real-time pace) and measures, for every caller turn, the time from the end of the
caller's speech to the first audible bot frame played back — as a caller hears it.

    .venv/bin/python benchmarks/voice_to_voice.py --calls 5 --out benchmarks/results/latency.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

from callbot.app.service import Callbot, Engines
from callbot.audio.formats import ULAW_8K
from callbot.config import load_settings
from callbot.logs import setup_logging
from callbot.simulator.run import Target, merge, open_peer, simulate, wait_for_record
from callbot.simulator.script import speech_turn

SOUNDS = Path("/usr/share/asterisk/sounds/fr_CA_f_June")
TURNS = ["check-number-dial-again", "agent-pass", "vm-password", "telephone-number"]
DIALPLAN = Path(__file__).resolve().parent.parent / "tests/pipeline/dialplans/call-fr.yaml"


def rss_mib() -> tuple[float, float]:
    """Current and peak resident memory of this process (MiB)."""
    status = Path("/proc/self/status").read_text()
    values = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return values["VmRSS"], values["VmHWM"]


def write_report(out: Path, report: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def main(calls: int, out: Path | None) -> dict:
    settings = load_settings(
        overrides={"dialplan": str(DIALPLAN), "server": {"port": 0, "audiosocket": False}}
    )
    started = time.monotonic()
    engines = await asyncio.to_thread(Engines.load, settings)
    load_s = time.monotonic() - started
    rss_loaded, _ = rss_mib()
    bot = await Callbot.start(settings, engines=engines)
    turns = [speech_turn(SOUNDS / f"{name}.wav") for name in TURNS]
    latencies: list[float] = []
    greetings: list[float] = []
    records = []
    try:
        for index in range(calls):
            peer = open_peer(Target(media_url=bot.media_url), "chan_websocket", ULAW_8K)
            trace = await simulate(peer, turns)
            record = merge(trace, await wait_for_record(bot.records, trace.call_id), peer)
            records.append(record)
            latencies += [t["latency_ms"] for t in record["turns"] if t["latency_ms"] is not None]
            if record["greeting_ms"] is not None:
                greetings.append(record["greeting_ms"])
            print(
                f"call {index + 1}/{calls}: "
                + ", ".join(f"{t['intent']} {t['latency_ms']} ms" for t in record["turns"]),
                flush=True,
            )
    finally:
        await bot.stop()
    rss_now, rss_peak = rss_mib()
    asr_ms = [t["asr_ms"] for r in records for t in r["turns"] if t["asr_ms"] is not None]
    report = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "command": f"python benchmarks/voice_to_voice.py --calls {calls}",
        "asr": f"whisper base {engines.asr.device}/{engines.asr.compute_type}"
        f", beam {settings.asr.beam_size}",
        "voice": records[0]["voice"] if records else None,
        "calls": calls,
        "turns_measured": len(latencies),
        "turns_unanswered": sum(1 for r in records for t in r["turns"] if t["latency_ms"] is None),
        "voice_to_voice_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "mean": round(statistics.fmean(latencies), 1),
            "max": max(latencies),
        },
        "asr_ms_p50": percentile(asr_ms, 0.5) if asr_ms else None,
        "greeting_ms_p50": percentile(greetings, 0.5) if greetings else None,
        "models_load_s": round(load_s, 2),
        "rss_mib": {
            "models_loaded": round(rss_loaded),
            "end": round(rss_now),
            "peak": round(rss_peak),
        },
        "note": "RSS is the whole process: server with models loaded plus the simulated callers.",
        "records": records,
    }
    if out is not None:
        write_report(out, report)
    summary = {k: v for k, v in report.items() if k != "records"}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    setup_logging("WARNING")
    asyncio.run(main(args.calls, args.out))
