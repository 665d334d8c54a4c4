"""Fuzz the protocol parsers (chan_websocket, AudioSocket, ARI) and write the figures.

    .venv/bin/python benchmarks/fuzz.py --inputs 100000 --out benchmarks/results/fuzz.json

A crash is any exception other than the parser's documented protocol error; the run
exits 1 if there is one. See :mod:`tests.fuzz.harness`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the harness lives beside the fuzz tests: tests/fuzz/harness.py

from tests.fuzz.harness import fuzz  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "fuzz.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    report = fuzz(args.inputs, args.seed)
    data = {
        "command": f"python benchmarks/fuzz.py --inputs {args.inputs} --seed {args.seed}",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        **report.to_json(),
    }
    for name, target in data["targets"].items():
        print(f"{name:<40} {target['inputs']:>7} inputs  {target['exceptions']}")
    print(
        f"total {report.inputs} inputs in {report.elapsed_s:.1f} s, {len(report.crashes)} crashes"
    )
    for crash in report.crashes[:10]:
        print(f"  CRASH {crash['error']}\n        {crash['input'][:160]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out}")
    return 1 if report.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
