"""``callbot asterisk check``: the live check of :mod:`callbot.bridge.check`.

Exit status 0 when no line says FAIL (WARN lines do not count), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from callbot.bridge.check import Check, check_asterisk, check_sounds_dir, queue_needs
from callbot.config import load_settings
from callbot.dialplan import load_dialplan
from callbot.errors import DialplanError


def register(subparsers: Any) -> None:
    """Add ``asterisk check`` to the main parser's subcommands."""
    asterisk = subparsers.add_parser("asterisk", help="check the Asterisk callbot works with")
    sub = asterisk.add_subparsers(dest="asterisk_command", required=True)
    check = sub.add_parser(
        "check",
        help="ask the running Asterisk over ARI: version, modules, websocket_client, "
        "ARI app, queues; and sounds_dir (one OK/WARN/FAIL line each)",
    )
    check.add_argument("--dialplan", type=Path, help="whose queues (default: the configured one)")
    check.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="NAME",
        help="another websocket_client connection to look for (e.g. callbot-direct)",
    )
    check.set_defaults(func=cmd_check, log_level="WARNING")


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(getattr(args, "config", None))
    path = args.dialplan or settings.dialplan
    results: list[Check] = []
    try:
        dialplan = load_dialplan(path)
    except DialplanError as exc:
        first = str(exc).splitlines()[0]
        results.append(Check("FAIL", "dialplan", f"{first} (its queues are not checked)"))
        dialplan = None
    needs = queue_needs(dialplan, settings.ari)
    results += asyncio.run(check_asterisk(settings.ari, needs, args.connection))
    results.append(check_sounds_dir(settings.ari.sounds_dir))
    for result in results:
        print(result)
    return 1 if any(r.status == "FAIL" for r in results) else 0
