"""What a soak is asked to do (:class:`SoakPlan`), and what it notes on the way: each
call placed (:class:`Placed`) and each fault (:class:`Event`)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from callbot.audio.formats import ULAW_8K, AudioFormat
from callbot.loadtest.corpus import CallSpec
from callbot.loadtest.metrics import CallResult, call_result, failed_call
from callbot.simulator.script import CallTrace


@dataclass(frozen=True, slots=True)
class SoakPlan:
    calls: int = 100
    concurrency: int = 7
    duration_s: float | None = None
    """Stop dialling new calls after this long even if fewer than ``calls`` were placed
    (calls in progress finish)."""
    media_format: AudioFormat = ULAW_8K
    postgres: bool = False
    """Records in a throw-away PostgreSQL (else SQLite in the work dir)."""
    kill_server_every_s: float | None = None
    restart_delay_s: float = 1.0
    stop_db_every_s: float | None = None
    db_down_s: float = 30.0
    sample_every_s: float = 1.0
    redial_pause_s: float = 3.0
    """A caller line waits this long between two calls (a trunk does not hand the bot a new
    call in the millisecond the last one hung up, while its slot is still being freed)."""
    settle_s: float = 90.0
    """After the last call, how long records may take to appear (spool replay, in-progress
    records of a killed process finalised as ``interrupted``)."""
    server_env: tuple[tuple[str, str], ...] = ()
    """Extra ``CALLBOT_*`` settings for the server."""


@dataclass
class Placed:
    """One call as the caller side saw it (joined with its record once they settled)."""

    call_id: str
    spec: CallSpec
    started_s: float
    reached_server: bool
    duration_s: float = 0.0
    trace: CallTrace | None = None
    line: SimpleNamespace | None = None
    """What the call result needs of the caller's recording (not the audio itself)."""
    error: str = ""
    result: CallResult | None = None

    def join(self, record: dict[str, Any] | None, concurrency: int) -> None:
        if self.trace is None or self.line is None:
            self.result = failed_call(
                self.spec, self.call_id, self.error or "error", concurrency=concurrency,
                started_s=self.started_s, duration_s=self.duration_s,
            )  # fmt: skip
            return
        self.result = call_result(
            self.spec, self.trace, record, self.line, concurrency=concurrency,
            started_s=self.started_s, duration_s=self.duration_s,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    t_s: float
    """Seconds since the soak started."""
    what: str
