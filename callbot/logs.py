"""Logging set-up: stdlib logging for callbot, pipecat's loguru routed into it.

Every line about a call carries its id, once, as the record's ``call_id`` (text: ``[id]``
before the message; JSON: a ``call_id`` field), never in the message. One rule for where
it comes from:

* code running in a call's own task (media edge, pipeline, dialog, the bridge's call
  actor) logs with its plain ``logger``: the task binds the call id once, at its start
  (:func:`bind_call_id`), in a :mod:`contextvars` variable that the tasks and threads it
  starts inherit;
* code about a call that runs elsewhere (the ARI event router, the records writer, the
  hand-over hub, a method another call's task may call) logs through
  :func:`call_log`, which names the call explicitly.

Handlers also mask known secret values and, by default, redact caller identifiers
(:class:`callbot.privacy.redact.RedactingFilter`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterable

CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "callbot_call_id", default=None
)
"""The id of the call the running task works for (None outside calls)."""

SECRET_MASK = "***"


def for_log(value: str, limit: int = 80) -> str:
    """A value from outside (the wire, a file) safe in one log line: control and
    non-ASCII characters escaped (a newline cannot start a forged line), cut at ``limit``."""
    text = value[:limit].encode("unicode_escape").decode("ascii")
    return text if len(value) <= limit else f"{text}...(+{len(value) - limit} chars)"


def bind_call_id(call_id: str) -> contextvars.Token[str | None]:
    """Tag every log line of the current task (and the tasks it starts) with ``call_id``."""
    return CALL_ID.set(call_id)


def call_log(logger: logging.Logger, call_id: str) -> logging.LoggerAdapter[logging.Logger]:
    """``logger`` for lines about ``call_id`` written outside that call's own task: they
    carry the id as a bound call's lines do (it wins over whatever call the running task
    is bound to). Example: ``call_log(logger, legs.call_id).info("entered Stasis")``."""
    return logging.LoggerAdapter(logger, {"call_id": call_id})


class CallIdFilter(logging.Filter):
    """Sets ``record.call_id`` from the context unless the call gave one (``extra=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_id", None) is None:
            record.call_id = CALL_ID.get()
        return True


class SecretFilter(logging.Filter):
    """Replaces known secret values (passwords, tokens) wherever they appear in a line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = self.mask(text), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers; ``call_id`` when the line has one."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None)
        if call_id is not None:
            data["call_id"] = call_id
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
_CONTROL.update({0x0A: "\\n", 0x0D: "\\r"})


def one_line(text: str) -> str:
    """``text`` with control characters escaped (tab kept): it cannot span lines."""
    return text.translate(_CONTROL)


class TextFormatter(logging.Formatter):
    """One line a record: the message's control characters are escaped, whatever a caller
    put in a value (a forged ``\n2026-... INFO ...`` stays on its line), and a traceback's
    lines are indented, so that only real records start at the left margin."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(call)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        call_id = getattr(record, "call_id", None)
        record.call = f"[{one_line(str(call_id))}] " if call_id else ""
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        extra = [
            record.exc_text or "",
            self.formatStack(record.stack_info) if record.stack_info else "",
        ]
        for block in filter(None, extra):
            text += "\n" + "\n".join("    " + line for line in block.splitlines())
        return text


def setup_logging(
    level: str = "INFO", fmt: str = "text", *, secrets: Iterable[str] = (), redact: bool = True
) -> None:
    """Log to standard error, as text or JSON (``fmt``), masking ``secrets``.

    ``redact``: replace caller identifiers (phone numbers, NIR...) in every line.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for log_filter in log_filters(secrets=secrets, redact=redact):
        handler.addFilter(log_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.error", "uvicorn.access", "websockets", "httpx", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_pipecat()


def log_filters(*, secrets: Iterable[str] = (), redact: bool = True) -> list[logging.Filter]:
    """The filters every callbot handler carries, in order: call id, secrets, redaction."""
    filters: list[logging.Filter] = [CallIdFilter(), SecretFilter(secrets)]
    if redact:
        from callbot.privacy.redact import RedactingFilter

        filters.append(RedactingFilter())
    return filters


def quiet_pipecat(level: str = "WARNING") -> None:
    """pipecat logs every frame decision through loguru at DEBUG; keep its warnings only."""
    try:
        from loguru import logger as loguru_logger
    except ImportError:  # pragma: no cover
        return
    pipecat_log = logging.getLogger("pipecat")

    def forward(message: object) -> None:
        record = message.record  # type: ignore[attr-defined]
        pipecat_log.log(record["level"].no, "%s", record["message"])

    loguru_logger.remove()
    loguru_logger.add(forward, level=level, format="{message}")
