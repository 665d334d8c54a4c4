"""Security settings (the ``[security]`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    max_concurrent_calls: int = 7
    """Calls handled at once; one more is refused before the bot answers (0: no limit).
    Size it from the load test: past it, every caller's latency degrades."""
    media_token: str | None = field(default=None, repr=False)
    """Shared token accepted on ``/media?token=...`` (the browser softphone cannot send
    Basic auth on a websocket); from ``CALLBOT_SECURITY_MEDIA_TOKEN_FILE``. Never logged."""
    audiosocket_beyond_loopback: bool = False
    """AudioSocket has no authentication at all: listening beyond loopback needs this
    explicit opt-in (a private network, firewalled to the Asterisk hosts)."""
