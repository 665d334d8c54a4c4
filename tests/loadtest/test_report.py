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
