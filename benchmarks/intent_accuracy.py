"""Intent accuracy and matching latency of every shipped dialplan on its held-out test set.

Each dialplan ``dialplans/X.yaml`` is measured on ``dialplans/testsets/X.yaml`` (phrasings
written apart from the examples, with speech-recognition slips), as written and through
the ASR-noise generator, with the same matcher and thresholds as a call. Writes the
figures as JSON and prints a table:

    .venv/bin/python benchmarks/intent_accuracy.py --out benchmarks/results/intent-accuracy.json

The same figures for one file: ``callbot dialplan accuracy dialplans/X.yaml --misses``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from callbot.dialplan import load_dialplan
from callbot.dialplan.tooling.accuracy import AccuracyReport, dialplan_json, measure_both
from callbot.dialplan.tooling.accuracy_table import format_table
from callbot.dialplan.tooling.testset import default_testset_path, load_testset

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "intent-accuracy.json"


def run(dialplans: list[Path], repeats: int) -> list[tuple[AccuracyReport, AccuracyReport]]:
    """The clean and the noisy report of each dialplan that has a test set."""
    pairs = []
    for path in dialplans:
        testset = default_testset_path(path)
        if testset.exists():
            dialplan = load_dialplan(path)
            pairs.append(measure_both(dialplan, load_testset(testset), path.stem, repeats))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dialplans", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeats", type=int, default=5, help="latency: best of N per phrase")
    args = parser.parse_args()
    dialplans = args.dialplans or sorted((REPO / "dialplans").glob("*.yaml"))
    pairs = run(dialplans, args.repeats)
    print(format_table([report for pair in pairs for report in pair]))
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "command": "python benchmarks/intent_accuracy.py",
        "dialplans": [dialplan_json(*pair) for pair in pairs],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
