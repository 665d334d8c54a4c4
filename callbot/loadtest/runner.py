"""Replays the corpus against a callbot: N concurrent callers, ramp-up, calls or duration.

Each worker is one line of a simulated Asterisk: it dials, plays a corpus call at
real-time pace (waiting for the bot's answers like a person), fetches the server's
record of the call, and dials again. ``find_capacity`` repeats runs at 1, 2, 3...
concurrent calls until a level misses the latency or error target.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from callbot.audio.formats import ULAW_8K, AudioFormat
from callbot.loadtest.asterisk_side import AsteriskSide
from callbot.loadtest.corpus import CallSpec, Corpus
from callbot.loadtest.metrics import CallResult, call_result, failed_call, summarize
from callbot.logs import call_log
from callbot.simulator.run import Target, open_peer, simulate, wait_for_record
from callbot.simulator.script import CallerBehaviour, Turn, run_script

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    concurrency: int = 1
    calls: int | None = None
    """Calls to place (None with no duration: each corpus call once)."""
    duration_s: float | None = None
    """Stop dialling new calls after this long (calls in progress finish)."""
    ramp_up_s: float = 0.0
    """Workers start evenly spread over this long."""
    transport: str = "chan_websocket"
    media_format: AudioFormat = ULAW_8K
    behaviour: CallerBehaviour = field(default_factory=CallerBehaviour)
    call_timeout_s: float = 300.0
    record_timeout_s: float = 10.0


class RecordSource(Protocol):
    async def get(self, call_id: str, timeout_s: float) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class LocalRecords:
    """Records of an in-process callbot (``Callbot.records``)."""

    records: Any

    async def get(self, call_id: str, timeout_s: float) -> dict[str, Any] | None:
        return await wait_for_record(self.records, call_id, timeout_s)


@dataclass(frozen=True, slots=True)
class HttpRecords:
    """Records of a remote callbot, from ``GET /api/calls`` (the ops role's, when the
    server asks for credentials)."""

    base_url: str
    auth: tuple[str, str] | None = field(default=None, repr=False)

    async def get(self, call_id: str, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        url = f"{self.base_url.rstrip('/')}/api/calls"
        # trust_env=False: no proxy from the environment between the tester and the bot.
        async with httpx.AsyncClient(timeout=5.0, auth=self.auth, trust_env=False) as client:
            while time.monotonic() < deadline:
                try:
                    reply = await client.get(url)
                    reply.raise_for_status()
                    records = reply.json()
                except (httpx.HTTPError, ValueError) as exc:  # ValueError: not JSON
                    call_log(logger, call_id).warning("GET /api/calls failed: %s", exc)
                    records = []
                found = await wait_for_record(records, call_id, 0.0)
                if found is not None:
                    return found
                await asyncio.sleep(0.25)
        return None


@dataclass
class Level:
    """One run at one concurrency."""

    concurrency: int
    started_s: float
    calls: list[CallResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    passed: bool | None = None


Progress = Callable[[CallResult, int], None]
"""Called after each call with the result and the number of calls still in progress."""


class _Schedule:
    """Hands out corpus calls round-robin until the call count or the duration is spent."""

    def __init__(self, corpus: Corpus, plan: LoadPlan, start_index: int) -> None:
        self._calls = corpus.calls
        self._limit = plan.calls
        if plan.calls is None and plan.duration_s is None:
            self._limit = len(corpus.calls)
        self._deadline = None if plan.duration_s is None else time.monotonic() + plan.duration_s
        self._counter = itertools.count(start_index)
        self.issued = 0

    def next(self) -> CallSpec | None:
        if self._limit is not None and self.issued >= self._limit:
            return None
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return None
        self.issued += 1
        return self._calls[next(self._counter) % len(self._calls)]


async def run_load(
    corpus: Corpus,
    target: Target | AsteriskSide,
    plan: LoadPlan,
    records: RecordSource,
    *,
    clock_zero_s: float | None = None,
    start_index: int = 0,
    on_call: Progress | None = None,
) -> Level:
    """Run ``plan`` once; ``clock_zero_s`` (monotonic) is the origin of ``started_s``."""
    zero = time.monotonic() if clock_zero_s is None else clock_zero_s
    level = Level(plan.concurrency, round(time.monotonic() - zero, 3))
    schedule = _Schedule(corpus, plan, start_index)
    scripts: dict[str, list[Turn]] = {}
    active = [0]

    async def worker(number: int) -> None:
        await asyncio.sleep(plan.ramp_up_s * number / max(1, plan.concurrency))
        while (spec := schedule.next()) is not None:
            if spec.id not in scripts:
                scripts[spec.id] = await asyncio.to_thread(corpus.turns, spec)
            active[0] += 1
            result = await _one_call(spec, scripts[spec.id], target, plan, records, zero)
            active[0] -= 1
            level.calls.append(result)
            if on_call is not None:
                on_call(result, active[0])

    await asyncio.gather(*(worker(n) for n in range(plan.concurrency)))
    level.summary = summarize(level.calls)
    return level


async def _one_call(
    spec: CallSpec,
    turns: list[Turn],
    target: Target | AsteriskSide,
    plan: LoadPlan,
    records: RecordSource,
    zero_s: float,
) -> CallResult:
    started = time.monotonic()
    worker = call_id = ""
    try:
        async with asyncio.timeout(plan.call_timeout_s):
            if isinstance(target, AsteriskSide):
                placed = await target.place()
                peer, worker, call_id = placed.peer, placed.worker, placed.peer.call_id
                try:
                    trace = await run_script(peer, turns, plan.behaviour)
                finally:
                    target.hang_up(placed.caller_channel)
            else:
                if plan.transport != "audiosocket":
                    call_id = f"load-{uuid.uuid4().hex[:12]}"
                peer = open_peer(target, plan.transport, plan.media_format, call_id=call_id or None)
                call_id = peer.call_id
                trace = await simulate(peer, turns, plan.behaviour)
    except Exception as exc:  # any caller-side failure is a failed call, not a crash
        call_log(logger, call_id).warning("failed (%s): %s", spec.id, exc)
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return failed_call(
            spec,
            call_id,
            error,
            concurrency=plan.concurrency,
            started_s=started - zero_s,
            duration_s=time.monotonic() - started,
        )
    record = await records.get(trace.call_id, plan.record_timeout_s)
    result = call_result(
        spec,
        trace,
        record,
        peer,
        concurrency=plan.concurrency,
        started_s=started - zero_s,
        duration_s=time.monotonic() - started,
    )
    return dataclasses.replace(result, worker=worker) if worker else result


@dataclass(frozen=True, slots=True)
class CapacityTarget:
    p95_ms: float = 2000.0
    max_error_rate: float = 0.0
    max_concurrency: int = 8
    calls_per_worker: int = 1
    """Calls each concurrent caller places at every level."""


def passes(summary: dict[str, Any], goal: CapacityTarget) -> bool:
    p95 = summary["voice_to_voice_ms"]["p95"]
    return p95 is not None and p95 <= goal.p95_ms and summary["error_rate"] <= goal.max_error_rate


async def find_capacity(
    corpus: Corpus,
    target: Target | AsteriskSide,
    plan: LoadPlan,
    records: RecordSource,
    goal: CapacityTarget,
    *,
    levels: Iterable[int] | None = None,
    on_level: Callable[[int], Progress | None] | None = None,
) -> list[Level]:
    """Runs at 1, 2, 3... concurrent calls; stops after the first level that fails."""
    results: list[Level] = []
    zero = time.monotonic()
    offset = 0
    for concurrency in levels or range(1, goal.max_concurrency + 1):
        step = LoadPlan(
            concurrency=concurrency,
            calls=concurrency * goal.calls_per_worker,
            ramp_up_s=plan.ramp_up_s,
            transport=plan.transport,
            media_format=plan.media_format,
            behaviour=plan.behaviour,
            call_timeout_s=plan.call_timeout_s,
            record_timeout_s=plan.record_timeout_s,
        )
        progress = on_level(concurrency) if on_level is not None else None
        level = await run_load(
            corpus, target, step, records, clock_zero_s=zero, start_index=offset, on_call=progress
        )
        offset += step.calls or 0
        level.passed = passes(level.summary, goal)
        results.append(level)
        logger.info(
            "capacity: %d concurrent calls: p95 %s ms, error rate %s -> %s",
            concurrency,
            level.summary["voice_to_voice_ms"]["p95"],
            level.summary["error_rate"],
            "pass" if level.passed else "fail",
        )
        if not level.passed:
            break
    return results


def largest_passing(levels: list[Level]) -> int | None:
    """The highest concurrency that passed with every level below it passing too."""
    best = None
    for level in levels:
        if not level.passed:
            break
        best = level.concurrency
    return best
