"""Start-up exposure check, and the media endpoint's own credential check.

Rule: nothing but ``/healthz`` and ``/readyz`` is served without credentials once the
server listens beyond loopback. :func:`check_exposure` refuses to start, in one line,
while any role (:mod:`callbot.security.access`) has no credentials there: ``media``
(``/media``), ``agent`` (the console), ``ops`` (dashboard, ``/api/*``, softphone) and
``metrics``. Behind a trusted single sign-on proxy, the proxy may vouch for the people's
roles instead; Asterisk still needs the media credentials. AudioSocket has no
authentication in its protocol, so it only leaves loopback on explicit request. A blank
secret counts as unset, so a mistaken ``host = "0.0.0.0"`` cannot expose callers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from typing import TYPE_CHECKING

from callbot.errors import ConfigError
from callbot.security.access import AccessPolicy, Role, secret

if TYPE_CHECKING:
    from callbot.config import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
HOW_TO_SET = {
    Role.MEDIA: "media (/media: server.media_username with server.media_password or "
    "security.media_password_hash, or security.media_token)",
    Role.AGENT: "agent (/agent: handover.console_token)",
    Role.OPS: "ops (/, /dashboard, /api/*: security.ops_password_hash or security.ops_password)",
    Role.METRICS: "metrics (/metrics: security.metrics_token)",
}


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine.

    ``""`` and ``0.0.0.0`` / ``::`` listen everywhere; names other than localhost are
    assumed to resolve beyond loopback (the safe side).
    """
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def access_policy(settings: Settings) -> AccessPolicy:
    """Who may reach what on this server; ConfigError on a malformed hash or proxy."""
    try:
        return AccessPolicy.from_settings(settings, loopback=is_loopback(settings.server.host))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_exposure(settings: Settings) -> None:
    """Raise :class:`ConfigError` if a surface would listen beyond loopback unguarded, or
    credentials are half set. Call once at start-up, before any socket is opened."""
    server, security = settings.server, settings.security
    media_password = secret(server.media_password) or secret(security.media_password_hash)
    if secret(server.media_username) and not media_password:
        raise ConfigError(
            "server.media_username is set without server.media_password "
            "(or security.media_password_hash)"
        )
    ops_password = secret(security.ops_password) or secret(security.ops_password_hash)
    if ops_password and not secret(security.ops_username):
        raise ConfigError("security.ops_password is set but security.ops_username is empty")
    policy = access_policy(settings)
    if is_loopback(server.host):
        return
    vouched = {Role.AGENT, Role.OPS, Role.METRICS} if policy.proxies else set()
    missing = [r for r in Role if r not in policy.credentials.configured and r not in vouched]
    if missing:
        raise ConfigError(
            f"server.host is {server.host!r} (beyond loopback) but these roles have no "
            f"credentials: {'; '.join(HOW_TO_SET[r] for r in missing)}. Set them (blank "
            "values count as unset), or listen on 127.0.0.1"
        )
    if server.audiosocket and not security.audiosocket_beyond_loopback:
        raise ConfigError(
            f"server.host is {server.host!r} and AudioSocket has no authentication: turn it off "
            "(server.audiosocket = false) or set security.audiosocket_beyond_loopback = true "
            "on a network only Asterisk can reach"
        )


def media_auth_ok(
    authorization: str | None,
    query_token: str | None,
    *,
    username: str | None,
    password: str | None,
    token: str | None,
) -> bool:
    """Whether a ``/media`` websocket upgrade may proceed: the media edge's own check,
    for an edge run without the access gate (``callbot serve`` gives its edge no
    credentials: the gate in front of the site checks them, hashes included).

    With no credentials configured everything passes. Otherwise a matching Basic
    header or token is needed; comparisons are constant-time; blank counts as unset.
    """
    username, token = secret(username), secret(token)
    if not username and not token:
        return True
    if token and query_token is not None and _same(query_token, token):
        return True
    return bool(username) and basic_auth_ok(authorization, username or "", password or "")


def basic_auth_ok(header: str | None, username: str, password: str) -> bool:
    if not header or header[:6].lower() != "basic ":
        return False
    try:
        user, sep, given = (
            base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(sep) & _same(user, username) & _same(given, password)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
