"""``callbot report --since DATE [--until DATE] [--format table|csv|json]``.

:func:`register` adds the subcommand to the main parser's subparsers; it sets
``args.func`` to :func:`cmd_report`, which returns the process exit status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from callbot.config import load_settings
from callbot.errors import ConfigError
from callbot.records.report import FORMATS, make_report, parse_time, render, zone
from callbot.records.settings import DATABASE_NAME
from callbot.records.store import open_store

RECORDS_URL_ENV = "CALLBOT_RECORDS_URL"
DEFAULT_TZ = "Europe/Paris"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``."""
    report = subparsers.add_parser("report", help="KPIs and not-understood utterances")
    report.add_argument("--since", required=True, help="start: 2026-11-01 or 2026-11-01T08:00")
    report.add_argument("--until", help="end, excluded (default: now); a bare date ends at 0h")
    report.add_argument("--format", choices=FORMATS, default="table")
    report.add_argument(
        "--records",
        help=f"records database: SQLite path or postgresql:// URL (default ${RECORDS_URL_ENV} "
        f"or {DATABASE_NAME} in the data directory)",
    )
    report.add_argument("--tz", default=DEFAULT_TZ, help=f"time zone (default {DEFAULT_TZ})")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    try:
        url = args.records or load_settings(getattr(args, "config", None)).records.url
    except ConfigError as exc:
        print(f"callbot report: {exc}", file=sys.stderr)
        return 1
    try:
        tz = zone(args.tz)
        since = parse_time(args.since, tz)
        until = parse_time(args.until, tz) if args.until else dt.datetime.now(tz).timestamp()
    except ValueError as exc:
        print(f"callbot report: {exc}", file=sys.stderr)
        return 2
    path = url.removeprefix("sqlite:///")
    if "://" not in path and not Path(path).exists():
        print(f"callbot report: no records database at {url}", file=sys.stderr)
        return 1
    try:
        store = open_store(url)
        try:
            calls = store.calls(since, until)
            callbacks = store.callbacks(since, until)
        finally:
            store.close()
    except Exception as exc:  # CallbotError, or either driver's own errors
        print(f"callbot report: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(make_report(calls, since, until, tz, callbacks), args.format))
    return 0
