"""Who may reach which surface: roles, their credentials, and the verdict on a request.

Sans-I/O: :class:`AccessPolicy` judges facts about a request (path, peer, headers); the
ASGI layer (:mod:`callbot.security.gate`) only gathers them and writes the answer.

Surfaces and roles (any path not listed is ``ops``: a route added later is guarded)::

    /healthz, /readyz              public (no call data)
    /media                         media    Basic (websocket_client), ?token= or Bearer
    /agent, /agent/...             agent    ?token=, Bearer, or the console's cookie
    /metrics                       metrics  Bearer
    /static/...                    ops or agent (the pages' shared assets)
    everything else                ops      Basic (/, /dashboard, /api/*, /openapi.json)

Open mode (nothing asked, the embedded default) holds only while the server listens on
loopback, no credentials are configured for any role and no reverse proxy is trusted.
Otherwise a request needs credentials of one of its surface's roles, or a trusted
proxy's word that its user holds one; a role with no credentials is closed (403). This
way, setting any credential is never left half done: the surfaces of the roles that
have none are not silently left open (issue 10: ``/api/calls`` answered anyone while
the media and console credentials were set). Secrets are compared in constant time; a
blank secret counts as unset.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from callbot.security.passwords import PasswordCheck
from callbot.security.proxy import TrustedProxies, groups

AGENT_COOKIE = "callbot_console"
"""Cookie the agent console sets once opened with ``?token=`` (screen-pop links carry none)."""
TOKEN_PARAM = "token"


class Role(enum.StrEnum):
    MEDIA = "media"
    AGENT = "agent"
    OPS = "ops"
    METRICS = "metrics"


@dataclass(frozen=True, slots=True)
class Surface:
    name: str
    """Label in logs and in ``callbot_auth_failures_total{surface=...}``."""
    roles: frozenset[Role]
    """Any of these may enter; empty: public."""
    challenge: str = ""
    """``WWW-Authenticate`` sent with a 401 (Basic makes browsers prompt)."""


PUBLIC = Surface("public", frozenset())
MEDIA = Surface("media", frozenset({Role.MEDIA}), 'Basic realm="callbot media"')
AGENT = Surface("agent", frozenset({Role.AGENT}), 'Bearer realm="callbot agent"')
METRICS = Surface("metrics", frozenset({Role.METRICS}), 'Bearer realm="callbot metrics"')
ASSETS = Surface("assets", frozenset({Role.OPS, Role.AGENT}), 'Basic realm="callbot ops"')
OPS = Surface("ops", frozenset({Role.OPS}), 'Basic realm="callbot ops", charset="UTF-8"')
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def surface_for(path: str) -> Surface:
    """The surface ``path`` belongs to; ``ops`` unless listed (deny by default)."""
    if path in PUBLIC_PATHS:
        return PUBLIC
    if path == "/metrics":
        return METRICS
    for prefix, surface in (("/media", MEDIA), ("/agent", AGENT)):
        if path == prefix or path.startswith(prefix + "/"):
            return surface
    if path.startswith("/static/"):
        return ASSETS
    return OPS


def secret(value: str | None) -> str | None:
    """``value``, or None when it is unset, empty or only whitespace."""
    return value if value and value.strip() else None


@dataclass(frozen=True, slots=True)
class Presented:
    """The credentials a request carries (unchecked)."""

    basic: tuple[str, str] | None = None
    tokens: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, authorization: str | None, query_token: str | None = None, cookie: str | None = None
    ) -> Presented:
        basic, tokens = None, [t for t in (query_token, cookie) if t]
        scheme, _, value = (authorization or "").strip().partition(" ")
        if scheme.lower() == "basic":
            basic = _basic(value.strip())
        elif scheme.lower() == "bearer" and value.strip():
            tokens.append(value.strip())
        return cls(basic, tuple(tokens))

    def __bool__(self) -> bool:
        return self.basic is not None or bool(self.tokens)


@dataclass(frozen=True, slots=True)
class Login:
    """HTTP Basic credentials of one role."""

    role: Role
    username: str
    password: PasswordCheck


@dataclass(frozen=True, slots=True)
class Credentials:
    """What each configured role accepts."""

    logins: tuple[Login, ...] = ()
    tokens: tuple[tuple[Role, str], ...] = ()

    @property
    def configured(self) -> frozenset[Role]:
        return frozenset([login.role for login in self.logins] + [r for r, _ in self.tokens])

    def slow(self, presented: Presented) -> bool:
        """Checking ``presented`` may hash a password (tens of ms): run it on a thread."""
        return presented.basic is not None and any(x.password.slow for x in self.logins)

    def roles(self, presented: Presented) -> frozenset[Role]:
        """The roles ``presented`` proves (every candidate compared, in constant time)."""
        found = set()
        for given in presented.tokens:
            for role, token in self.tokens:
                if hmac.compare_digest(given.encode(), token.encode()):
                    found.add(role)
        if presented.basic is not None:
            user, password = presented.basic
            for login in self.logins:
                same_user = hmac.compare_digest(user.encode(), login.username.encode())
                if login.password.matches(password) and same_user:
                    found.add(login.role)
        return frozenset(found)


class Verdict(enum.StrEnum):
    ALLOWED = "allowed"
    MISSING = "missing"
    """No credentials sent (a browser's first request): 401 with a challenge, not counted
    as a failed login."""
    BAD = "bad_credentials"
    FORBIDDEN = "forbidden"
    """Valid credentials of another role, or a proxy user without the role: 403."""
    LIMITED = "rate_limited"
    CLOSED = "closed"
    """No role of the surface has credentials and none is open: nobody may enter."""


STATUS = {
    Verdict.ALLOWED: 200,
    Verdict.MISSING: 401,
    Verdict.BAD: 401,
    Verdict.FORBIDDEN: 403,
    Verdict.LIMITED: 429,
    Verdict.CLOSED: 403,
}


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    surface: Surface
    via: str = ""
    """How an allowed request got in: ``public``, ``open``, ``credentials``, ``proxy``."""
    user: str | None = None
    """The proxy's user (single sign-on), for the log line."""
    retry_after_s: int = 0

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED

    @property
    def status(self) -> int:
        return STATUS[self.verdict]


@dataclass(frozen=True, slots=True)
class Request:
    """What the policy looks at in a request (HTTP or websocket upgrade)."""

    path: str
    peer: str | None
    """TCP peer address (never a forwarded one)."""
    headers: Mapping[str, str]
    """Case-insensitive (Starlette's ``Headers``) or lower-case names."""
    query_token: str | None = None
    cookie_token: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name) or self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    credentials: Credentials
    open_roles: frozenset[Role]
    """Roles entered without credentials: all of them in open mode, else none."""
    proxies: TrustedProxies = field(default_factory=TrustedProxies)
    user_header: str = "X-Forwarded-User"
    roles_header: str = "X-Forwarded-Groups"
    role_prefix: str = ""

    def first_look(self, request: Request) -> Decision | None:
        """The verdict when no credential needs checking (public, open, closed, or a trusted
        proxy's user); None: check the request's credentials (:meth:`judge`)."""
        surface = surface_for(request.path)
        if not surface.roles:
            return Decision(Verdict.ALLOWED, surface, "public")
        if surface.roles & self.open_roles:
            return Decision(Verdict.ALLOWED, surface, "open")
        if self.proxies.trusts(request.peer):
            user = (request.header(self.user_header) or "").strip()
            if user:
                held = groups(request.header(self.roles_header), self.role_prefix)
                verdict = Verdict.ALLOWED if surface.roles & held else Verdict.FORBIDDEN
                return Decision(verdict, surface, "proxy", user=user)
        if not surface.roles & self.credentials.configured:
            return Decision(Verdict.CLOSED, surface)
        return None

    def client(self, request: Request) -> str:
        """The client address failed logins are counted against."""
        return self.proxies.client_address(request.peer, request.header("X-Forwarded-For"))

    def presented(self, request: Request) -> Presented:
        """The credentials to check. ``?token=`` counts on the media and agent surfaces
        (browsers' websockets cannot send headers), the console's cookie on the agent's
        only: elsewhere they would get a 403 where a browser needs a 401 to prompt (the
        softphone is opened as ``/?token=<media token>``, behind ops Basic auth)."""
        roles = surface_for(request.path).roles
        query = request.query_token if roles & {Role.MEDIA, Role.AGENT} else None
        cookie = request.cookie_token if Role.AGENT in roles else None
        return Presented.parse(request.header("Authorization"), query, cookie)

    def judge(self, request: Request, presented: Presented) -> Decision:
        """Blocking when :meth:`Credentials.slow`: call it on a thread then."""
        surface = surface_for(request.path)
        if not presented:
            return Decision(Verdict.MISSING, surface)
        roles = self.credentials.roles(presented)
        if not roles:
            return Decision(Verdict.BAD, surface)
        if roles & surface.roles:
            return Decision(Verdict.ALLOWED, surface, "credentials")
        return Decision(Verdict.FORBIDDEN, surface)


def _basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # sent, but unreadable: a failed login, not a missing one
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else ("", "")
