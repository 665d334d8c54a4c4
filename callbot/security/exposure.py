"""Who may reach the media endpoints: the start-up exposure check and the media auth check.

Rule: whatever listens beyond loopback must authenticate its peer. chan_websocket
(``/media``) takes HTTP Basic auth (what Asterisk's ``websocket_client.conf`` sends) or
a shared token in the query string (``?token=``, for the browser softphone, which cannot
set headers on a websocket). AudioSocket has no authentication in its protocol, so it
only leaves loopback on explicit request. :func:`check_exposure` refuses to start
otherwise, so a mistaken ``host = "0.0.0.0"`` cannot expose callers' audio.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from typing import TYPE_CHECKING

from callbot.errors import ConfigError

if TYPE_CHECKING:
    from callbot.config import Settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


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


def check_exposure(settings: Settings) -> None:
    """Raise :class:`ConfigError` if a media endpoint would listen beyond loopback unguarded.

    Call once at start-up, before any socket is opened.
    """
    server = settings.server
    security = getattr(settings, "security", None)
    if is_loopback(server.host):
        return
    token = getattr(security, "media_token", None)
    basic = bool(server.media_username) and bool(server.media_password)
    if server.media_username and not server.media_password:
        raise ConfigError("server.media_username is set without server.media_password")
    if not (basic or token):
        raise ConfigError(
            f"server.host is {server.host!r} (beyond loopback) but the media endpoint has no "
            "credentials: set server.media_username and server.media_password (Basic auth, "
            "as in websocket_client.conf) or security.media_token, or listen on 127.0.0.1"
        )
    handover = getattr(settings, "handover", None)
    if not (getattr(handover, "console_token", None) or token):
        raise ConfigError(
            f"server.host is {server.host!r} but the agent console (caller numbers, summaries) "
            "has no token: set handover.console_token or security.media_token"
        )
    if server.audiosocket and not getattr(security, "audiosocket_beyond_loopback", False):
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
    """Whether a ``/media`` websocket upgrade may proceed.

    With no credentials configured everything passes (loopback only, as
    :func:`check_exposure` ensures). Otherwise a matching Basic header or token is
    needed; comparisons are constant-time.
    """
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
