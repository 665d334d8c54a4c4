"""The access gate over real sockets: uvicorn on loopback, httpx and websockets clients."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from callbot.config import Settings
from callbot.handover.settings import HandoverSettings
from callbot.observability.metrics import CallMetrics
from callbot.security.access import AccessPolicy
from callbot.security.gate import AccessGate
from callbot.security.passwords import PasswordHash, hash_password
from callbot.security.ratelimit import FailureLimiter
from callbot.security.settings import SecuritySettings
from callbot.web.exposure import policy_for
from callbot.web.serving import serve_app

OPS_PASSWORD = "correct horse battery"
AGENT_TOKEN = "agent-token-123"
TIMEOUT_S = 10.0


def settings(**security: Any) -> Settings:
    return Settings(
        security=SecuritySettings(
            **{"ops_password_hash": hash_password(OPS_PASSWORD, log2_n=4), **security}
        ),
        handover=HandoverSettings(console_token=AGENT_TOKEN),
    )


def app_behind(policy: AccessPolicy, metrics: CallMetrics, limit: int = 10) -> FastAPI:
    app = FastAPI()

    @app.get("/api/calls")
    async def calls() -> list[str]:
        return ["redacted"]

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/agent/ws")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        await ws.close()

    app.add_middleware(
        AccessGate,
        policy=policy,
        limiter=FailureLimiter(limit),
        on_refused=metrics.access_refused,
    )
    return app


Serve = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    running = []

    async def start(
        config: Settings, *, loopback: bool = True, limit: int = 10
    ) -> tuple[str, CallMetrics]:
        metrics = CallMetrics()
        policy = policy_for(config, loopback=loopback)
        server = await serve_app(app_behind(policy, metrics, limit))
        running.append(server)
        return f"127.0.0.1:{server.port}", metrics

    yield start
    for server in running:
        await server.stop()


def refused(metrics: CallMetrics, surface: str, reason: str) -> float:
    labels = {"surface": surface, "reason": reason}
    return metrics.registry.get_sample_value("callbot_auth_failures_total", labels) or 0.0


async def test_right_role_in_wrong_role_out(serve: Serve) -> None:
    host, metrics = await serve(settings())
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=TIMEOUT_S) as client:
        missing = await client.get("/api/calls")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith('Basic realm="callbot ops"')
        assert (await client.get("/api/calls", auth=("ops", OPS_PASSWORD))).json() == ["redacted"]
        agent = await client.get("/api/calls", headers={"Authorization": f"Bearer {AGENT_TOKEN}"})
        assert agent.status_code == 403
        assert (await client.get("/healthz")).status_code == 200
    assert refused(metrics, "ops", "missing") == 1
    assert refused(metrics, "ops", "forbidden") == 1


async def test_websocket_upgrades_get_the_same_answers(serve: Serve) -> None:
    host, metrics = await serve(settings())
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"ws://{host}/agent/ws"):
            pass
    assert caught.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"ws://{host}/agent/ws?token=wrong"):
            pass
    assert caught.value.response.status_code == 401
    async with connect(f"ws://{host}/agent/ws?token={AGENT_TOKEN}") as ws:
        assert await ws.recv() == "hello"
    assert refused(metrics, "agent", "bad_credentials") == 1


async def test_failed_logins_are_limited_counted_and_logged_without_the_secret(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    host, metrics = await serve(settings(), limit=10)
    caplog.set_level(logging.INFO, logger="callbot.security.gate")
    wrong = ("ops", "guess-number-n")
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=TIMEOUT_S) as client:
        for n in range(10):
            assert (await client.get("/api/calls", auth=wrong)).status_code == 401, n
        limited = await client.get("/api/calls", auth=("ops", OPS_PASSWORD))
        assert limited.status_code == 429  # even the right password, until the minute is over
        assert 55 <= int(limited.headers["retry-after"]) <= 60
        with pytest.raises(InvalidStatus) as caught:
            async with connect(f"ws://{host}/agent/ws?token={AGENT_TOKEN}"):
                pass
        assert caught.value.response.status_code == 429
        assert (await client.get("/healthz")).status_code == 200
    assert refused(metrics, "ops", "bad_credentials") == 10
    assert refused(metrics, "ops", "rate_limited") == 1
    assert refused(metrics, "agent", "rate_limited") == 1
    lines = [r.getMessage() for r in caplog.records]
    assert sum("wrong credentials for ops /api/calls from 127.0.0.1" in m for m in lines) == 10
    assert sum("refused (429)" in m for m in lines) == 1
    assert not any("guess" in m or OPS_PASSWORD in m or AGENT_TOKEN in m for m in lines)


async def test_a_hashed_password_is_checked_off_the_event_loop(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = settings(ops_password_hash=hash_password(OPS_PASSWORD))  # ln=14: the real cost
    threads = []
    original = PasswordHash.derive

    def spying(self: PasswordHash, password: str) -> bytes:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(self, password)

    monkeypatch.setattr(PasswordHash, "derive", spying)
    host, _ = await serve(config)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=TIMEOUT_S) as client:
        assert (await client.get("/api/calls", auth=("ops", OPS_PASSWORD))).status_code == 200
        assert (await client.get("/api/calls", auth=("ops", OPS_PASSWORD))).status_code == 200
        assert (await client.get("/api/calls", auth=("ops", "nope"))).status_code == 401
    assert threads == [False, False]  # hashed twice (the second right one was remembered)


def from_address(address: str) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(local_address=address)


async def test_proxy_headers_are_honoured_from_a_trusted_peer_only(serve: Serve) -> None:
    host, _ = await serve(settings(trusted_proxies=("127.0.0.1",)))
    sso = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "ops"}
    base = f"http://{host}"
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as proxy:
        assert (await proxy.get("/api/calls", headers=sso)).status_code == 200
        no_role = {**sso, "X-Forwarded-Groups": "agent"}
        assert (await proxy.get("/api/calls", headers=no_role)).status_code == 403
    async with httpx.AsyncClient(
        base_url=base, timeout=TIMEOUT_S, transport=from_address("127.0.0.2")
    ) as stranger:  # same headers from a peer that is not the proxy
        assert (await stranger.get("/api/calls", headers=sso)).status_code == 401


async def test_forwarded_for_picks_the_client_only_behind_a_trusted_proxy(serve: Serve) -> None:
    host, _ = await serve(settings(trusted_proxies=("127.0.0.1",)), limit=2)
    base, wrong = f"http://{host}", ("ops", "nope")
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as proxy:
        for _ in range(2):
            await proxy.get("/api/calls", auth=wrong, headers={"X-Forwarded-For": "203.0.113.5"})
        one = {"X-Forwarded-For": "203.0.113.5"}
        assert (await proxy.get("/api/calls", auth=wrong, headers=one)).status_code == 429
        other = {"X-Forwarded-For": "203.0.113.6"}  # another client behind the same proxy
        assert (await proxy.get("/api/calls", auth=wrong, headers=other)).status_code == 401
    async with httpx.AsyncClient(
        base_url=base, timeout=TIMEOUT_S, transport=from_address("127.0.0.2")
    ) as direct:  # not a proxy: its X-Forwarded-For cannot dodge the limit
        for n in range(3):
            spoof = {"X-Forwarded-For": f"198.51.100.{n}"}
            status = (await direct.get("/api/calls", auth=wrong, headers=spoof)).status_code
            assert status == (429 if n == 2 else 401)


async def test_nothing_configured_on_loopback_stays_open(serve: Serve) -> None:
    host, _ = await serve(Settings())
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=TIMEOUT_S) as client:
        assert (await client.get("/api/calls")).status_code == 200
    async with connect(f"ws://{host}/agent/ws") as ws:
        assert await ws.recv() == "hello"
