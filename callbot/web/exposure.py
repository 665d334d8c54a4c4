"""Start-up exposure check, and the access policy built from the settings.

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

from callbot.config import Settings
from callbot.errors import ConfigError
from callbot.security.access import AccessPolicy, Credentials, Login, Role, secret
from callbot.security.checks import is_loopback
from callbot.security.passwords import PasswordCheck
from callbot.security.proxy import TrustedProxies

HOW_TO_SET = {
    Role.MEDIA: "media (/media: server.media_username with server.media_password or "
    "security.media_password_hash, or security.media_token)",
    Role.AGENT: "agent (/agent: handover.console_token)",
    Role.OPS: "ops (/, /dashboard, /api/*: security.ops_password_hash or security.ops_password)",
    Role.METRICS: "metrics (/metrics: security.metrics_token)",
}


def credentials_for(settings: Settings) -> Credentials:
    """What each role accepts. ValueError when a password hash is malformed (the message
    never echoes it)."""
    server, security = settings.server, settings.security
    logins = []
    for role, user, plain, hashed, where in (
        (
            Role.MEDIA,
            server.media_username,
            server.media_password,
            security.media_password_hash,
            "security.media_password_hash",
        ),
        (
            Role.OPS,
            security.ops_username,
            security.ops_password,
            security.ops_password_hash,
            "security.ops_password_hash",
        ),
    ):
        try:
            check = PasswordCheck.of(secret(plain), secret(hashed))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if secret(user) and check is not None:
            logins.append(Login(role, str(user), check))
    tokens = [
        (role, token)
        for role, token in (
            (Role.MEDIA, secret(security.media_token)),
            (Role.AGENT, secret(settings.handover.console_token)),
            (Role.METRICS, secret(security.metrics_token)),
        )
        if token is not None
    ]
    return Credentials(tuple(logins), tuple(tokens))


def policy_for(settings: Settings, *, loopback: bool) -> AccessPolicy:
    """``loopback``: the server listens on loopback only. ValueError on a malformed
    password hash or proxy address."""
    security = settings.security
    creds = credentials_for(settings)
    proxies = TrustedProxies.parse(security.trusted_proxies)
    open_mode = loopback and not proxies and not creds.configured
    return AccessPolicy(
        creds,
        frozenset(Role) if open_mode else frozenset(),
        proxies,
        security.proxy_user_header,
        security.proxy_roles_header,
        security.proxy_role_prefix,
    )


def access_policy(settings: Settings) -> AccessPolicy:
    """Who may reach what on this server; ConfigError on a malformed hash or proxy."""
    try:
        return policy_for(settings, loopback=is_loopback(settings.server.host))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_exposure(settings: Settings, *, media: bool = True) -> None:
    """Raise :class:`ConfigError` if a surface would listen beyond loopback unguarded, or
    credentials are half set. Call once at start-up, before any socket is opened.
    ``media=False``: a process that serves no calls' media (``callbot control``): neither
    media credentials nor the AudioSocket rule apply (its ``/media`` answers 403)."""
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
    if not media:
        vouched.add(Role.MEDIA)  # nothing behind it: closed to everyone
    missing = [r for r in Role if r not in policy.credentials.configured and r not in vouched]
    if missing:
        raise ConfigError(
            f"server.host is {server.host!r} (beyond loopback) but these roles have no "
            f"credentials: {'; '.join(HOW_TO_SET[r] for r in missing)}. Set them (blank "
            "values count as unset), or listen on 127.0.0.1"
        )
    if media and server.audiosocket and not security.audiosocket_beyond_loopback:
        raise ConfigError(
            f"server.host is {server.host!r} and AudioSocket has no authentication: turn it off "
            "(server.audiosocket = false) or set security.audiosocket_beyond_loopback = true "
            "on a network only Asterisk can reach"
        )
