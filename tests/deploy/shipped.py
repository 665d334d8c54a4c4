"""What the deployment tests share: the repository's paths, the secrets an operator
stores (real values: a scrypt hash, a PostgreSQL URL), and the check that a shipped
command line is one the ``callbot`` CLI accepts."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from callbot.cli.main import build_parser
from callbot.security.passwords import hash_password

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MEDIA_PASSWORD = "media-pw-for-tests"


def write_secrets(folder: Path) -> dict[str, Path]:
    """One file per secret name the units and manifests use, as an operator writes them."""
    values = {
        "ari-password": "ari-s3cret",
        "records-url": "postgresql://callbot:db-s3cret@postgres:5432/callbot",
        "media-password-hash": hash_password(MEDIA_PASSWORD, log2_n=4),
        "ops-password-hash": hash_password("ops-pw-for-tests", log2_n=4),
        "metrics-token": "metrics-token-123456",
        "console-token": "console-token-123456",
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, value in values.items():
        paths[name] = folder / name
        paths[name].write_text(value + "\n", encoding="utf-8")
    return paths


def parse_command(argv: list[str]) -> argparse.Namespace:
    """``argv`` (without the program) as the CLI parses it; fails the test when the CLI
    does not know the command, so a unit or manifest cannot name one that is missing."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`callbot {' '.join(argv)}` is not a command the callbot CLI accepts")
    handler = getattr(args, "run", None) or getattr(args, "func", None)
    assert handler is not None, f"`callbot {' '.join(argv)}` runs nothing"
    return args
