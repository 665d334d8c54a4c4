"""``callbot config example`` and ``callbot config show``: the settings, written out.

:func:`register` adds the subcommands to the main parser's subparsers; each sets
``args.func`` to a ``cmd_*`` function that returns the process exit status.
"""

from __future__ import annotations

import argparse
import sys

from callbot.cli.settings_doc import example_toml, settings_toml
from callbot.config import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``config example`` and ``config show``."""
    config = subparsers.add_parser("config", help="settings: documented example, effective values")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    example = config_sub.add_parser(
        "example",
        help="every setting with its default and documentation (callbot.example.toml)",
    )
    example.set_defaults(func=cmd_config_example)
    show = config_sub.add_parser(
        "show",
        help="the effective settings (defaults, --config file, CALLBOT_* variables); "
        "secrets masked",
    )
    show.set_defaults(func=cmd_config_show)


def cmd_config_example(args: argparse.Namespace) -> int:
    sys.stdout.write(example_toml())
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    sys.stdout.write(settings_toml(load_settings(args.config)))
    return 0
