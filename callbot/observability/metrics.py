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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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

LATENCY_BUCKETS_S = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
DURATION_BUCKETS_S = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0)
OUTCOMES = (
    "answered",
    "transferred",
    "transfer_failed",
    "hung_up_by_caller",
    "failed",
    "transferred_on_shutdown",
    "ended_on_shutdown",
    "interrupted",
)
"""Outcome label values; anything else is counted as ``other`` (bounded cardinality)."""


class CallMetrics:
    """The process's call metrics. Cheap to update; safe from the event loop."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.calls_active = Gauge("callbot_calls_active", "Calls in progress", registry=r)
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
