"""A real load test: in-process callbot (real Whisper, real voice), two concurrent calls."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import yaml

from callbot.cli.loadtest import register

DIALPLAN = Path(__file__).resolve().parents[1] / "pipeline" / "dialplans" / "call-fr.yaml"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["loadtest", *argv])


def test_parser_defaults() -> None:
    args = parse([])
    assert (args.concurrency, args.p95_ms, args.max_error_rate) == (1, 2000.0, 0.0)
    assert args.manifest == Path("audio/corpus/manifest.yaml")
    assert not args.embedded and args.transport == "chan_websocket"


def test_two_concurrent_calls_embedded(tmp_path: Path, models_dir: Path) -> None:
    def said(name: str, text: str, intent: str) -> dict[str, object]:
        return {"text": text, "intent": intent, "make": {"recordings": [f"fr_CA_f_June/{name}"]}}

    manifest = tmp_path / "manifest.yaml"
    calls = [
        {
            "id": "password",
            "outcome": "answered",
            "turns": [
                said("vm-password", "mot de passe", "mot_de_passe"),
                said("vm-goodbye", "au revoir", "au_revoir"),
            ],
        },
        {
            "id": "keypad",
            "outcome": "transferred",
            "turns": [{"dtmf": "0", "intent": "conseiller"}],
        },
    ]
    manifest.write_text(yaml.safe_dump({"version": 1, "dialplan": str(DIALPLAN), "calls": calls}))
    out = tmp_path / "report"
    args = parse(
        [
            "--manifest",
            str(manifest),
            "--embedded",
            "--models-dir",
            str(models_dir),
            "--calls",
            "2",
            "--concurrency",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )

    assert args.func(args) == 0

    data = json.loads((out / "results.json").read_text())
    (level,) = data["levels"]
    summary = level["summary"]
    assert (summary["calls"], summary["failed_calls"]) == (2, 0)
    assert sorted(c["corpus_call"] for c in level["calls"]) == ["keypad", "password"]
    assert all(c["concurrency"] == 2 for c in level["calls"])
    assert summary["turns"] == 3 and summary["voice_to_voice_ms"]["count"] == 3
    assert 100 < summary["voice_to_voice_ms"]["p50"] < 10_000
    assert summary["greeting_ms"]["count"] == 2
    by_id = {c["corpus_call"]: c for c in level["calls"]}
    assert by_id["keypad"]["outcome"] == "transferred"
    assert by_id["keypad"]["turns"][0]["intent"] == "conseiller"
    assert by_id["password"]["turns"][0]["heard"]  # Whisper heard something
    assert summary["wer"] is not None and summary["per_intent"]["conseiller"]["accuracy"] == 1.0
    assert data["samples"] and all(s["rss_mib"] > 100 for s in data["samples"])
    page = (out / "report.html").read_text()
    assert len(re.findall(r"data:image/png;base64,", page)) == 4


def test_as_the_clusters_asterisk_it_needs_the_workers_records_and_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from callbot.cli.loadtest import _cluster
    from callbot.errors import ConfigError

    async def enter(argv: list[str]) -> None:
        async with _cluster(parse(argv)):
            pass

    monkeypatch.delenv("CALLBOT_LOADTEST_ARI_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="--connection"):
        asyncio.run(enter(["--asterisk", "0", "--records-url", "postgresql://x/y"]))
    with pytest.raises(ConfigError, match="--connection"):
        asyncio.run(enter(["--asterisk", "0", "--connection", "w1"]))
    with pytest.raises(ConfigError, match="--records-url"):
        asyncio.run(enter(["--asterisk", "0", "--connection", "w1=ws://127.0.0.1:1/media"]))
    with pytest.raises(ConfigError, match="CALLBOT_LOADTEST_ARI_PASSWORD"):
        asyncio.run(
            enter(["--asterisk", "0", "--connection", "w1=ws://h/media", "--records-url", "x"])
        )
