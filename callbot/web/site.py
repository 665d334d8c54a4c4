"""The whole HTTP site of a running callbot: the app, the dashboard, the agent console,
and the access gate in front of all of them (:mod:`callbot.security.access`).

Every route of the site, present or added later, is behind the gate; the tests walk
``app.routes`` to hold that.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from callbot.config import Settings
from callbot.handover.console import mount_console
from callbot.handover.hub import HandoverHub
from callbot.records.store import RecordStore
from callbot.security.access import Role
from callbot.security.checks import is_loopback
from callbot.security.gate import AccessGate
from callbot.security.ratelimit import FailureLimiter
from callbot.web.app import WebContext, create_app
from callbot.web.dashboard import mount_dashboard
from callbot.web.exposure import HOW_TO_SET, access_policy

logger = logging.getLogger(__name__)


def softphone_allowed(settings: Settings) -> bool:
    """The softphone page is served on loopback, and beyond it only on explicit request
    (``security.softphone_beyond_loopback``); either way it is the ops role's."""
    if not settings.server.softphone:
        return False
    return is_loopback(settings.server.host) or settings.security.softphone_beyond_loopback


def build_site(
    settings: Settings,
    context: WebContext,
    store: RecordStore | None,
    hub: HandoverHub,
    *,
    limiter: FailureLimiter | None = None,
) -> FastAPI:
    """The app with every surface mounted, behind the access gate built from ``settings``
    (ConfigError on a malformed password hash or proxy address)."""
    policy = access_policy(settings)
    closed = [role for role in Role if role not in policy.credentials.configured]
    if closed and not policy.open_roles and not policy.proxies:
        logger.warning(
            "access: no credentials for %s: answered 403 to everyone; set %s",
            ", ".join(closed),
            "; ".join(HOW_TO_SET[role] for role in closed),
        )
    if settings.server.softphone and not softphone_allowed(settings):
        logger.info(
            "softphone page off: server.host is beyond loopback "
            "(security.softphone_beyond_loopback = true serves it, to the ops role)"
        )
    context.softphone = softphone_allowed(settings)
    app = create_app(context)
    if store is not None:
        mount_dashboard(app, store)
    mount_console(app, hub, store)
    metrics = context.metrics
    app.add_middleware(
        AccessGate,
        policy=policy,
        limiter=limiter or FailureLimiter(settings.security.login_failures_per_minute),
        on_refused=metrics.access_refused if metrics is not None else None,
    )
    return app
