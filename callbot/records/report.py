"""KPIs and clusters of one period, as one object, and its table / CSV / JSON renderings.

:func:`make_report` is pure; the dashboard's JSON API and ``callbot report`` both use it,
so the terminal and the web page always show the same figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callbot.records.callbacks import Callback
from callbot.records.clusters import Cluster, cluster_utterances, not_understood
from callbot.records.kpi import KpiReport, compute_kpis
from callbot.records.model import StoredCall

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True, slots=True)
class Report:
    kpis: KpiReport
    clusters: tuple[Cluster, ...]
    not_understood: int
    """Utterances behind the clusters (including those left in no cluster)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kpis": self.kpis.to_dict(),
            "not_understood": self.not_understood,
            "clusters": [c.to_dict() for c in self.clusters],
        }


def make_report(
    calls: Sequence[StoredCall],
    since: float,
    until: float,
    tz: dt.tzinfo = dt.UTC,
    callbacks: Sequence[Callback] = (),
) -> Report:
    texts = not_understood(calls)
    kpis = compute_kpis(calls, since, until, tz, callbacks)
    return Report(kpis, tuple(cluster_utterances(texts)), len(texts))


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return render_csv(report)
    return render_table(report)


def render_csv(report: Report) -> str:
    """One ``metric,value`` row per figure; nested figures get dotted names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for key, value in _flatten(report.to_dict()):
        writer.writerow([key, "" if value is None else value])
    return out.getvalue()


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}{key}.")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value, 1):
            yield from _flatten(item, f"{prefix}{index}.")
    else:
        yield prefix.rstrip("."), value


def render_table(report: Report) -> str:
    k = report.kpis
    tz = zone(k.timezone)
    start = dt.datetime.fromtimestamp(k.since, tz).strftime("%Y-%m-%d %H:%M")
    end = dt.datetime.fromtimestamp(k.until, tz).strftime("%Y-%m-%d %H:%M")
    s, cb = k.satisfaction, k.callbacks
    lines = [
        f"Calls {start} -> {end} ({k.timezone})",
        "",
        _row("calls offered", str(k.offered)),
        _row("answer rate", f"{_pct(k.answer_rate)}  ({k.answered} answered by the bot)"),
        _row(
            "understanding",
            f"{_pct(k.understanding_rate)}  ({k.turns_understood}/{k.turns_interpreted} turns)",
        ),
        _row("containment", f"{_pct(k.containment_rate)}  ({k.contained} answered, no human)"),
        _row("resolved / no input", f"{k.resolved} / {k.no_input}"),
        _row("transfer rate", f"{_pct(k.transfer_rate)}  ({k.transferred} handed over)"),
        _row("abandonment", f"{_pct(k.abandonment_rate)}  ({k.abandoned} hung up first)"),
        _row("failed calls", str(k.failed)),
        _row(
            "callbacks",
            f"{cb.requested} asked, {cb.closed} closed, {cb.reached} reached, "
            f"{cb.expired} expired, {cb.pending} owed",
        ),
        _row("satisfaction", f"{_num(s.mean)}/5, CSAT {_pct(s.csat)}  ({s.responses} answers)"),
        _row("latency p50/p95", f"{_ms(k.latency.p50_ms)} / {_ms(k.latency.p95_ms)}"),
        _row("greeting p50/p95", f"{_ms(k.greeting.p50_ms)} / {_ms(k.greeting.p95_ms)}"),
        _row("ASR p50/p95", f"{_ms(k.asr.p50_ms)} / {_ms(k.asr.p95_ms)}"),
    ]
    lines += _section("Transfer reasons", k.transfer_reasons)
    lines += _section("Intents answered", k.intents)
    hours = {
        f"{h.hour:02d}h": f"{h.offered} offered, {_pct(h.answer_rate)} answered"
        for h in k.by_hour
        if h.offered
    }
    lines += _section("Calls per hour", hours)
    lines += ["", f"Not understood: {report.not_understood} utterances"]
    for n, cluster in enumerate(report.clusters, 1):
        lines.append(f"  {n:2d}. {cluster.label}  ({cluster.count}, {_pct(cluster.share)})")
        lines += [f"        « {example} »" for example in cluster.examples]
    return "\n".join(lines) + "\n"


def parse_time(text: str, tz: dt.tzinfo) -> float:
    """Unix time of an ISO date or date-time; naive values are in ``tz``."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date or date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def zone(name: str) -> dt.tzinfo:
    """The time zone called ``name`` (``Europe/Paris``, ``UTC``)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _section(title: str, items: Mapping[str, Any]) -> list[str]:
    if not items:
        return []
    width = max(22, *(len(key) + 3 for key in items))
    return ["", title, *(_row(f"  {key}", str(value), width) for key, value in items.items())]


def _row(name: str, value: str, width: int = 22) -> str:
    return f"{name:<{width}} {value}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
