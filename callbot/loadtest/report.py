"""Load-test output: ``results.json`` and one self-contained ``report.html``.

The HTML embeds its plots as base64 PNG (matplotlib, Agg backend: no display needed),
so the file can be mailed or attached to a ticket as is.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from callbot.errors import MissingExtra
from callbot.loadtest.metrics import explain
from callbot.loadtest.runner import Level, largest_passing
from callbot.loadtest.sampler import Sample

try:
    import matplotlib
except ModuleNotFoundError as exc:
    raise MissingExtra("matplotlib", "loadtest") from exc

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

PLOTS = ("latency_cdf", "latency_vs_concurrency", "intent_accuracy", "cpu_rss")


def build_report(
    levels: list[Level],
    samples: list[Sample],
    meta: dict[str, Any],
    *,
    capacity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything measured, as JSON-ready data (``results.json``)."""
    data: dict[str, Any] = {
        "meta": meta,
        "levels": [
            {
                "concurrency": level.concurrency,
                "started_s": level.started_s,
                "passed": level.passed,
                "summary": level.summary,
                "calls": [call.to_dict() for call in level.calls],
            }
            for level in levels
        ],
        "samples": [
            {"t_s": s.t_s, "cpu_percent": s.cpu_percent, "rss_mib": s.rss_mib} for s in samples
        ],
    }
    if capacity is not None:
        data["capacity"] = {**capacity, "largest_passing": largest_passing(levels)}
    data["failures_by_kind"] = _totals(lv.summary.get("failures_by_kind", {}) for lv in levels)
    data["outcomes"] = _totals(lv.summary.get("outcomes", {}) for lv in levels)
    data["explanations"] = {
        kind: explain(kind)
        for kind in (*data["failures_by_kind"], *data["outcomes"])
        if explain(kind)
    }
    return data


def _totals(counts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for key, n in one.items():
            total[key] = total.get(key, 0) + n
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


def write_report(data: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.html`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(data), encoding="utf-8")
    return json_path, html_path


def render_html(data: dict[str, Any]) -> str:
    plots = {name: _png_base64(figure(name, data)) for name in PLOTS}
    rows = "".join(_level_row(level) for level in data["levels"])
    capacity = data.get("capacity")
    verdict = ""
    if capacity is not None:
        verdict = (
            f"<p class=verdict>Capacity: <b>{capacity['largest_passing'] or 0}</b> concurrent "
            f"calls with p95 voice-to-voice &le; {capacity['p95_ms']:g} ms and error rate "
            f"&le; {capacity['max_error_rate']:g}.</p>"
        )
    meta = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in data["meta"].items()
    )
    images = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{png}"></figure>'
        for name, png in plots.items()
    )
    failures = sorted({f for level in data["levels"] for f in level["summary"]["failures"]})
    failure_list = "".join(f"<li>{html.escape(f)}</li>" for f in failures) or "<li>none</li>"
    by_kind = _count_table(data["levels"], "failures_by_kind", "reason")
    outcomes = _count_table(data["levels"], "outcomes", "outcome")
    workers = _worker_table(data["levels"])
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>callbot load test</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
th{{background:#f3f3f3}}figure{{display:inline-block;margin:0.5em}}img{{width:520px}}
.verdict{{font-size:1.2em}}td.why{{text-align:left}}</style></head><body>
<h1>callbot load test</h1>{verdict}
<h2>Levels</h2><table><tr><th>concurrent calls</th><th>calls</th><th>failed</th>
<th>voice-to-voice p50 ms</th><th>p95 ms</th><th>greeting p50 ms</th><th>barge-in p50 ms</th>
<th>WER</th><th>intent accuracy</th><th>outcome accuracy</th><th>dropped frames</th>
<th>underruns</th><th>pass</th></tr>{rows}</table>
{workers}
<h2>Failed calls by reason</h2>{by_kind}
<h2>Outcomes</h2>{outcomes}
<h2>Failures</h2><ul>{failure_list}</ul>
<h2>Plots</h2>{images}
<h2>Run</h2><table>{meta}</table>
</body></html>
"""


def _count_table(levels: list[dict[str, Any]], key: str, label: str) -> str:
    """Counts of ``summary[key]`` (failure kinds, outcomes): one row per kind, one column
    per level, and what the kind means."""
    kinds = list(dict.fromkeys(k for lv in levels for k in lv["summary"].get(key, {})))
    if not kinds:
        return "<p>none</p>"
    head = "".join(f"<th>{lv['concurrency']} concurrent</th>" for lv in levels)
    rows = []
    for kind in kinds:
        counts = "".join(f"<td>{lv['summary'].get(key, {}).get(kind, 0)}</td>" for lv in levels)
        meaning = html.escape(explain(kind))
        rows.append(f"<tr><th>{html.escape(kind)}</th>{counts}<td class=why>{meaning}</td></tr>")
    return (
        f"<table class=kinds><tr><th>{label}</th>{head}<th>what it means</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _worker_table(levels: list[dict[str, Any]]) -> str:
    """Calls and latency per cluster worker and level (``--asterisk`` runs only)."""
    rows = []
    for level in levels:
        for worker, served in level["summary"].get("per_worker", {}).items():
            v2v = served["voice_to_voice_ms"]
            cells = [level["concurrency"], worker, served["calls"], served["failed_calls"]]
            cells += [v2v["p50"], v2v["p95"]]
            rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells))
    if not rows:
        return ""
    return (
        "<h2>Per worker</h2><table><tr><th>concurrent calls</th><th>worker</th><th>calls</th>"
        "<th>failed</th><th>voice-to-voice p50 ms</th><th>p95 ms</th></tr>"
        + "</tr>".join(rows)
        + "</tr></table>"
    )


def _level_row(level: dict[str, Any]) -> str:
    s = level["summary"]
    cells = [
        level["concurrency"],
        s["calls"],
        s["failed_calls"],
        s["voice_to_voice_ms"]["p50"],
        s["voice_to_voice_ms"]["p95"],
        s["greeting_ms"]["p50"],
        s["barge_in_ms"]["p50"],
        s["wer"],
        s["intent_accuracy"],
        s["outcome_accuracy"],
        s["dropped_frames"],
        s["underruns"],
        {True: "yes", False: "no", None: "-"}[level["passed"]],
    ]
    return "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>"


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def figure(name: str, data: dict[str, Any]) -> Figure:
    """One of :data:`PLOTS` drawn from the report data."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=90)
    levels = data["levels"]
    if name == "latency_cdf":
        for level in levels:
            values = np.sort(_latencies(level))
            if values.size:
                ax.step(
                    values,
                    np.arange(1, values.size + 1) / values.size,
                    where="post",
                    label=f"{level['concurrency']} concurrent",
                )
        ax.set(title="Voice-to-voice latency CDF", xlabel="ms", ylabel="fraction of turns")
    elif name == "latency_vs_concurrency":
        xs = [lv["concurrency"] for lv in levels]
        for key in ("p50", "p95"):
            ax.plot(xs, [lv["summary"]["voice_to_voice_ms"][key] for lv in levels], "o-", label=key)
        ax.set(title="Latency against concurrency", xlabel="concurrent calls", ylabel="ms")
        ax.set_xticks(xs)
    elif name == "intent_accuracy":
        counts: dict[str, list[int]] = {}
        for level in levels:
            for intent, row in level["summary"]["per_intent"].items():
                total = counts.setdefault(intent, [0, 0])
                total[0] += row["correct"]
                total[1] += row["turns"]
        names = sorted(counts)
        ax.barh(names, [counts[n][0] / counts[n][1] for n in names])
        ax.set(title="Intent accuracy by expected intent", xlabel="accuracy", xlim=(0, 1))
        ax.tick_params(axis="y", labelsize=7)
    else:
        t = [s["t_s"] for s in data["samples"]]
        ax.plot(t, [s["cpu_percent"] for s in data["samples"]], color="tab:red", label="CPU %")
        ax.set(title="Server CPU and RSS", xlabel="s", ylabel="CPU % (100 = one core)")
        rss = ax.twinx()
        rss.plot(t, [s["rss_mib"] for s in data["samples"]], color="tab:blue", label="RSS MiB")
        rss.set_ylabel("RSS MiB")
        for level in levels:
            ax.axvline(level["started_s"], color="grey", linestyle=":", linewidth=0.8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _latencies(level: dict[str, Any]) -> list[float]:
    return [
        t["latency_ms"]
        for call in level["calls"]
        for t in call["turns"]
        if t["latency_ms"] is not None and t["kind"] != "silence"
    ]


def _png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
