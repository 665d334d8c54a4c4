"""The soak's bookkeeping once the calls are done: the stored record of every call that
reached the server (:func:`settle`), the figures (:func:`soak_report`), and
``soak.json`` with its plot (:func:`write_soak_report`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from callbot.errors import MissingExtra
from callbot.loadtest.metrics import percentiles
from callbot.loadtest.soak.plan import Event, Placed, SoakPlan
from callbot.records.store import RecordStore, open_store


async def settle(url: str, placed: list[Placed], settle_s: float) -> dict[str, dict[str, Any]]:
    """The stored record of every call that reached the server, once they are final."""
    wanted = {c.call_id for c in placed if c.reached_server}
    deadline = time.monotonic() + settle_s
    found: dict[str, dict[str, Any]] = {}
    while True:
        found = await asyncio.to_thread(_stored, url, wanted)
        pending = [r for r in found.values() if r.get("outcome") in ("in_progress", None)]
        if (len(found) == len(wanted) and not pending) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(2.0)


def _stored(url: str, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Records of ``wanted`` calls: by call id, duplicates (``<id>#2``) under their id too."""
    with contextlib.closing(open_store(url, "soak-salt")) as store:
        calls = _all_calls(store)
    out: dict[str, dict[str, Any]] = {}
    for call in calls:
        data = call.to_dict()
        call_id = data.get("duplicate_of") or data["call_id"]
        if call_id in wanted:
            data["copies"] = out.get(call_id, {}).get("copies", 0) + 1
            out[call_id] = data
    return out


def _all_calls(store: RecordStore) -> list[Any]:
    return list(store.calls(0.0))


def soak_report(
    plan: SoakPlan,
    placed: list[Placed],
    stored: dict[str, dict[str, Any]],
    samples: list[dict[str, float]],
    events: list[Event],
    elapsed_s: float,
) -> dict[str, Any]:
    """The report data (see :mod:`callbot.loadtest.soak`): ``placed`` joined already."""
    reached = [c for c in placed if c.reached_server]
    lost = sorted(c.call_id for c in reached if c.call_id not in stored)
    doubled = sorted(k for k, v in stored.items() if v.get("copies", 1) > 1)
    failures = Counter(
        (c.result.failure_kind or c.result.failure.split(":")[0] or "ok") if c.result else "ok"
        for c in reached
    )
    outcomes = Counter(stored[c.call_id]["outcome"] for c in reached if c.call_id in stored)
    tenths = []
    ordered = sorted(placed, key=lambda c: c.started_s)
    for part in _tenths(ordered):
        latencies = [
            t.latency_ms
            for c in part
            if c.result is not None
            for t in c.result.turns
            if t.latency_ms is not None
        ]
        tenths.append({"calls": len(part), **percentiles(latencies)})
    return {
        "plan": {k: v for k, v in asdict(plan).items() if k != "media_format"},
        "elapsed_s": round(elapsed_s, 1),
        "calls_placed": len(placed),
        "calls_reached_server": len(reached),
        "calls_unreachable": len(placed) - len(reached),
        "records_stored": len(stored),
        "records_lost": len(lost),
        "lost_call_ids": lost[:50],
        "records_duplicated": len(doubled),
        "outcomes": dict(outcomes),
        "failures": dict(failures),
        "rss_mib": _span(samples, "rss_mib"),
        "fds": _span(samples, "fds"),
        "p95_ms_by_tenth": [t.get("p95") for t in tenths],
        "latency_by_tenth": tenths,
        "events": [asdict(e) for e in events],
        "calls": [
            {
                "call_id": c.call_id,
                "corpus_call": c.spec.id,
                "started_s": c.started_s,
                "duration_s": round(c.duration_s, 1),
                "record": (stored.get(c.call_id) or {}).get("outcome"),
                "failure": c.result.failure if c.result else "",
            }
            for c in reached
        ],
        "samples": samples,
    }


def _span(samples: list[dict[str, float]], key: str) -> dict[str, float | None]:
    values = [s[key] for s in samples]
    return {
        "start": values[0] if values else None,
        "end": values[-1] if values else None,
        "max": max(values, default=None),
    }


def _tenths(items: list[Placed]) -> Iterator[list[Placed]]:
    size = max(1, -(-len(items) // 10))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_soak_report(data: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``soak.json`` and ``soak.png`` (p95 per tenth; RSS and fds over time, events)."""
    try:  # here: matplotlib takes a second to import
        import matplotlib
    except ModuleNotFoundError as exc:
        raise MissingExtra("matplotlib", "loadtest") from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "soak.json", out / "soak.png"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(9, 9))
    p95 = [v if v is not None else float("nan") for v in data["p95_ms_by_tenth"]]
    top.bar(range(1, len(p95) + 1), p95, color="#3b6ea5")
    top.axhline(2000, color="#b03a2e", linestyle="--", label="2 s")
    top.set(title="p95 voice-to-voice by tenth of the run", xlabel="tenth", ylabel="ms")
    top.legend()
    t = [s["t_s"] for s in data["samples"]]
    mid.plot(t, [s["rss_mib"] for s in data["samples"]], color="#2e7d32")
    mid.set(title="server RSS", xlabel="s", ylabel="MiB")
    low.plot(t, [s["fds"] for s in data["samples"]], color="#6a1b9a")
    low.set(title="server open file descriptors", xlabel="s", ylabel="fds")
    for event in data["events"]:
        if "kill" in event["what"] or "stopped" in event["what"]:
            for axis in (mid, low):
                axis.axvline(event["t_s"], color="#999", linestyle=":")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return json_path, png_path
