"""Logging set-up: stdlib logging for callbot, pipecat's loguru routed into it."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.error", "uvicorn.access", "websockets", "httpx", "faster_whisper"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_pipecat()


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
