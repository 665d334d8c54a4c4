"""The access policy on its own: surfaces, credentials, verdicts (no sockets)."""

import base64
import dataclasses
from typing import Any

import pytest

from callbot.config import ServerSettings, Settings, load_settings
from callbot.handover.settings import HandoverSettings
from callbot.security.access import (
    AccessPolicy,
    Presented,
    Request,
    Role,
    Verdict,
    surface_for,
)
from callbot.security.passwords import hash_password
from callbot.security.settings import SecuritySettings
from callbot.web.exposure import credentials_for, policy_for

OPS_PW, MEDIA_PW = "ops-pw", "media-pw"
MEDIA_TOKEN, AGENT_TOKEN, METRICS_TOKEN = "media-tok", "agent-tok", "metrics-tok"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def all_roles(**security: Any) -> Settings:
    return Settings(
        server=ServerSettings(media_username="asterisk", media_password=MEDIA_PW),
        security=SecuritySettings(
            media_token=MEDIA_TOKEN,
            ops_password_hash=hash_password(OPS_PW, log2_n=4),
            metrics_token=METRICS_TOKEN,
            **security,
        ),
        handover=HandoverSettings(console_token=AGENT_TOKEN),
    )


def request(path: str, peer: str = "127.0.0.1", **headers: str) -> Request:
    query = headers.pop("query_token", None)
    cookie = headers.pop("cookie_token", None)
    lowered = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return Request(path, peer, lowered, query_token=query, cookie_token=cookie)


def verdict(policy: AccessPolicy, req: Request) -> Verdict:
    first = policy.first_look(req)
    return (first or policy.judge(req, policy.presented(req))).verdict


@pytest.mark.parametrize(
    ("path", "surface"),
    [
        ("/healthz", "public"),
        ("/readyz", "public"),
        ("/media", "media"),
        ("/agent", "agent"),
        ("/agent/ws", "agent"),
        ("/agent/context/abc", "agent"),
        ("/agent/handovers", "agent"),
        ("/metrics", "metrics"),
        ("/static/theme.css", "assets"),
        ("/", "ops"),
        ("/dashboard", "ops"),
        ("/api/calls", "ops"),
        ("/openapi.json", "ops"),
        ("/healthz/", "ops"),  # not the public path itself: guarded
        ("/agentx", "ops"),
        ("/mediaplayer", "ops"),
        ("/metrics/x", "ops"),
        ("/some/route/added/later", "ops"),
    ],
)
def test_every_path_has_a_surface_and_unknown_ones_are_ops(path: str, surface: str) -> None:
    assert surface_for(path).name == surface


def test_presented_credentials() -> None:
    assert not Presented.parse(None)
    assert Presented.parse(basic("u", "p:q")).basic == ("u", "p:q")
    assert Presented.parse("Bearer  tok ").tokens == ("tok",)
    assert Presented.parse(None, "q", "c").tokens == ("q", "c")
    assert Presented.parse("Basic !!!").basic == ("", "")  # sent but unreadable: a failure
    assert not Presented.parse("Bearer ")


def test_blank_secrets_count_as_unset() -> None:
    blank = Settings(
        server=ServerSettings(media_username=" ", media_password="pw"),
        security=SecuritySettings(media_token="  \t", ops_password="", metrics_token="\n"),
        handover=HandoverSettings(console_token=" "),
    )
    assert credentials_for(blank).configured == frozenset()


def test_nothing_configured_on_loopback_is_open() -> None:
    policy = policy_for(Settings(), loopback=True)
    for path in ("/", "/media", "/agent/ws", "/api/calls", "/metrics", "/static/x.css"):
        assert verdict(policy, request(path)) is Verdict.ALLOWED


def test_a_configured_role_needs_its_credentials_even_on_loopback() -> None:
    settings = Settings(security=SecuritySettings(ops_password=OPS_PW))
    policy = policy_for(settings, loopback=True)
    assert verdict(policy, request("/api/calls")) is Verdict.MISSING
    assert verdict(policy, request("/api/calls", authorization=basic("ops", "x"))) is Verdict.BAD
    ok = request("/api/calls", authorization=basic("ops", OPS_PW))
    assert verdict(policy, ok) is Verdict.ALLOWED
    # Once any credential is set, a role without any is closed, not left open.
    assert verdict(policy, request("/agent")) is Verdict.CLOSED
    assert verdict(policy, request("/metrics")) is Verdict.CLOSED
    assert verdict(policy, request("/healthz")) is Verdict.ALLOWED


def test_each_role_opens_its_surfaces_only() -> None:
    policy = policy_for(all_roles(), loopback=False)
    creds = {
        Role.MEDIA: {"authorization": basic("asterisk", MEDIA_PW)},
        Role.AGENT: {"authorization": f"Bearer {AGENT_TOKEN}"},
        Role.OPS: {"authorization": basic("ops", OPS_PW)},
        Role.METRICS: {"authorization": f"Bearer {METRICS_TOKEN}"},
    }
    for path, opens in [
        ("/media", {Role.MEDIA}),
        ("/agent/ws", {Role.AGENT}),
        ("/api/kpi", {Role.OPS}),
        ("/metrics", {Role.METRICS}),
        ("/static/theme.css", {Role.OPS, Role.AGENT}),
    ]:
        assert verdict(policy, request(path)) is Verdict.MISSING, path
        for role, headers in creds.items():
            expected = Verdict.ALLOWED if role in opens else Verdict.FORBIDDEN
            assert verdict(policy, request(path, **headers)) is expected, (path, role)
    assert verdict(policy, request("/media", query_token=MEDIA_TOKEN)) is Verdict.ALLOWED
    assert verdict(policy, request("/agent", query_token=AGENT_TOKEN)) is Verdict.ALLOWED
    assert verdict(policy, request("/healthz")) is Verdict.ALLOWED


def test_the_console_cookie_only_counts_on_agent_surfaces() -> None:
    policy = policy_for(all_roles(), loopback=False)
    assert verdict(policy, request("/agent", cookie_token=AGENT_TOKEN)) is Verdict.ALLOWED
    # On the dashboard it is ignored: the browser gets a 401 and prompts for ops.
    assert verdict(policy, request("/dashboard", cookie_token=AGENT_TOKEN)) is Verdict.MISSING


def test_the_softphone_opened_with_the_media_token_still_prompts_for_ops() -> None:
    policy = policy_for(all_roles(), loopback=False)
    page = request("/", query_token=MEDIA_TOKEN)  # /?token=... : for its /media websocket
    assert verdict(policy, page) is Verdict.MISSING  # 401 + Basic challenge, not 403
    ops = request("/", query_token=MEDIA_TOKEN, authorization=basic("ops", OPS_PW))
    assert verdict(policy, ops) is Verdict.ALLOWED
    assert verdict(policy, request("/metrics", query_token=METRICS_TOKEN)) is Verdict.MISSING


def test_a_role_without_credentials_is_closed_off_loopback_or_behind_proxies() -> None:
    settings = Settings(security=SecuritySettings(ops_password=OPS_PW))
    off = policy_for(settings, loopback=False)
    assert verdict(off, request("/metrics")) is Verdict.CLOSED
    proxied = dataclasses.replace(
        settings, security=dataclasses.replace(settings.security, trusted_proxies=("10.0.0.5",))
    )
    behind = policy_for(proxied, loopback=True)
    assert verdict(behind, request("/metrics")) is Verdict.CLOSED


def test_proxy_headers_count_only_from_a_trusted_peer() -> None:
    policy = policy_for(
        all_roles(trusted_proxies=("10.0.0.5",), proxy_role_prefix="callbot-"), loopback=False
    )
    sso = {"x_forwarded_user": "alice", "x_forwarded_groups": "staff, callbot-ops"}
    from_proxy = policy.first_look(request("/api/calls", peer="10.0.0.5", **sso))
    assert from_proxy is not None and from_proxy.allowed and from_proxy.user == "alice"
    assert verdict(policy, request("/api/calls", peer="10.0.0.6", **sso)) is Verdict.MISSING
    assert verdict(policy, request("/agent", peer="10.0.0.5", **sso)) is Verdict.FORBIDDEN
    no_prefix = {"x_forwarded_user": "bob", "x_forwarded_groups": "ops"}
    assert verdict(policy, request("/api/calls", peer="10.0.0.5", **no_prefix)) is (
        Verdict.FORBIDDEN
    )
    # No user header from the proxy: the request's own credentials decide.
    assert verdict(policy, request("/metrics", peer="10.0.0.5")) is Verdict.MISSING


def test_proxy_header_names_are_configurable_and_the_client_is_read_through_proxies() -> None:
    policy = policy_for(
        all_roles(
            trusted_proxies=("10.0.0.0/8",),
            proxy_user_header="Remote-User",
            proxy_roles_header="Remote-Groups",
        ),
        loopback=False,
    )
    sso = request("/dashboard", peer="10.1.2.3", remote_user="carol", remote_groups="ops")
    assert verdict(policy, sso) is Verdict.ALLOWED
    via = request("/dashboard", peer="10.1.2.3", x_forwarded_for="1.1.1.1, 203.0.113.7")
    assert policy.client(via) == "203.0.113.7"
    spoofed = request("/dashboard", peer="192.0.2.1", x_forwarded_for="203.0.113.7")
    assert policy.client(spoofed) == "192.0.2.1"


def test_trusted_proxies_from_the_environment_and_toml(tmp_path: Any) -> None:
    env = {"CALLBOT_SECURITY_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"}
    assert load_settings(env=env).security.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    toml = tmp_path / "c.toml"
    toml.write_text('[security]\ntrusted_proxies = ["::1"]\n')
    assert load_settings(toml, env={}).security.trusted_proxies == ("::1",)
