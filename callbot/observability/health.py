"""What ``/healthz`` and ``/readyz`` mean.

* **healthy** (``/healthz``): the process answers HTTP. A failing health check means
  "restart me"; it must not depend on load or on models, or an orchestrator would
  restart a bot that is merely busy.
* **ready** (``/readyz``): send me calls. True when the models are loaded (Whisper,
  the dialplan and its voice), the process is not shutting down (drain: calls in
  progress finish, new ones go elsewhere), and it is under its concurrent-call limit.
  A load balancer or Asterisk's dialplan (``CURL(.../readyz)``) routes on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Readiness:
    """Mutable, one per process: the service sets the flags, ``/readyz`` reads them."""

    active_calls: Callable[[], int]
    max_concurrent_calls: int
    """0: no limit."""
    models_loaded: bool = False
    shutting_down: bool = False

    def reasons(self) -> list[str]:
        """Why the process is not ready (empty: ready)."""
        out = []
        if not self.models_loaded:
            out.append("models not loaded")
        if self.shutting_down:
            out.append("shutting down")
        if 0 < self.max_concurrent_calls <= self.active_calls():
            out.append(f"at the concurrent-call limit ({self.max_concurrent_calls})")
        return out

    def ready(self) -> bool:
        return not self.reasons()

    def status(self) -> dict[str, Any]:
        """The ``/readyz`` body."""
        reasons = self.reasons()
        return {
            "ready": not reasons,
            "reasons": reasons,
            "active_calls": self.active_calls(),
            "max_concurrent_calls": self.max_concurrent_calls,
        }
