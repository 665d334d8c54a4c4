"""The hand-over hub end to end: stored first, then pushed live and to a loopback CRM."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from callbot.handover.context import HandoverContext, HandoverTurn
from callbot.handover.hub import HandoverHub
from callbot.handover.settings import HandoverSettings
from callbot.web.serving import serve_app

STEP_TIMEOUT_S = 5.0


def sample_context(
    summary: str = "Madame Martin demande où en est le remboursement de sa consultation.",
    *,
    created_at: float | None = None,
    caller_number: str | None = "+33612345678",
    queue: str = "remboursements",
) -> HandoverContext:
    return HandoverContext(
        context_id=uuid.uuid4().hex,
        call_id=f"call-{uuid.uuid4().hex[:8]}",
        created_at=time.time() if created_at is None else created_at,
        caller_number=caller_number,
        queue=queue,
        skill="remboursement",
        language="fr-FR",
        reason="L'appelant a demandé à parler à un conseiller",
        summary=summary,
        intents=("suivi_remboursement", "parler_conseiller"),
        slots=(("numero_securite_sociale", "2 84 05 75 123 456 78"), ("date_soins", "12/03")),
        identity_checked=True,
        turns=(
            HandoverTurn("bot", "Bonjour, que puis-je faire pour vous ?"),
            HandoverTurn("caller", "je voudrais savoir où en est mon remboursement", "suivi"),
            HandoverTurn("bot", "Quel est votre numéro de sécurité sociale ?"),
            HandoverTurn("caller", "c'est le <NIR>"),
            HandoverTurn("caller", "je veux parler à quelqu'un", "parler_conseiller"),
        ),
        bot_time_s=74.5,
    )


async def next_event(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async with asyncio.timeout(STEP_TIMEOUT_S):
        return await anext(events)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HandoverHub]:
    opened = HandoverHub(tmp_path / "handover.sqlite3")
    yield opened
    await opened.aclose()


class TestStore:
    async def test_published_context_survives_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "data" / "handover.sqlite3"
        first = HandoverHub(path, clock=lambda: 2_100.0)
        old = sample_context("Ancien appel.", created_at=1_000.0)
        new = sample_context("Nouvel appel.", created_at=2_000.0)
        await first.publish(old)
        await first.publish(new)
        await first.update(old.context_id, "answered", "agent 12")
        # Durable before aclose: another connection already sees the rows.
        with sqlite3.connect(path) as peek:
            assert peek.execute("SELECT count(*) FROM handovers").fetchone() == (2,)
            mode = peek.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        await first.aclose()

        second = HandoverHub(path, clock=lambda: 2_200.0)  # identifiers still in clear
        try:
            assert [c.summary for c in second.recent(10)] == ["Nouvel appel.", "Ancien appel."]
            again = second.get(old.context_id)
            assert again is not None and again.status == "answered"
            assert again.status_at is not None and again.turns == old.turns
            assert second.detail(old.context_id) == "agent 12"
            assert second.get(new.context_id) == new
            assert second.get("nope") is None
        finally:
            await second.aclose()

    async def test_old_contexts_are_read_from_disk(self, tmp_path: Path) -> None:
        hub = HandoverHub(tmp_path / "h.sqlite3", memory_limit=2)
        try:
            contexts = [sample_context(f"n{i}", created_at=float(i)) for i in range(4)]
            for ctx in contexts:
                await hub.publish(ctx)
            assert [c.summary for c in hub.recent(10)] == ["n3", "n2"]
            assert hub.get(contexts[0].context_id) == contexts[0]
            updated = await hub.update(contexts[0].context_id, "abandoned")
            assert updated is not None and updated.status == "abandoned"
        finally:
            await hub.aclose()

    async def test_in_memory_hub(self) -> None:
        hub = HandoverHub(None)
        ctx = sample_context()
        await hub.publish(ctx)
        assert hub.get(ctx.context_id) == ctx
        await hub.aclose()

    async def test_from_settings(self, tmp_path: Path) -> None:
        hub = HandoverHub.from_settings(HandoverSettings(store_path=tmp_path / "x" / "h.sqlite3"))
        await hub.publish(sample_context())
        await hub.aclose()
        assert (tmp_path / "x" / "h.sqlite3").is_file()


class TestIdentifiers:
    """Issue 15: the number and the NIR stay readable only while an agent may need them."""

    async def test_expire_after_the_last_news_on_disk_and_on_consoles(self, tmp_path: Path) -> None:
        now = [1_000.0]
        hub = HandoverHub(
            tmp_path / "h.sqlite3", caller_salt="s", identifiers_ttl_s=600.0, clock=lambda: now[0]
        )
        try:
            ctx = sample_context(created_at=1_000.0)
            await hub.publish(ctx)
            events = hub.subscribe()
            now[0] = 1_500.0
            await hub.update(ctx.context_id, "answered", "agent 12")
            assert (await next_event(events))["context"]["caller_number"] == "+33612345678"
            now[0] = 2_099.0
            assert await hub.expire_identifiers() == 0
            now[0] = 2_100.0
            assert await hub.expire_identifiers() == 1
            event = await next_event(events)
            assert event["type"] == "status" and event["context"]["caller_number"] == "<TEL>"
            assert event["detail"] == "agent 12"
            shown = hub.get(ctx.context_id)
            assert shown is not None and shown.identifiers_expired
            assert hub.recent(1)[0].slots[0] == (
                "numero_securite_sociale",
                "<NUMERO_SECURITE_SOCIALE>",
            )
        finally:
            await hub.aclose()

    async def test_an_abandoned_hand_over_loses_them_at_once(self, hub: HandoverHub) -> None:
        ctx = sample_context()
        await hub.publish(ctx)
        abandoned = await hub.update(ctx.context_id, "abandoned", "caller hung up in the queue")
        assert abandoned is not None and abandoned.caller_number == "<TEL>"
        stored = hub.get(ctx.context_id)
        assert stored is not None and stored.identifiers_expired

    async def test_a_restart_expires_what_was_left_in_clear(self, tmp_path: Path) -> None:
        path = tmp_path / "h.sqlite3"
        first = HandoverHub(path, identifiers_ttl_s=60.0, clock=lambda: 1_000.0)
        ctx = sample_context(created_at=1_000.0)
        await first.publish(ctx)
        await first.aclose()
        second = HandoverHub(path, identifiers_ttl_s=60.0, clock=lambda: 1_060.0)
        try:
            again = second.get(ctx.context_id)
            assert again is not None and again.caller_number == "<TEL>"
        finally:
            await second.aclose()

    async def test_erased_contexts_leave_the_console(self, tmp_path: Path) -> None:
        path = tmp_path / "h.sqlite3"
        hub = HandoverHub(path, caller_salt="s")
        try:
            ctx = sample_context()
            await hub.publish(ctx)
            with sqlite3.connect(path) as other:  # callbot records erase, elsewhere
                other.execute("DELETE FROM handovers")
            await hub.expire_identifiers()
            assert hub.recent(10) == [] and hub.get(ctx.context_id) is None
        finally:
            await hub.aclose()


class TestLive:
    async def test_fan_out_to_two_subscribers(self, hub: HandoverHub) -> None:
        first, second = hub.subscribe(), hub.subscribe()
        ctx = sample_context()
        await hub.publish(ctx)
        updated = await hub.update(ctx.context_id, "answered", "poste 204")
        assert updated is not None and updated.status == "answered"
        for sub in (first, second):
            created = await next_event(sub)
            assert created["type"] == "handover"
            assert HandoverContext.from_json(created["context"]) == ctx
            status = await next_event(sub)
            assert status["type"] == "status" and status["detail"] == "poste 204"
            assert status["context"]["status"] == "answered"
            assert status["context"]["status_at"] >= ctx.created_at

    async def test_the_warm_transfer_details_in_the_call_language(self, hub: HandoverHub) -> None:
        """Issue 15: "no_answer : TIMEOUT", "caller hung up in the queue" on a French
        console; the agent reads what became of the call in the call's language."""
        sub = hub.subscribe()
        french, english = sample_context(), replace(sample_context(), language="en-US")
        for ctx in (french, english):
            await hub.publish(ctx)
            await hub.update(ctx.context_id, "no_answer", "TIMEOUT")
            await hub.update(ctx.context_id, "callback_requested", "rappels")
        details = [(await next_event(sub))["detail"] for _ in range(6)]
        assert details == [
            "",
            "aucun conseiller n'a répondu à temps",
            "à rappeler par la file rappels",
            "",
            "no agent answered in time",
            "to be called back by the rappels queue",
        ]
        await hub.update(english.context_id, "abandoned", "caller hung up in the queue")
        assert hub.detail(english.context_id) == "the caller hung up while waiting"
        await hub.update(french.context_id, "abandoned", "caller hung up in the queue")
        assert hub.detail(french.context_id) == "l'appelant a raccroché pendant l'attente"

    async def test_update_of_unknown_or_invalid(self, hub: HandoverHub) -> None:
        sub = hub.subscribe()
        assert await hub.update("unknown", "answered") is None
        ctx = sample_context()
        await hub.publish(ctx)
        with pytest.raises(ValueError, match="unknown hand-over status"):
            await hub.update(ctx.context_id, "lost")
        assert (await next_event(sub))["type"] == "handover"
        sub.end()
        with pytest.raises(StopAsyncIteration):
            await next_event(sub)


@dataclass
class Crm:
    """A CRM endpoint on loopback: records what it got; ``delay_s`` makes it slow."""

    delay_s: float = 0.0
    status_code: int = 200
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            event = request.headers.get("x-callbot-event", "")
            self.received.append((event, await request.json()))
            return Response(status_code=self.status_code)

        return app


def closed_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestWebhook:
    async def test_up_receives_context_then_status_in_order(self, tmp_path: Path) -> None:
        crm = Crm()
        server = await serve_app(crm.app())
        hub = HandoverHub(tmp_path / "h.sqlite3", f"http://127.0.0.1:{server.port}/hook")
        try:
            ctx = sample_context()
            await hub.publish(ctx)
            await hub.update(ctx.context_id, "no_answer")
            await hub.flush_webhook(STEP_TIMEOUT_S)
        finally:
            await hub.aclose()
            await server.stop()
        assert [event for event, _ in crm.received] == ["handover.created", "handover.status"]
        assert HandoverContext.from_json(crm.received[0][1]) == ctx
        assert crm.received[1][1]["status"] == "no_answer"
        assert hub.webhook_stats.delivered == 2 and hub.webhook_stats.failed == 0

    async def test_told_when_the_identifiers_expire(self, tmp_path: Path) -> None:
        """Issue 15: a CRM kept the caller number and the NIR it was sent, unaware that
        callbot had redacted them."""
        crm = Crm()
        server = await serve_app(crm.app())
        now = [1_000.0]
        url = f"http://127.0.0.1:{server.port}/hook"
        hub = HandoverHub(tmp_path / "h.sqlite3", url, identifiers_ttl_s=60.0, clock=lambda: now[0])
        try:
            ctx = sample_context(created_at=1_000.0)
            await hub.publish(ctx)
            now[0] = 1_060.0
            assert await hub.expire_identifiers() == 1
            assert await hub.expire_identifiers() == 0  # told once
            await hub.flush_webhook(STEP_TIMEOUT_S)
        finally:
            await hub.aclose()
            await server.stop()
        assert [event for event, _ in crm.received] == ["handover.created", "handover.expired"]
        expired = crm.received[1][1]
        assert expired["context_id"] == ctx.context_id and expired["caller_number"] == "<TEL>"
        assert "2 84 05 75 123 456 78" not in str(expired)

    async def test_down_never_blocks_nor_breaks_publish(self, tmp_path: Path) -> None:
        url = f"http://127.0.0.1:{closed_port()}/hook"
        hub = HandoverHub(tmp_path / "h.sqlite3", url, webhook_backoff_s=0.01)
        sub = hub.subscribe()
        ctx = sample_context()
        started = time.monotonic()
        await hub.publish(ctx)
        assert time.monotonic() - started < 1.0
        assert (await next_event(sub))["context"]["context_id"] == ctx.context_id
        await hub.flush_webhook(STEP_TIMEOUT_S)
        assert hub.webhook_stats.failed == 1 and hub.webhook_stats.delivered == 0
        assert hub.get(ctx.context_id) == ctx
        await hub.aclose()
