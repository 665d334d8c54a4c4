"""``callbot security hash-password``: a password hash for the settings, so the server
never holds the password itself (``security.ops_password_hash``,
``security.media_password_hash``).

The password is read from the terminal (asked twice, not echoed) or, when standard input
is not a terminal, from its first line: ``callbot security hash-password < file``. Only
the hash is printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from callbot.errors import ConfigError
from callbot.security.passwords import hash_password


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    security = subparsers.add_parser("security", help="credentials: password hashes")
    commands = security.add_subparsers(dest="security_command", required=True)
    hashing = commands.add_parser(
        "hash-password",
        help="read a password (terminal or stdin), print its $scrypt$ hash for the settings",
    )
    hashing.set_defaults(func=cmd_hash_password)


def cmd_hash_password(args: argparse.Namespace) -> int:
    password = read_password(sys.stdin)
    print(hash_password(password))
    return 0


def read_password(stdin: TextIO) -> str:
    """The password from the terminal (twice) or from ``stdin``'s first line."""
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("the two passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password.strip():
        raise ConfigError("empty password: nothing to hash")
    return password
