"""``callbot chat``: talk to a dialplan in the terminal, as text, with what the bot understood.

Each line typed is what speech recognition would have heard. After each turn the
bot's sentences are printed, preceded by a bracketed line with the outcome, intent,
confidence and runner-up, so ops see *why* it answered. Commands::

    /dtmf 3     press a key          /silence   the caller says nothing
    /error      something breaks     /new       hang up and call again
    /quit       leave (end of input too)

When a call ends (transfer, hang-up), the next line starts a new call, so a session can
try many. ``now`` fixes the calls' clock (``callbot chat --now 2026-05-14T10:00``): what a
caller hears out of hours, on a holiday, at the weekend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TextIO

from callbot.dialplan import DialogEngine, Dialplan, Hangup, Say, Transfer, TurnResult

HELP = "commands: /dtmf D, /silence, /error, /new, /quit; anything else is what the caller says"


def run_chat(
    dialplan: Dialplan,
    stdin: TextIO,
    stdout: TextIO,
    call_vars: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Run calls on ``dialplan`` from the lines of ``stdin`` until /quit or end of input,
    at ``now`` (naive: the dialplan's local time) or by the system clock."""
    interactive = stdin.isatty()
    calls = 0

    def new_call() -> DialogEngine:
        nonlocal calls
        calls += 1
        engine = DialogEngine(dialplan, {"call_id": f"chat-{calls}", **(call_vars or {})}, now=now)
        at = f" at {now.isoformat(timespec='minutes')}" if now is not None else ""
        print(f"--- call {calls}{at} ({HELP})", file=stdout)
        show(engine.start(), stdout)
        return engine

    engine: DialogEngine | None = new_call()
    while True:
        if interactive:
            print("you> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if not interactive:
            print(f"you> {text}", file=stdout)
        if text == "/quit":
            break
        if text == "/new" or engine is None:
            engine = new_call()
            if text == "/new":
                continue
        result = _turn(engine, text, stdout)
        if result is None:
            continue
        show(result, stdout)
        if engine.ended:
            print("--- call ended", file=stdout)
            engine = None
    stdout.flush()
    return 0


def _turn(engine: DialogEngine, text: str, stdout: TextIO) -> TurnResult | None:
    if text.startswith("/dtmf"):
        digit = text.removeprefix("/dtmf").strip()
        try:
            return engine.on_dtmf(digit)
        except ValueError:
            print(f"  (not a keypad key: {digit!r})", file=stdout)
            return None
    if text == "/silence":
        return engine.on_no_input()
    if text == "/error":
        return engine.on_error()
    if text.startswith("/"):
        print(f"  ({HELP})", file=stdout)
        return None
    return engine.on_utterance(text)


def show(result: TurnResult, stdout: TextIO) -> None:
    """The bracketed understanding line, then what the bot does."""
    conf = "-" if result.confidence is None else f"{result.confidence:.2f}"
    runner = f" runner-up={result.runner_up}" if result.runner_up else ""
    print(
        f"  [{result.outcome}] intent={result.intent or '-'} confidence={conf}{runner}", file=stdout
    )
    if result.slots:
        print("  slots: " + ", ".join(f"{k}={v}" for k, v in result.slots), file=stdout)
    for action in result.actions:
        if isinstance(action, Say):
            print(f"bot: {action.text}", file=stdout)
        elif isinstance(action, Transfer):
            print(f"  -> transfer to queue {action.queue} ({action.reason})", file=stdout)
        elif isinstance(action, Hangup):
            print(f"  -> hang up ({action.reason})", file=stdout)
        else:  # an action this tool does not know yet: show it rather than hide it
            print(f"  -> {action}", file=stdout)
    stdout.flush()
