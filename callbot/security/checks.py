"""Credential checks in constant time, and whether a listen address is loopback only.

The media edge's own check (:func:`media_auth_ok`) and the start-up exposure check
(:mod:`callbot.web.exposure`) build on these; a blank secret counts as unset.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress

from callbot.security.access import secret

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
