"""``callbot records purge|export|erase``: retention, and one caller's RGPD rights.

* ``purge --older-than 90d``: delete calls older than that (default: the retention);
* ``export --caller 0612345678``: every stored call of that caller, as JSON (right of access);
* ``erase --caller 0612345678``: delete them (right to erasure).

Callers are found by :func:`callbot.privacy.identity.caller_hash` of their number with the
deployment's salt (``CALLBOT_PRIVACY_CALLER_SALT`` or ``..._FILE``): the store never holds
the number itself. :func:`register` adds the subcommands; each returns an exit status.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from callbot.config import Settings, load_settings
from callbot.errors import ConfigError
from callbot.privacy.identity import caller_hash
from callbot.privacy.settings import PrivacySettings

RECORDS_URL_ENV = "CALLBOT_RECORDS_URL"
SALT_ENV = "CALLBOT_PRIVACY_CALLER_SALT"
_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class CallerStore(Protocol):
    """The part of :class:`callbot.records.store.RecordStore` these commands use."""

    def calls_of_caller(self, caller_hash: str) -> list[Any]: ...
    def delete_caller(self, caller_hash: str) -> int: ...
    def delete_older_than(self, cutoff: float) -> int: ...
    def close(self) -> None: ...


StoreOpener = Callable[[str, str | None], CallerStore]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``records purge``, ``records export`` and ``records erase``."""
    records = subparsers.add_parser("records", help="retention, and one caller's data")
    sub = records.add_subparsers(dest="records_command", required=True)
    purge = sub.add_parser("purge", help="delete calls older than the retention")
    purge.add_argument(
        "--older-than",
        type=parse_age,
        metavar="AGE",
        help=f"e.g. 90d, 12w, 36h (default: {PrivacySettings().retention_days}d)",
    )
    purge.set_defaults(func=cmd_purge)
    export = sub.add_parser("export", help="one caller's calls as JSON (right of access)")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    export.set_defaults(func=cmd_export)
    erase = sub.add_parser("erase", help="delete one caller's calls (right to erasure)")
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


def cmd_purge(args: argparse.Namespace, opener: StoreOpener | None = None) -> int:
    age_s = args.older_than or PrivacySettings().retention_days * 86400.0
    cutoff = time.time() - age_s
    with _Opened(args, opener, need_salt=False) as store:
        if store is None:
            return 1
        deleted = store.delete_older_than(cutoff)
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(cutoff))
    print(f"purged {deleted} call(s) started before {stamp}")
    return 0


def cmd_export(args: argparse.Namespace, opener: StoreOpener | None = None) -> int:
    with _Opened(args, opener) as store:
        if store is None:
            return 1
        key = caller_hash(args.caller, _settings(args).privacy.caller_salt or "")
        calls = store.calls_of_caller(key) if key else []
    document = {
        "caller_hash": key,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "calls": [call.to_dict() if hasattr(call, "to_dict") else call for call in calls],
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
        print(f"exported {len(calls)} call(s) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_erase(args: argparse.Namespace, opener: StoreOpener | None = None) -> int:
    with _Opened(args, opener) as store:
        if store is None:
            return 1
        key = caller_hash(args.caller, _settings(args).privacy.caller_salt or "")
        deleted = store.delete_caller(key) if key else 0
    print(f"erased {deleted} call(s) of that caller")
    return 0


class _Opened:
    """Opens the store named by ``--records`` (or the environment); None after an error."""

    def __init__(
        self, args: argparse.Namespace, opener: StoreOpener | None, need_salt: bool = True
    ):
        self._args, self._opener, self._need_salt = args, opener, need_salt
        self._store: CallerStore | None = None

    def __enter__(self) -> CallerStore | None:
        name = f"callbot records {self._args.records_command}"
        try:
            settings = _settings(self._args)
        except ConfigError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return None
        url = self._args.records or settings.records.url
        salt = settings.privacy.caller_salt
        if self._need_salt and salt is None:
            print(f"{name}: set {SALT_ENV} (or {SALT_ENV}_FILE) to find callers", file=sys.stderr)
            return None
        path = url.removeprefix("sqlite:///")
        if "://" not in path and not Path(path).exists():
            print(f"{name}: no records database at {path}", file=sys.stderr)
            return None
        try:
            self._store = (self._opener or _open_store)(url, salt)
        except Exception as exc:  # CallbotError, or either driver's own errors
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None
        return self._store

    def __exit__(self, *exc: object) -> None:
        if self._store is not None:
            self._store.close()


def _open_store(url: str, salt: str | None) -> CallerStore:
    from callbot.records.store import open_store

    return open_store(url, salt)


def _settings(args: argparse.Namespace) -> Settings:
    """The settings ``serve`` uses (``--config``, then ``CALLBOT_*`` variables)."""
    return load_settings(getattr(args, "config", None))
