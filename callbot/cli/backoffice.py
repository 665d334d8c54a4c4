"""``callbot backoffice serve|openapi``: the sample back-office of the shipped dialplans.

``serve`` rebuilds the invented test data (``--database``) and answers on loopback
(default ``127.0.0.1:8097``, where the shipped hooks call). It expects the same
``Authorization`` header the bot sends (the ``backoffice.authorization`` setting,
``CALLBOT_BACKOFFICE_AUTHORIZATION`` or ``..._FILE``), so both sides read one secret;
without that setting it asks for none. ``openapi`` prints the API's description.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callbot.backoffice import DEFAULT_DATABASE, DEFAULT_HOST, DEFAULT_PORT
from callbot.config import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    office = subparsers.add_parser(
        "backoffice", help="the sample back-office (invented data) the shipped dialplans call"
    )
    commands = office.add_subparsers(dest="backoffice_command", required=True)
    run = commands.add_parser("serve", help="answer hooks on loopback until Ctrl-C")
    run.add_argument("--host", default=DEFAULT_HOST, help=f"loopback address ({DEFAULT_HOST})")
    run.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    run.add_argument(
        "--database",
        type=Path,
        default=DEFAULT_DATABASE,
        help=f"SQLite file rebuilt from the test data at start ({DEFAULT_DATABASE})",
    )
    run.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay every reply (a slow back-office, for time-outs and load tests)",
    )
    run.set_defaults(func=cmd_serve)
    describe = commands.add_parser("openapi", help="print the OpenAPI description (JSON)")
    describe.set_defaults(func=cmd_openapi)


def cmd_serve(args: argparse.Namespace) -> int:
    from callbot.backoffice.server import sample_app, serve  # the web framework, when used

    authorization = load_settings(args.config).backoffice.authorization
    app = sample_app(
        args.database, authorization=authorization, latency_s=max(0.0, args.latency_ms) / 1000
    )
    guarded = "the backoffice.authorization header" if authorization else "no Authorization"
    print(
        f"sample back-office (invented data) on http://{args.host}:{args.port}, "
        f"expecting {guarded}; Ctrl-C stops it",
        file=sys.stderr,
    )
    serve(app, args.host, args.port)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from callbot.backoffice.api import openapi_json

    sys.stdout.write(openapi_json())
    return 0
