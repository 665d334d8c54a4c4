"""Security settings (the ``[security]`` section): limits, and who may reach what.

Four roles, each with its own credentials (see :mod:`callbot.security.access`):
``media`` (Asterisk on ``/media``), ``agent`` (the agent console, ``/agent...``),
``ops`` (dashboard, ``/api/*``, softphone) and ``metrics`` (``/metrics``). A blank secret
counts as unset.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Credentials per role, the reverse proxy trusted for single sign-on, limits.

    On a loopback listener with no credentials set anywhere (and no trusted proxy),
    every page is open: the embedded default. Once any credential is set, every page
    needs its role's, loopback or not, and a role with none is closed (403); beyond
    loopback, ``serve`` refuses to start while any role has none."""

    max_concurrent_calls: int = 7
    """Calls handled at once; one more is refused before the bot answers (0: no limit).
    Size it from the load test: past it, every caller's latency degrades."""
    media_token: str | None = field(default=None, repr=False)
    """Role ``media``: token accepted on ``/media?token=...`` (the browser softphone cannot
    send Basic auth on a websocket), besides ``server.media_username``/``media_password``
    (Basic, what Asterisk's websocket_client sends). From
    ``CALLBOT_SECURITY_MEDIA_TOKEN_FILE``. Never logged."""
    media_password_hash: str | None = None
    """Role ``media``: ``server.media_password`` as a hash (``callbot security
    hash-password``), so the server never holds the password itself."""
    audiosocket_beyond_loopback: bool = False
    """AudioSocket has no authentication at all: listening beyond loopback needs this
    explicit opt-in (a private network, firewalled to the Asterisk hosts)."""
    ops_username: str = "ops"
    """Role ``ops`` (``/dashboard``, every ``/api/*`` route, the softphone ``/``): the
    user name asked with HTTP Basic auth (the browser prompts for it)."""
    ops_password: str | None = field(default=None, repr=False)
    """Role ``ops``: the password, from ``CALLBOT_SECURITY_OPS_PASSWORD_FILE``. Prefer
    ``ops_password_hash``."""
    ops_password_hash: str | None = None
    """Role ``ops``: the password's hash, from ``callbot security hash-password``
    (``$scrypt$ln=14,r=8,p=1$...``; ``$pbkdf2-sha256$i=...$...`` is accepted too)."""
    metrics_token: str | None = field(default=None, repr=False)
    """Role ``metrics``: bearer token Prometheus sends on ``/metrics``
    (``authorization: {credentials_file: ...}`` in its scrape config). From
    ``CALLBOT_SECURITY_METRICS_TOKEN_FILE``."""
    softphone_beyond_loopback: bool = False
    """Serve the browser softphone (``/``, role ``ops``) on a listener beyond loopback too.
    Off: beyond loopback the softphone is not served at all."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``) of reverse proxies whose
    identity headers are believed. Requests from any other peer have those headers
    ignored. Set: no role is ever open without credentials, loopback included."""
    proxy_user_header: str = "X-Forwarded-User"
    """Header in which a trusted proxy names the user it authenticated (single sign-on)."""
    proxy_roles_header: str = "X-Forwarded-Groups"
    """Header in which a trusted proxy lists the user's groups (comma or space separated);
    a group named like a role (``ops``, ``agent``, ``metrics``, ``media``), after
    ``proxy_role_prefix``, grants that role."""
    proxy_role_prefix: str = ""
    """Prefix of the groups that grant roles, e.g. ``callbot-`` for ``callbot-ops``."""
    login_failures_per_minute: int = 10
    """Wrong credentials accepted from one client address per minute; more are answered
    429 with ``Retry-After`` until the minute has passed (0: no limit)."""
