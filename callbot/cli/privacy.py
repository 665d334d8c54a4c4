"""``callbot records purge|export|erase``: retention, and one caller's RGPD rights.

Every store of caller data is covered (:mod:`callbot.app.perimeter`: the records with
their callbacks, the records spool, the hand-over store, the summary sounds):

* ``purge --older-than 90d``: delete what is older than that (default: the retention):
  calls with their callbacks, spooled records, hand-overs; expire the callbacks still owed
  past ``records.callback_expiry_hours`` (their numbers erased) and the hand-over
  identifiers past ``handover.identifiers_ttl_s``; delete summary sounds left behind;
* ``export --caller 0612345678``: everything kept about that caller (calls, callbacks
  asked from or to that number, spooled records, hand-overs, summary sounds) as JSON
  (right of access);
* ``erase --caller 0612345678``: delete it all (right to erasure).

Callers are found by :func:`callbot.privacy.identity.caller_hash` of their number with the
deployment's salt (``CALLBOT_PRIVACY_CALLER_SALT`` or ``..._FILE``): the stores never
hold the number itself, but for a callback still owed and a hand-over in progress.
``--records`` names the records database; the other stores are where the settings say
(the hand-over store beside that database unless ``handover.store_path`` is set).
:func:`register` adds the subcommands; each returns an exit status.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from callbot.app.perimeter import Perimeter
from callbot.config import Settings, load_settings
from callbot.errors import ConfigError
from callbot.privacy.settings import PrivacySettings

RECORDS_URL_ENV = "CALLBOT_RECORDS_URL"
SALT_ENV = "CALLBOT_PRIVACY_CALLER_SALT"
_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``records purge``, ``records export`` and ``records erase``."""
    records = subparsers.add_parser("records", help="retention, and one caller's data")
    sub = records.add_subparsers(dest="records_command", required=True)
    purge = sub.add_parser("purge", help="delete caller data older than the retention")
    purge.add_argument(
        "--older-than",
        type=parse_age,
        metavar="AGE",
        help=f"e.g. 90d, 12w, 36h (default: {PrivacySettings().retention_days}d)",
    )
    purge.set_defaults(func=cmd_purge)
    export = sub.add_parser("export", help="one caller's data as JSON (right of access)")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    export.set_defaults(func=cmd_export)
    erase = sub.add_parser("erase", help="delete one caller's data (right to erasure)")
    erase.set_defaults(func=cmd_erase)
    for parser in (purge, export, erase):
        parser.add_argument(
            "--records", help=f"SQLite path or postgresql:// URL (${RECORDS_URL_ENV})"
        )
    for parser in (export, erase):
        parser.add_argument("--caller", required=True, help="the caller's phone number")


def parse_age(text: str) -> float:
    """``90d`` -> seconds; units s, m, h, d, w."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (e.g. 90d, 12w, 36h)")
    return float(match.group(1)) * _UNITS_S[match.group(2)]


def cmd_purge(args: argparse.Namespace) -> int:
    now = time.time()
    with _Opened(args, need_salt=False) as perimeter:
        if perimeter is None:
            return 1
        days = perimeter.retention_days
        age_s = days * 86400.0 if args.older_than is None else args.older_than
        cutoff = now - age_s
        counts = perimeter.purge(cutoff, now)
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(cutoff))
    print(f"purged {counts.pop('calls')} call(s) started before {stamp}, with their callbacks")
    print(
        f"expired {counts.pop('expired callbacks')} callback(s) still owed after their expiry "
        "(numbers erased)"
    )
    print(f"purged {_counted(counts)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _Opened(args) as perimeter:
        if perimeter is None:
            return 1
        document = {
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **perimeter.export(args.caller),
        }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
        sizes = {name: len(v) for name, v in document.items() if isinstance(v, list)}
        print(f"exported {_counted(sizes)} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    with _Opened(args) as perimeter:
        if perimeter is None:
            return 1
        counts = perimeter.erase(args.caller)
    calls, callbacks = counts.pop("calls"), counts.pop("callbacks")
    print(f"erased {calls} call(s) and {callbacks} callback(s) of that caller")
    print(f"erased {_counted(counts)}")
    return 0


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())


class _Opened:
    """Opens every store under the settings (``--records`` naming the records database);
    None after an error, said on standard error."""

    def __init__(self, args: argparse.Namespace, need_salt: bool = True):
        self._args, self._need_salt = args, need_salt
        self._perimeter: Perimeter | None = None

    def __enter__(self) -> Perimeter | None:
        name = f"callbot records {self._args.records_command}"
        try:
            settings = _settings(self._args)
        except ConfigError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return None
        if self._need_salt and settings.privacy.caller_salt is None:
            print(f"{name}: set {SALT_ENV} (or {SALT_ENV}_FILE) to find callers", file=sys.stderr)
            return None
        database = settings.records.sqlite_path
        if database is not None and not database.exists():
            print(f"{name}: no records database at {database}", file=sys.stderr)
            return None
        try:
            self._perimeter = Perimeter.open(settings)
        except Exception as exc:  # CallbotError, or either driver's own errors
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None
        return self._perimeter

    def __exit__(self, *exc: object) -> None:
        if self._perimeter is not None:
            self._perimeter.close()


def _settings(args: argparse.Namespace) -> Settings:
    """The settings ``serve`` uses (``--config``, then ``CALLBOT_*`` variables), with
    ``--records`` when given."""
    overrides = {"records": {"url": args.records}} if args.records else None
    return load_settings(getattr(args, "config", None), overrides=overrides)
