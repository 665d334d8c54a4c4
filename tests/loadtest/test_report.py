"""JSON and the self-contained HTML report, from a made-up two-level run."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from callbot.loadtest.metrics import CallResult, TurnResult, summarize
from callbot.loadtest.report import PLOTS, build_report, write_report
from callbot.loadtest.runner import Level
from callbot.loadtest.sampler import Sample


def level(concurrency: int, latency: float, passed: bool) -> Level:
    turns = (TurnResult(1, "speech", "au revoir", "au revoir", "au_revoir", "au_revoir", latency),)
    calls = [
        CallResult(
            f"c{i}", "01-x", concurrency, 0.0, 9.0, "answered", "answered", "", 90.0, 0, 0, turns
        )
        for i in range(concurrency)
    ]
    return Level(
        concurrency,
        started_s=concurrency * 10.0,
        calls=calls,
        summary=summarize(calls),
        passed=passed,
    )


def test_report_files(tmp_path: Path) -> None:
    levels = [level(1, 900.0, True), level(2, 2600.0, False)]
    samples = [Sample(0.5, 150.0, 900.0), Sample(1.0, 190.0, 950.0)]
    data = build_report(
        levels,
        samples,
        {"transport": "chan_websocket"},
        capacity={"p95_ms": 2000.0, "max_error_rate": 0.0},
    )
    json_path, html_path = write_report(data, tmp_path / "out")

    results = json.loads(json_path.read_text())
    assert results["capacity"]["largest_passing"] == 1
    assert [lv["concurrency"] for lv in results["levels"]] == [1, 2]
    assert results["levels"][1]["summary"]["voice_to_voice_ms"]["p95"] == 2600.0
    assert results["samples"][1] == {"t_s": 1.0, "cpu_percent": 190.0, "rss_mib": 950.0}

    page = html_path.read_text()
    assert "Capacity: <b>1</b> concurrent calls" in page
    images = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [name for name, _ in images] == list(PLOTS)
    for _, png in images:
        assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="http' not in page and "<script" not in page  # self-contained


def test_failed_calls_by_reason_in_json_and_html(tmp_path: Path) -> None:
    turns = (TurnResult(1, "dtmf", None, None, "conseiller", "conseiller", 700.0),)

    def one(outcome: str, kind: str) -> CallResult:
        failure = f"server: {outcome}: x" if kind else ""
        return CallResult(
            "c", "02-x", 1, 0.0, 9.0, "transferred", outcome, failure, 90.0, 0, 0, turns, kind
        )

    calls = [
        one("media_timeout", "media_timeout"),
        one("protocol_error", "protocol_error"),
        one("media_timeout", "media_timeout"),
        one("transfer_unavailable", ""),
    ]
    run = Level(1, 0.0, calls, summarize(calls), passed=False)
    data = build_report([run], [], {"transport": "chan_websocket"})
    _, html_path = write_report(data, tmp_path)

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["failures_by_kind"] == {"media_timeout": 2, "protocol_error": 1}
    assert results["outcomes"]["transfer_unavailable"] == 1
    assert "no call control (ARI)" in results["explanations"]["transfer_unavailable"]
    page = html_path.read_text()
    table = page.split("<h2>Failed calls by reason</h2>")[1].split("<h2>")[0]
    assert re.search(r"<th>media_timeout</th><td>2</td><td class=why>nothing came", table)
    assert "<th>protocol_error</th><td>1</td>" in table
    outcomes = page.split("<h2>Outcomes</h2>")[1].split("<h2>")[0]
    assert "<th>transfer_unavailable</th><td>1</td>" in outcomes
    assert "no call control (ARI)" in outcomes


def test_a_cluster_run_has_a_table_per_worker(tmp_path: Path) -> None:
    import dataclasses

    run = level(2, 900.0, True)
    run.calls = [
        dataclasses.replace(c, worker=f"callbot-w{i + 1}") for i, c in enumerate(run.calls)
    ]
    run.summary = summarize(run.calls)
    _, html_path = write_report(build_report([run], [], {}), tmp_path / "out")
    page = html_path.read_text()
    assert "<h2>Per worker</h2>" in page
    assert "<td>callbot-w1</td><td>1</td><td>0</td>" in page
    _, plain = write_report(build_report([level(1, 900.0, True)], [], {}), tmp_path / "plain")
    assert "Per worker" not in plain.read_text()
