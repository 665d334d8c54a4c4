"""Soak: N calls at a set concurrency against ``callbot serve`` in its own process, with
crashes and database outages on a schedule; every call placed compared with the records.

    .venv/bin/python benchmarks/soak.py --calls 1000 --concurrency 7 --postgres \\
        --kill-server-every 600 --stop-db-every 900 --db-down 30 --out reports/soak

Prints the figures and writes ``soak.json`` and ``soak.png`` (p95 per tenth of the run,
RSS and open fds over time). Exit status 1 when a record was lost or duplicated.
See :mod:`callbot.loadtest.soak` for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from callbot.loadtest.build import build_corpus
from callbot.loadtest.corpus import load_corpus
from callbot.loadtest.soak.plan import SoakPlan
from callbot.loadtest.soak.report import write_soak_report
from callbot.loadtest.soak.run import run_soak


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--manifest", type=Path, default=Path("audio/corpus/manifest.yaml"))
    p.add_argument("--calls", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=7)
    p.add_argument("--duration", type=float, help="stop dialling after S seconds")
    p.add_argument("--postgres", action="store_true", help="records in a throw-away PostgreSQL")
    p.add_argument("--kill-server-every", type=float, help="kill -9 the server every S seconds")
    p.add_argument("--restart-delay", type=float, default=1.0, help="as systemd's RestartSec")
    p.add_argument("--stop-db-every", type=float, help="stop PostgreSQL every S seconds")
    p.add_argument("--db-down", type=float, default=30.0, help="for this long")
    p.add_argument("--settle", type=float, default=120.0, help="wait for records this long")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    corpus = load_corpus(args.manifest)
    build_corpus(corpus)
    plan = SoakPlan(
        calls=args.calls,
        concurrency=args.concurrency,
        duration_s=args.duration,
        postgres=args.postgres,
        kill_server_every_s=args.kill_server_every,
        restart_delay_s=args.restart_delay,
        stop_db_every_s=args.stop_db_every,
        db_down_s=args.db_down,
        settle_s=args.settle,
    )
    out = args.out or Path("reports") / time.strftime("soak-%Y%m%d-%H%M%S")
    data = asyncio.run(run_soak(corpus, plan, out / "work"))
    json_path, png_path = write_soak_report(data, out)
    print(
        f"calls placed {data['calls_placed']}, reached the server {data['calls_reached_server']}"
        f", unreachable (server down) {data['calls_unreachable']}\n"
        f"records stored {data['records_stored']}, lost {data['records_lost']}, "
        f"duplicated {data['records_duplicated']}\n"
        f"outcomes {data['outcomes']}\nfailures {data['failures']}\n"
        f"RSS MiB {data['rss_mib']}, fds {data['fds']}\n"
        f"p95 ms by tenth {data['p95_ms_by_tenth']}\n"
        f"events {[e['what'] + ' @' + str(e['t_s']) for e in data['events']]}\n"
        f"{json_path}\n{png_path}"
    )
    return 1 if data["records_lost"] or data["records_duplicated"] else 0


if __name__ == "__main__":
    sys.exit(main())
