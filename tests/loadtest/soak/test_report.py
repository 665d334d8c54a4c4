"""The soak's bookkeeping: every call that reached the server must have one record."""

from __future__ import annotations

from pathlib import Path

from callbot.loadtest.corpus import load_corpus
from callbot.loadtest.soak.plan import Event, Placed, SoakPlan
from callbot.loadtest.soak.report import soak_report, write_soak_report

MANIFEST = Path(__file__).resolve().parents[3] / "audio" / "corpus" / "manifest.yaml"


def _placed(call_id: str, started_s: float, *, reached: bool = True) -> Placed:
    spec = load_corpus(MANIFEST).calls[0]
    call = Placed(call_id, spec, started_s, reached_server=reached, error="")
    call.join(None, 7)
    return call


def test_a_call_that_reached_the_server_without_a_record_is_lost() -> None:
    placed = [_placed("a", 0.0), _placed("b", 1.0), _placed("c", 2.0, reached=False)]
    stored = {"a": {"outcome": "answered", "copies": 1}}
    samples = [
        {"t_s": 0.0, "rss_mib": 300.0, "fds": 20.0},
        {"t_s": 9.0, "rss_mib": 310.0, "fds": 21.0},
    ]
    data = soak_report(SoakPlan(calls=3), placed, stored, samples, [Event(1.0, "kill -9")], 10.0)
    assert data["calls_reached_server"] == 2 and data["calls_unreachable"] == 1
    assert data["records_lost"] == 1 and data["lost_call_ids"] == ["b"]
    assert data["rss_mib"] == {"start": 300.0, "end": 310.0, "max": 310.0}
    assert data["outcomes"] == {"answered": 1}


def test_the_report_has_its_plot(tmp_path: Path) -> None:
    data = soak_report(SoakPlan(calls=1), [_placed("a", 0.0)], {}, [], [], 1.0)
    json_path, png_path = write_soak_report(data, tmp_path)
    assert json_path.stat().st_size > 0 and png_path.read_bytes()[:4] == b"\x89PNG"
