"""``callbot loadtest``: replay the corpus against a callbot, report latency and capacity.

:func:`register` adds the subcommand to the main parser; ``args.func`` returns the exit
status: 0 when the run met its targets (no failed call; with ``--find-capacity``, at
least one level passed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.audio.formats import AudioFormat
from callbot.config import load_settings
from callbot.dialplan import Transfer
from callbot.errors import ConfigError, MissingExtra
from callbot.handover.context import HandoverContext
from callbot.loadtest import require_extra
from callbot.loadtest.build import build_corpus
from callbot.loadtest.corpus import Corpus, load_corpus
from callbot.loadtest.metrics import CallResult
from callbot.loadtest.runner import (
    CapacityTarget,
    HttpRecords,
    LoadPlan,
    LocalRecords,
    RecordSource,
    find_capacity,
    largest_passing,
    run_load,
)
from callbot.loadtest.sampler import ProcessSampler, Sample
from callbot.media.types import CallInfo
from callbot.simulator.run import Target
from callbot.simulator.script import CallerBehaviour

if TYPE_CHECKING:
    from tqdm import tqdm

    from callbot.loadtest.asterisk_side import AsteriskSide

DEFAULT_MANIFEST = Path("audio/corpus/manifest.yaml")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``loadtest``."""
    p = subparsers.add_parser(
        "loadtest",
        help="replay recorded calls concurrently; latency, accuracy, capacity report",
        description="Replays the corpus as Asterisk would (chan_websocket or AudioSocket), "
        "at real-time pace, and writes results.json and report.html.",
    )
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="corpus manifest")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", default="http://127.0.0.1:8080", help="callbot HTTP base URL")
    where.add_argument(
        "--embedded", action="store_true", help="start a callbot in this process (no server)"
    )
    where.add_argument(
        "--asterisk",
        type=int,
        metavar="PORT",
        help="be the Asterisk of a cluster: serve ARI on 127.0.0.1:PORT for callbot control "
        "(password from $CALLBOT_LOADTEST_ARI_PASSWORD) and dial the workers it chooses",
    )
    p.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="NAME=URI",
        help="--asterisk: a worker's websocket_client connection (repeat per worker)",
    )
    p.add_argument(
        "--records-url", help="--asterisk: the cluster's records database (postgresql://...)"
    )
    p.add_argument("--audiosocket", metavar="HOST:PORT", help="AudioSocket address of the callbot")
    p.add_argument(
        "--transport", choices=["chan_websocket", "audiosocket"], default="chan_websocket"
    )
    p.add_argument("--format", default="ulaw", help="ulaw, alaw, slin or slin16")
    p.add_argument("--concurrency", type=int, default=1, help="simultaneous calls")
    p.add_argument("--calls", type=int, help="calls to place (default: each corpus call once)")
    p.add_argument("--duration", type=float, help="seconds to keep dialling (instead of --calls)")
    p.add_argument("--ramp-up", type=float, default=0.0, help="seconds to start all callers")
    p.add_argument(
        "--find-capacity", action="store_true", help="raise concurrency 1, 2, 3... to the target"
    )
    p.add_argument("--p95-ms", type=float, default=2000.0, help="capacity target (default 2000)")
    p.add_argument("--max-error-rate", type=float, default=0.0, help="capacity target (0)")
    p.add_argument("--max-concurrency", type=int, default=8)
    p.add_argument(
        "--calls-per-level", type=int, default=1, help="calls per concurrent caller per level"
    )
    p.add_argument("--pid", type=int, help="server process to sample (default: none, or self)")
    p.add_argument(
        "--media-user",
        help="--url: Basic user for /media (password from $CALLBOT_LOADTEST_MEDIA_PASSWORD)",
    )
    p.add_argument(
        "--ops-user",
        help="--url: Basic user for /api/calls (password from $CALLBOT_LOADTEST_OPS_PASSWORD)",
    )
    p.add_argument("--models-dir", type=Path, help="--embedded: models (default ./models)")
    p.add_argument("--out", type=Path, help="output folder (default reports/loadtest-<time>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_loadtest)


def cmd_loadtest(args: argparse.Namespace) -> int:
    require_extra()
    from callbot.loadtest.report import write_report  # matplotlib: a second to import

    data = asyncio.run(run_from_args(args))
    out = args.out or Path("reports") / time.strftime("loadtest-%Y%m%d-%H%M%S")
    json_path, html_path = write_report(data, out)
    print(_summary_line(data), file=sys.stderr)
    print(f"results: {json_path}\nreport:  {html_path}", file=sys.stderr)
    if "capacity" in data:
        return 0 if data["capacity"]["largest_passing"] else 1
    return 0 if all(lv["summary"]["failed_calls"] == 0 for lv in data["levels"]) else 1


@dataclass
class _Server:
    target: Target | AsteriskSide
    records: RecordSource
    pid: int | None
    info: dict[str, Any]


async def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Build the corpus if needed, run, and return the report data."""
    corpus = load_corpus(args.manifest)
    await asyncio.to_thread(build_corpus, corpus)
    plan = LoadPlan(
        concurrency=args.concurrency,
        calls=args.calls,
        duration_s=args.duration,
        ramp_up_s=args.ramp_up,
        transport=args.transport,
        media_format=AudioFormat.from_asterisk_name(args.format),
        behaviour=CallerBehaviour(hangup_wait_s=5.0),
    )
    goal = CapacityTarget(
        args.p95_ms, args.max_error_rate, args.max_concurrency, args.calls_per_level
    )
    async with _server(args, corpus) as server:
        sampler = ProcessSampler(server.pid) if server.pid is not None else None
        async with contextlib.AsyncExitStack() as stack:
            if sampler is not None:
                await stack.enter_async_context(sampler)
            bars = _Bars(not args.no_progress)
            if args.find_capacity:
                levels = await find_capacity(
                    corpus, server.target, plan, server.records, goal, on_level=bars.level
                )
            else:
                total = plan.calls or (None if plan.duration_s else len(corpus.calls))
                levels = [
                    await run_load(
                        corpus,
                        server.target,
                        plan,
                        server.records,
                        on_call=bars.level(plan.concurrency, total),
                    )
                ]
            bars.close()
    samples: list[Sample] = sampler.samples if sampler is not None else []
    meta = _meta(args, corpus, plan, server.info)
    capacity = None
    if args.find_capacity:
        capacity = {"p95_ms": goal.p95_ms, "max_error_rate": goal.max_error_rate}
    from callbot.loadtest.report import build_report

    return build_report(levels, samples, meta, capacity=capacity)


@contextlib.asynccontextmanager
async def _server(args: argparse.Namespace, corpus: Corpus) -> AsyncIterator[_Server]:
    if args.asterisk is not None:
        async with _cluster(args) as server:
            yield server
        return
    if not args.embedded:
        audiosocket = None
        if args.audiosocket:
            host, _, port = args.audiosocket.rpartition(":")
            audiosocket = (host, int(port))
        media_url = args.url.replace("http", "ws", 1).rstrip("/") + "/media"
        media_password = os.environ.get("CALLBOT_LOADTEST_MEDIA_PASSWORD")
        target = Target(
            media_url=media_url,
            audiosocket=audiosocket,
            username=args.media_user,
            password=media_password if args.media_user else None,
        )
        ops = None
        if args.ops_user:
            ops = (args.ops_user, os.environ.get("CALLBOT_LOADTEST_OPS_PASSWORD", ""))
        yield _Server(target, HttpRecords(args.url, ops), args.pid, {"server": args.url})
        return
    from callbot.app.service import Callbot

    overrides: dict[str, Any] = {
        "dialplan": str(corpus.dialplan_path),
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "softphone": False,
            "audiosocket": args.transport == "audiosocket",
            "audiosocket_port": 0,
        },
    }
    if args.models_dir is not None:
        overrides["models_dir"] = str(args.models_dir)
    settings = load_settings(getattr(args, "config", None), overrides=overrides)
    bot = await Callbot.start(settings, control=_QueueAcceptsAll())
    try:
        port = bot.audiosocket_port
        target = Target(
            media_url=bot.media_url,
            audiosocket=("127.0.0.1", port) if port else None,
            username=settings.server.media_username,
            password=settings.server.media_password,
        )
        info = {"server": "embedded (this process)", **bot.web.info}
        yield _Server(target, LocalRecords(bot.records), args.pid or os.getpid(), info)
    finally:
        await bot.stop()


@contextlib.asynccontextmanager
async def _cluster(args: argparse.Namespace) -> AsyncIterator[_Server]:
    """The tester as the cluster's Asterisk (:mod:`callbot.loadtest.asterisk_side`)."""
    from callbot.loadtest.asterisk_side import AsteriskSide, StoreRecords

    connections = dict(item.split("=", 1) for item in args.connection if "=" in item)
    if not connections or len(connections) != len(args.connection):
        raise ConfigError("--asterisk needs --connection NAME=ws://host:port/media per worker")
    if not args.records_url:
        raise ConfigError("--asterisk needs --records-url (the cluster's records database)")
    password = os.environ.get("CALLBOT_LOADTEST_ARI_PASSWORD", "")
    if not password:
        raise ConfigError("set CALLBOT_LOADTEST_ARI_PASSWORD (the control's ari.password)")
    side = await AsteriskSide.start(args.asterisk, password, connections)
    records = StoreRecords(args.records_url)
    try:
        await side.wait_for_app()
        info = {"server": f"cluster (ARI on 127.0.0.1:{args.asterisk})", "workers": connections}
        yield _Server(side, records, args.pid, info)
    finally:
        records.close()
        await side.stop()


class _QueueAcceptsAll:
    """Embedded mode's stand-in for ARI: every transfer reaches its queue, as on a
    healthy Asterisk, so a transfer ends the call the way it would in production."""

    async def transfer(
        self, info: CallInfo, transfer: Transfer, context: HandoverContext | None = None
    ) -> bool:
        return True


class _Bars:
    """One tqdm bar per run or capacity level, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: tqdm[Any] | None = None
        self._failed = 0

    def level(self, concurrency: int, total: int | None = None) -> Any:
        self.close()
        if not self.enabled:
            return None
        self._failed = 0
        try:  # here, not at the top: `callbot` imports this module for every command
            from tqdm import tqdm
        except ModuleNotFoundError as exc:
            raise MissingExtra("tqdm", "loadtest") from exc
        self._bar = tqdm(
            total=total if total is not None else concurrency,
            desc=f"{concurrency} concurrent",
            unit="call",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        return self._update

    def _update(self, result: CallResult, active: int) -> None:
        if self._bar is None:
            return
        self._failed += result.failed
        latencies = [t.latency_ms for t in result.turns if t.latency_ms is not None]
        last = f"{max(latencies):.0f}" if latencies else "-"
        self._bar.set_postfix(active=active, failed=self._failed, worst_ms=last)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _meta(
    args: argparse.Namespace, corpus: Corpus, plan: LoadPlan, info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "command": "callbot " + " ".join(sys.argv[1:]) if sys.argv else "callbot loadtest",
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "manifest": str(corpus.path),
        "dialplan": corpus.manifest.dialplan,
        "corpus_calls": len(corpus.calls),
        "transport": plan.transport,
        "format": args.format,
        "concurrency": plan.concurrency,
        "ramp_up_s": plan.ramp_up_s,
        "find_capacity": bool(args.find_capacity),
        **info,
    }


def _summary_line(data: dict[str, Any]) -> str:
    parts = []
    for level in data["levels"]:
        s = level["summary"]
        v2v = s["voice_to_voice_ms"]
        parts.append(
            f"{level['concurrency']} concurrent: {s['calls']} calls, {s['failed_calls']} failed, "
            f"p50 {v2v['p50']} ms, p95 {v2v['p95']} ms, intent accuracy {s['intent_accuracy']}"
        )
        for worker, served in (s.get("per_worker") or {}).items():
            w = served["voice_to_voice_ms"]
            parts.append(
                f"  {worker}: {served['calls']} calls, {served['failed_calls']} failed, "
                f"p50 {w['p50']} ms, p95 {w['p95']} ms"
            )
        by_kind = s.get("failures_by_kind") or {}
        if by_kind:
            parts.append("  failed: " + ", ".join(f"{k} {n}" for k, n in by_kind.items()))
        for outcome, note in (s.get("notes") or {}).items():
            count = (s.get("outcomes") or {}).get(outcome, 0)
            parts.append(f"  {outcome} {count}: {note}")
    if "capacity" in data:
        parts.append(f"capacity: {largest_passing_text(data)}")
    return "\n".join(parts)


def largest_passing_text(data: dict[str, Any]) -> str:
    best = data["capacity"]["largest_passing"]
    return f"{best or 0} concurrent calls" + ("" if best else " (even one call missed the target)")


__all__ = ["cmd_loadtest", "largest_passing", "register", "run_from_args"]
