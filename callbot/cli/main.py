"""The ``callbot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from callbot import __version__
from callbot.audio.formats import AudioFormat
from callbot.cli.dialplan import instant_argument
from callbot.cli.startup import configured
from callbot.config import Settings
from callbot.errors import CallbotError
from callbot.logs import setup_logging
from callbot.web.exposure import check_exposure
from callbot.web.ports import check_ports

logger = logging.getLogger("callbot")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = getattr(args, "run", None) or getattr(args, "func", None)
    if command is None:
        parser.print_help()
        return 2
    if not hasattr(args, "run"):
        setup_logging(getattr(args, "log_level", "INFO"))
    try:
        return int(command(args) or 0)
    except CallbotError as exc:
        print(f"callbot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callbot", description="Self-hosted voice callbot for telephone hotlines."
    )
    parser.add_argument("--version", action="version", version=f"callbot {__version__}")
    parser.add_argument(
        "--config", type=Path, help="settings file (TOML); see callbot.example.toml"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot (softphone page, /media, AudioSocket)")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP/websocket port (default 8080)")
    serve.add_argument("--audiosocket-port", type=int, help="AudioSocket port (default 9092)")
    serve.add_argument("--dialplan", type=Path, help="dialplan YAML file")
    serve.set_defaults(run=cmd_serve)

    simulate = commands.add_parser(
        "simulate",
        help="run one call through a simulated Asterisk against the real pipeline",
        description="Each TURN is a WAV file the caller says, dtmf:DIGITS, silence:SECONDS "
        "or hangup (hang up while the bot talks). Prints the call as JSON.",
    )
    simulate.add_argument("turns", nargs="+", metavar="TURN")
    simulate.add_argument("--dialplan", type=Path, help="dialplan YAML file")
    simulate.add_argument(
        "--transport", choices=["chan_websocket", "audiosocket"], default="chan_websocket"
    )
    simulate.add_argument("--format", default="ulaw", help="ulaw, alaw, slin or slin16")
    simulate.add_argument(
        "--speed", type=float, default=1.0, help="caller audio pace (1 = real time)"
    )
    simulate.add_argument("--save-audio", type=Path, help="write what the caller heard to a WAV")
    simulate.add_argument(
        "--now",
        type=instant_argument,
        metavar="WHEN",
        help="the dialog's clock: 2026-05-14T10:00 (the dialplan's local time) or "
        "2026-05-14T10:00+02:00 (default: the system clock)",
    )
    simulate.set_defaults(run=cmd_simulate)

    _register_provisioning(commands)
    return parser


def _register_provisioning(commands: Any) -> None:
    from callbot.cli.asterisk import register as register_asterisk
    from callbot.cli.backoffice import register as register_backoffice
    from callbot.cli.cluster import register as register_cluster
    from callbot.cli.config import register as register_config
    from callbot.cli.dialplan import register as register_dialplan
    from callbot.cli.loadtest import register as register_loadtest
    from callbot.cli.privacy import register as register_privacy
    from callbot.cli.provisioning import register as register_provisioning
    from callbot.cli.records import register as register_records
    from callbot.cli.security import register as register_security

    register_provisioning(commands)
    register_dialplan(commands)
    register_loadtest(commands)
    register_records(commands)
    register_privacy(commands)
    register_config(commands)
    register_security(commands)
    register_asterisk(commands)
    register_backoffice(commands)
    register_cluster(commands)
    for quiet in ("dialplan", "chat", "config"):  # their output is the report: warnings only
        commands.choices[quiet].set_defaults(log_level="WARNING")


def _settings(args: argparse.Namespace, **server: Any) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "dialplan", None):
        overrides["dialplan"] = str(args.dialplan)
    server_overrides = {k: v for k, v in server.items() if v is not None}
    if server_overrides:
        overrides["server"] = server_overrides
    return configured(args.config, overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(
        args, host=args.host, port=args.port, audiosocket_port=args.audiosocket_port
    )
    check_exposure(settings)  # these two before the runtime's imports and the models
    check_ports(settings.server)
    from callbot.app.serve import serve_forever

    asyncio.run(serve_forever(settings))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        host="127.0.0.1",
        port=0,
        softphone=False,
        audiosocket=args.transport == "audiosocket",
        audiosocket_port=0,
    )
    fmt = AudioFormat.from_asterisk_name(args.format)
    turns = [_parse_turn(text) for text in args.turns]
    from callbot.app.simulate import simulate_once

    record, heard = asyncio.run(
        simulate_once(settings, turns, args.transport, fmt, args.speed, now=args.now)
    )
    if args.save_audio:
        from callbot.audio.wavfile import write_wav

        write_wav(args.save_audio, heard)
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0 if record["outcome"] != "failed" else 1


def _parse_turn(text: str) -> Any:
    from callbot.simulator.script import DtmfTurn, HangupTurn, SilenceTurn, speech_turn

    kind, _, value = text.partition(":")
    if kind == "dtmf" and value:
        return DtmfTurn(value)
    if kind == "silence" and value:
        return SilenceTurn(float(value))
    if text == "hangup":
        return HangupTurn()
    path = Path(text)
    if not path.is_file():
        raise CallbotError(f"no such WAV file: {text}")
    return speech_turn(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
