from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from callbot.observability.metrics import CallMetrics, add_metrics_route

RECORD = {
    "call_id": "c-1",
    "outcome": "transferred",
    "duration_s": 42.0,
    "greeting_ms": 25.0,
    "errors": ["pipeline error: boom"],
    "turns": [
        {"outcome": "matched", "asr_s": 0.4, "server_latency_ms": 900.0, "hook_status": None},
        {"outcome": "no_match", "asr_s": 0.5, "server_latency_ms": None, "hook_status": "timeout"},
    ],
}


def samples(metrics: CallMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_calls_active_and_total() -> None:
    metrics = CallMetrics()
    metrics.call_started("chan_websocket")
    metrics.call_started("audiosocket")
    metrics.call_ended()
    got = samples(metrics)
    assert got[("callbot_calls_active", ())] == 1
    assert got[("callbot_calls_total", (("transport", "chan_websocket"),))] == 1


def test_a_record_gives_outcome_latencies_and_errors() -> None:
    metrics = CallMetrics()
    metrics.observe_record(RECORD)
    got = samples(metrics)
    assert got[("callbot_call_outcomes_total", (("outcome", "transferred"),))] == 1
    assert got[("callbot_stage_latency_seconds_count", (("stage", "asr"),))] == 2
    assert got[("callbot_stage_latency_seconds_sum", (("stage", "voice_to_voice"),))] == 0.9
    assert got[("callbot_stage_latency_seconds_sum", (("stage", "dialog_tts"),))] == 0.5
    assert got[("callbot_stage_latency_seconds_sum", (("stage", "greeting"),))] == 0.025
    assert got[("callbot_errors_total", (("stage", "call"),))] == 1
    assert got[("callbot_errors_total", (("stage", "hook"),))] == 1
    assert got[("callbot_turns_total", (("outcome", "no_match"),))] == 1


def test_unknown_outcomes_keep_cardinality_bounded() -> None:
    metrics = CallMetrics()
    metrics.observe_record({"outcome": "something new", "turns": [{"asr_s": "bad"}]})
    assert samples(metrics)[("callbot_call_outcomes_total", (("outcome", "other"),))] == 1


def test_gauge_can_follow_the_runner() -> None:
    metrics, active = CallMetrics(), [3]
    metrics.track_active(lambda: active[0])
    assert samples(metrics)[("callbot_calls_active", ())] == 3


def test_metrics_route() -> None:
    app, metrics = FastAPI(), CallMetrics()
    metrics.call_refused("busy")
    add_metrics_route(app, metrics)
    response = TestClient(app).get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'callbot_calls_refused_total{reason="busy"} 1.0' in response.text
