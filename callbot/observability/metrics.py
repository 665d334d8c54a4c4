"""Prometheus metrics of the calls: load, outcomes, per-stage latency, errors.

One :class:`CallMetrics` per process, on its own registry (no global state: tests make
their own). The call runner tells it when a call starts and ends, and hands it each
finished call's record (``CallJournal.to_dict()``), from which outcomes and latencies
are read; :func:`add_metrics_route` serves the text format at ``GET /metrics``.

Latency stages, in seconds (``callbot_stage_latency_seconds{stage=...}``):

* ``asr``: recognition of one turn (queue wait and decode);
* ``dialog``: transcript to the bot's answer decided (turn key ``dialog_s``, if recorded);
* ``tts_first_audio``: answer decided to its first audio ready (``tts_first_audio_s``);
* ``dialog_tts``: both of the above together, when they are not recorded apart;
* ``voice_to_voice``: end of caller speech to first bot audio out (``server_latency_ms``);
* ``greeting``: call start to the first greeting audio (``greeting_ms``).

Call records (``callbot_records_*``, from the records writer at scrape time): updates
written, spooled while the database was down, and replayed; calls of dead processes
recorded as ``interrupted``; the spool's size; and two alerts: ``spool_full`` and
``lost_total{reason}`` (backlog_full, spool_full, spool_error, rejected, corrupt).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callbot.records.outcome import Outcome

LATENCY_BUCKETS_S = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
DURATION_BUCKETS_S = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0)
OUTCOMES = tuple(outcome.value for outcome in Outcome if outcome is not Outcome.IN_PROGRESS)
"""Outcome label values; anything else is counted as ``other`` (bounded cardinality)."""


class CallMetrics:
    """The process's call metrics. Cheap to update; safe from the event loop."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls_active = Gauge("callbot_calls_active", "Calls in progress", registry=r)
        self.cluster_leader = Gauge(
            "callbot_cluster_leader",
            "1 while this control process drives Asterisk (cluster), else 0",
            registry=r,
        )
        self.failovers = Counter(
            "callbot_failovers", "Calls whose worker failed, by where they went", ["to"], registry=r
        )
        self.calls = Counter("callbot_calls", "Calls started", ["transport"], registry=r)
        self.refused = Counter(
            "callbot_calls_refused", "Calls refused before answering", ["reason"], registry=r
        )
        self.outcomes = Counter(
            "callbot_call_outcomes", "Finished calls by outcome", ["outcome"], registry=r
        )
        self.turns = Counter(
            "callbot_turns", "Caller turns by dialplan verdict", ["outcome"], registry=r
        )
        self.errors = Counter(
            "callbot_errors", "Errors by where they happened", ["stage"], registry=r
        )
        self.stage_latency = Histogram(
            "callbot_stage_latency_seconds",
            "Per-turn latency of each pipeline stage",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.auth_failures = Counter(
            "callbot_auth_failures",
            "Requests refused by access control, by surface and reason (missing, "
            "bad_credentials, forbidden, rate_limited, closed)",
            ["surface", "reason"],
            registry=r,
        )
        self.call_duration = Histogram(
            "callbot_call_duration_seconds", "Call duration", buckets=DURATION_BUCKETS_S, registry=r
        )

    def track_records(self, stats: Callable[[], RecordsStats]) -> None:
        """Export the records writer's figures (:class:`_RecordsCollector`), read at scrape."""
        self.registry.register(_RecordsCollector(stats))

    def track_active(self, count: Callable[[], int]) -> None:
        """Read the active-call gauge from ``count`` at scrape time (instead of inc/dec)."""
        self.calls_active.set_function(lambda: float(count()))

    def call_started(self, transport: str) -> None:
        self.calls.labels(transport=transport).inc()
        self.calls_active.inc()

    def call_ended(self) -> None:
        self.calls_active.dec()

    def call_refused(self, reason: str) -> None:
        """``reason``: ``busy`` (concurrent-call limit), ``not_ready``, ``unauthorized``."""
        self.refused.labels(reason=reason).inc()

    def access_refused(self, surface: str, reason: str) -> None:
        """A request the access gate refused (:mod:`callbot.security.gate`)."""
        self.auth_failures.labels(surface=surface, reason=reason).inc()

    def error(self, stage: str) -> None:
        """An error outside a call record: ``protocol``, ``records``, ``hook``..."""
        self.errors.labels(stage=stage).inc()

    def observe_record(self, record: Mapping[str, Any]) -> None:
        """Count one finished call from its record (``CallJournal.to_dict()``)."""
        outcome = str(record.get("outcome", ""))
        self.outcomes.labels(outcome=outcome if outcome in OUTCOMES else "other").inc()
        duration = _number(record.get("duration_s"))
        if duration is not None:
            self.call_duration.observe(duration)
        greeting_ms = _number(record.get("greeting_ms"))
        if greeting_ms is not None:
            self._latency("greeting", greeting_ms / 1000.0)
        if record.get("errors"):
            self.errors.labels(stage="call").inc(len(record["errors"]))
        for turn in record.get("turns") or ():
            self._observe_turn(turn)

    def _observe_turn(self, turn: Mapping[str, Any]) -> None:
        self.turns.labels(outcome=str(turn.get("outcome") or "none")).inc()
        asr_s = _number(turn.get("asr_s"))
        dialog_s = _number(turn.get("dialog_s"))
        tts_s = _number(turn.get("tts_first_audio_s"))
        v2v_ms = _number(turn.get("server_latency_ms"))
        for stage, value in (("asr", asr_s), ("dialog", dialog_s), ("tts_first_audio", tts_s)):
            if value is not None:
                self._latency(stage, value)
        if v2v_ms is not None:
            self._latency("voice_to_voice", v2v_ms / 1000.0)
            if asr_s is not None and dialog_s is None and tts_s is None:
                self._latency("dialog_tts", max(0.0, v2v_ms / 1000.0 - asr_s))
        if turn.get("hook_status") in ("timeout", "error", "malformed"):
            self.errors.labels(stage="hook").inc()

    def _latency(self, stage: str, seconds: float) -> None:
        self.stage_latency.labels(stage=stage).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class RecordsStats(Protocol):
    """The records writer's figures (:class:`callbot.records.writer.WriterStats`)."""

    @property
    def written(self) -> int: ...
    @property
    def spooled(self) -> int: ...
    @property
    def replayed(self) -> int: ...
    @property
    def interrupted(self) -> int: ...
    @property
    def lost(self) -> Mapping[str, int]: ...
    @property
    def spool_records(self) -> int: ...
    @property
    def spool_bytes(self) -> int: ...
    @property
    def spool_full(self) -> bool: ...
    @property
    def database_up(self) -> bool: ...


class _RecordsCollector(Collector):
    """``callbot_records_*``: alert on ``spool_full`` and on any ``lost_total`` increase."""

    def __init__(self, stats: Callable[[], RecordsStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        counters = (
            ("written", "Call record updates written straight to the database", s.written),
            ("spooled", "Call record updates kept in the spool (database down)", s.spooled),
            ("replayed", "Spooled call records written once the database answered", s.replayed),
            ("interrupted", "Calls of dead processes recorded as interrupted", s.interrupted),
        )
        for name, text, value in counters:
            yield CounterMetricFamily(f"callbot_records_{name}", text, value=value)
        lost = CounterMetricFamily(
            "callbot_records_lost", "Call records lost, by reason (alert)", labels=["reason"]
        )
        for reason, count in sorted(s.lost.items()):
            lost.add_metric([reason], count)
        yield lost
        gauges = (
            ("spool_records", "Calls waiting in the records spool", s.spool_records),
            ("spool_bytes", "Disk used by the records spool", s.spool_bytes),
            ("spool_full", "1 while the records spool refuses records (alert)", s.spool_full),
            ("database_up", "0 while the records database is unavailable", s.database_up),
        )
        for name, text, number in gauges:
            yield GaugeMetricFamily(f"callbot_records_{name}", text, value=float(number))


def metrics_response(metrics: CallMetrics) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def add_metrics_route(app: FastAPI, metrics: CallMetrics, path: str = "/metrics") -> None:
    """Serve ``metrics`` at ``GET path`` (a plain route: no redirect to ``/metrics/``)."""

    async def serve_metrics() -> Response:
        return metrics_response(metrics)

    app.add_api_route(path, serve_metrics, methods=["GET"], include_in_schema=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
