"""Recall and precision of the identifier redaction on the annotated test set.

    .venv/bin/python benchmarks/redaction.py --out benchmarks/results/redaction.json

Test set: ``tests/data/redaction/*.tsv`` (French caller utterances as Whisper writes
them, identifiers marked ``[KIND:text]``); see :mod:`callbot.privacy.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from callbot.privacy.evaluate import default_paths, load, score
from callbot.privacy.redact import redact

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "redaction.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tsv", nargs="*", type=Path, help="test set files (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    paths = args.tsv or default_paths()
    items = load(paths)
    result = score(items)
    started = time.perf_counter()
    for item in items:
        redact(item.text)
    per_line_us = (time.perf_counter() - started) / len(items) * 1e6
    report = {
        "command": "python benchmarks/redaction.py",
        "files": [str(p.relative_to(REPO)) for p in paths],
        **result.to_json(),
        "redact_us_per_utterance": round(per_line_us, 1),
    }
    print(f"utterances {result.utterances}, identifiers {report['identifiers']}")
    print(f"recall    {result.recall:.3f}  {report['recall_by_kind']}")
    print(f"precision {result.precision:.3f}  ({result.predictions} predictions)")
    print(f"speed     {per_line_us:.0f} µs per utterance")
    for miss in result.misses:
        print(f"  missed  {miss}")
    for alarm in result.false_alarms:
        print(f"  false   {alarm}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
