"""``callbot dialplan check|test|accuracy FILE...`` and ``callbot chat FILE``.

:func:`register` adds the subcommands to the main parser's subparsers; each sets
``args.func`` to a ``cmd_*`` function that returns the process exit status (0: all
good, 1: problems found or tests failed, 2: a file could not be used at all).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from callbot.dialplan import load_dialplan
from callbot.dialplan.clock import parse_instant
from callbot.dialplan.tooling.accuracy import AccuracyReport, dialplan_json, measure_both
from callbot.dialplan.tooling.accuracy_table import format_intents, format_misses, format_table
from callbot.dialplan.tooling.asterisk_queues import (
    AsteriskQueues,
    load_asterisk_queues,
    queue_findings,
)
from callbot.dialplan.tooling.calibration import calibrate
from callbot.dialplan.tooling.chat import run_chat
from callbot.dialplan.tooling.conversation import is_dialplan_file, run_test_file, tests_for
from callbot.dialplan.tooling.lint import lint_file
from callbot.dialplan.tooling.testset import default_testset_path, load_testset
from callbot.errors import DialplanError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dialplan check``, ``dialplan test``, ``dialplan accuracy`` and ``chat``."""
    dialplan = subparsers.add_parser("dialplan", help="check, test and measure dialplans")
    sub = dialplan.add_subparsers(dest="dialplan_command", required=True)

    check = sub.add_parser("check", help="schema and semantic lint (file:line:column)")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument("--testset", type=Path, help="held-out set (default testsets/STEM.yaml)")
    check.add_argument("--strict", action="store_true", help="warnings fail too")
    check.add_argument(
        "--asterisk-dir",
        default="asterisk",
        metavar="DIR",
        help="Asterisk config whose queues.conf must define every queue (default asterisk/; "
        "'' to skip)",
    )
    check.add_argument(
        "--no-asterisk", action="store_true", help="do not cross-check queues with Asterisk"
    )
    check.set_defaults(func=cmd_check)

    test = sub.add_parser("test", help="run YAML conversation tests")
    test.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="test files, or dialplans (tests/STEM.yaml)",
    )
    _add_now(test, "for the conversations without their own 'now'")
    test.set_defaults(func=cmd_test)

    acc = sub.add_parser(
        "accuracy", help="right/wrong/confirm/fallback on a held-out set, clean and noisy"
    )
    acc.add_argument("files", nargs="+", type=Path, metavar="FILE")
    acc.add_argument("--testset", type=Path, help="held-out set (default testsets/STEM.yaml)")
    acc.add_argument("--json", type=Path, help="also write the figures as JSON here")
    acc.add_argument("--misses", action="store_true", help="list every phrasing not answered right")
    acc.add_argument("--intents", action="store_true", help="also a table per intent")
    acc.add_argument(
        "--calibrate", action="store_true", help="suggest matching.high and low from the set"
    )
    acc.set_defaults(func=cmd_accuracy)

    chat = subparsers.add_parser("chat", help="talk to a dialplan in the terminal, as text")
    chat.add_argument("file", type=Path, metavar="FILE")
    chat.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="call variable"
    )
    _add_now(chat, "for every call")
    chat.set_defaults(func=cmd_chat)


def _add_now(parser: argparse.ArgumentParser, scope: str) -> None:
    parser.add_argument(
        "--now",
        type=instant_argument,
        metavar="WHEN",
        help=f"the clock, {scope}: 2026-05-14T10:00 (the dialplan's local time) or "
        "2026-05-14T10:00+02:00 (default: the system clock)",
    )


def instant_argument(text: str) -> dt.datetime:
    """``--now``: an ISO 8601 date and time, with or without an offset."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_check(args: argparse.Namespace) -> int:
    if args.testset is not None and len(args.files) > 1:
        print("--testset needs a single FILE", file=sys.stderr)
        return 2
    asterisk = _asterisk_queues(args)
    errors = warnings = 0
    for path in args.files:
        findings = lint_file(path, args.testset)
        if asterisk is not None:
            findings += queue_findings(path, asterisk)
            findings.sort(key=lambda f: (f.source, f.line, f.column))
        for finding in findings:
            print(finding)
        errors += sum(f.severity == "error" for f in findings)
        warnings += sum(f.severity == "warning" for f in findings)
    for finding in asterisk.findings if asterisk is not None else ():
        print(finding)
        errors += finding.severity == "error"
        warnings += finding.severity == "warning"
    print(f"{len(args.files)} file(s): {errors} error(s), {warnings} warning(s)")
    return 1 if errors or (args.strict and warnings) else 0


def _asterisk_queues(args: argparse.Namespace) -> AsteriskQueues | None:
    """The queues of ``--asterisk-dir``; None (with a note) when there is nothing to read."""
    if args.no_asterisk or not args.asterisk_dir:
        return None
    directory = Path(args.asterisk_dir)
    if not directory.is_dir():
        print(
            f"note: no {directory}/ directory: queues not checked against Asterisk "
            "(--asterisk-dir DIR)",
            file=sys.stderr,
        )
        return None
    return load_asterisk_queues(directory)


def cmd_test(args: argparse.Namespace) -> int:
    passed = failed = 0
    broken = False
    for path in args.files:
        test_file = tests_for(path) if is_dialplan_file(path) else path
        try:
            results = run_test_file(test_file, args.now)
        except DialplanError as exc:
            print(exc)
            broken = True
            continue
        for result in results:
            if result.passed:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {result.name}")
                for failure in result.failures:
                    print(f"  {failure}")
    print(f"{passed} passed, {failed} failed")
    return 2 if broken else (1 if failed else 0)


def cmd_accuracy(args: argparse.Namespace) -> int:
    if args.testset is not None and len(args.files) > 1:
        print("--testset needs a single FILE", file=sys.stderr)
        return 2
    reports: list[AccuracyReport] = []
    data: list[dict[str, Any]] = []
    for path in args.files:
        try:
            dialplan = load_dialplan(path)
            testset = load_testset(args.testset or default_testset_path(path))
        except DialplanError as exc:
            print(exc, file=sys.stderr)
            return 2
        pair = measure_both(dialplan, testset, path.stem)
        reports += pair
        data.append(dialplan_json(*pair))
        for report in pair:
            if args.intents:
                print(format_intents(report))
            if args.misses:
                print(f"== {path.stem} ({report.variant}) misses")
                print(format_misses(report) or "no misses")
        if args.calibrate:
            calibration = calibrate(pair)
            print(f"{path.stem}: {calibration}")
            data[-1]["calibration"] = calibration.to_json()
    print(format_table(reports))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    try:
        dialplan = load_dialplan(args.file)
    except DialplanError as exc:
        print(exc, file=sys.stderr)
        return 2
    call_vars = dict(v.split("=", 1) for v in args.var if "=" in v)
    return run_chat(dialplan, sys.stdin, sys.stdout, call_vars, args.now)


def main(argv: list[str] | None = None) -> int:
    """Run these commands alone: ``python -m callbot.cli.dialplan dialplan check FILE``."""
    parser = argparse.ArgumentParser(prog="callbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
