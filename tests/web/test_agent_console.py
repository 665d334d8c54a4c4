"""The agent console in a real headless Chromium: transfers appear live, as they happen.

The app is the lead's ``create_app`` with the console mounted, served by uvicorn on a
loopback port; the hub stores into a real SQLite file. With the page open, two hand-overs
are published and one is answered: the page must show them without reloading, the
waiting time must tick, and the badge must change. Set ``AGENT_SCREENSHOT=/path.png`` to
keep the screenshot (it is always taken, into the test's temp folder).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page

from callbot.handover.console import mount_console
from callbot.handover.hub import HandoverHub
from callbot.handover.settings import HandoverSettings
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.media.types import CallInfo, InboundEvent, MediaSink
from callbot.records.store import RecordStore, open_store
from callbot.web.app import WebContext, create_app
from callbot.web.serving import serve_app
from tests.handover.test_hub import sample_context
from tests.records.test_callbacks import CALLER, a_callback, out_of_hours_call
from tests.web.browser import Launch, watched_page


async def no_calls(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
    await sink.hangup()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[HandoverHub, str]]:
    hub = HandoverHub(tmp_path / "handover.sqlite3")
    app = create_app(WebContext(handler=no_calls, media=ChanWebsocketSettings()))
    mount_console(app, hub)
    running = await serve_app(app)
    yield hub, f"http://127.0.0.1:{running.port}"
    await hub.aclose()
    await running.stop()


async def seconds_waited(page: Page, selector: str) -> int:
    return int(await page.locator(selector).get_attribute("data-seconds") or -1)


async def next_tick(page: Page, selector: str) -> None:
    """Until the page's one-second tick has run again: the waiting time shown by
    ``selector`` (a call still queued) has moved on. Bounded by the page's timeout."""
    before = await seconds_waited(page, selector)
    await page.wait_for_function(
        f"+document.querySelector({json.dumps(selector)}).dataset.seconds > {before}"
    )


async def test_transfers_appear_live(
    served: tuple[HandoverHub, str], chromium: Launch, tmp_path: Path
) -> None:
    hub, base_url = served
    errors: list[str] = []
    shot = tmp_path / "agent.png"
    first = sample_context(created_at=time.time() - 95.0)
    second = sample_context(
        "M. Durand ne reçoit plus ses indemnités journalières depuis mars ; "
        "son identité n'a pas pu être vérifiée.",
        caller_number="+33198765432",
        queue="indemnites",
    )
    second_waiting = f"[data-id='{second.context_id}'] .wait"
    async with chromium() as browser:
        page = await watched_page(browser, errors, viewport=(1280, 860))
        await page.goto(f"{base_url}/agent")
        await page.wait_for_selector("#console[data-state=live]")
        assert await page.locator("#empty").is_visible()

        await hub.publish(first)
        await hub.publish(second)
        await page.wait_for_function("document.querySelectorAll('#handovers .item').length == 2")
        order = await page.locator("#handovers .item").evaluate_all(
            "items => items.map(i => i.dataset.id)"
        )
        detail_summary = await page.locator("#d-summary").inner_text()
        number = await page.locator("#d-number").inner_text()
        slots = await page.locator("#d-slots").inner_text()
        turns = await page.locator("#d-turns li").count()
        await next_tick(page, second_waiting)  # waiting times tick

        await hub.update(first.context_id, "answered", "poste 204")
        item = page.locator(f"#handovers .item[data-id='{first.context_id}']")
        await page.wait_for_selector(f".item[data-id='{first.context_id}'][data-status=answered]")
        badge = await item.locator(".badge").inner_text()
        detail_badge = await page.locator("#d-status").inner_text()
        status_note = await page.locator("#d-status-detail").inner_text()
        frozen = await seconds_waited(page, "#d-wait")
        await page.locator(f".item[data-id='{second.context_id}']").click()
        await page.locator(f".item[data-id='{first.context_id}']").click()
        await next_tick(page, second_waiting)  # the same tick redraws the open detail
        still = await seconds_waited(page, "#d-wait")
        await page.screenshot(path=str(shot), full_page=True)
        if target := os.environ.get("AGENT_SCREENSHOT"):
            await page.screenshot(path=target, full_page=True)
    assert errors == []
    assert order == [second.context_id, first.context_id]  # newest first
    assert detail_summary == first.summary  # the first arrival is opened
    assert number == "06 12 34 56 78"
    assert "Numero securite sociale" in slots and "2 84 05 75 123 456 78" in slots
    assert turns == len(first.turns)
    assert 95 <= frozen <= 120
    assert still == frozen  # stops ticking once answered
    assert badge == detail_badge == "Pris en charge"
    assert status_note == "Pris en charge : poste 204"
    assert shot.stat().st_size > 20_000


async def test_screen_pop_shows_one_context(
    served: tuple[HandoverHub, str], chromium: Launch
) -> None:
    hub, base_url = served
    ctx = sample_context()
    await hub.publish(ctx)
    await hub.publish(sample_context("Un autre appel."))
    errors: list[str] = []
    async with chromium() as browser:
        page = await watched_page(browser, errors)
        await page.goto(f"{base_url}/agent/context/{ctx.context_id}")
        await page.wait_for_selector(f"#detail[data-id='{ctx.context_id}']")
        summary = await page.locator("#d-summary").inner_text()
        await hub.update(ctx.context_id, "abandoned")
        await page.wait_for_selector("#d-status[data-status=abandoned]")
        list_visible = await page.locator("#handovers").is_visible()
    assert errors == []
    assert summary == ctx.summary and not list_visible


@pytest.fixture
async def served_callbacks(tmp_path: Path) -> AsyncIterator[tuple[HandoverHub, RecordStore, str]]:
    """The console with callbacks owed: two asked out of hours, in a real records file."""
    hub = HandoverHub(tmp_path / "handover.sqlite3")
    store = open_store(str(tmp_path / "records.sqlite3"), "salt")
    first = a_callback("cb-first", "c1", created_at=time.time() - 3600)
    second = a_callback(
        "cb-second", "c2", number="0611223344", preferred_time=None, created_at=time.time() - 60
    )
    store.save(out_of_hours_call("c1"), CALLER, callback=first)
    store.save(out_of_hours_call("c2"), CALLER, callback=second)
    app = create_app(WebContext(handler=no_calls, media=ChanWebsocketSettings()))
    mount_console(app, hub, store)
    running = await serve_app(app)
    yield hub, store, f"http://127.0.0.1:{running.port}"
    await hub.aclose()
    await running.stop()
    store.close()


async def test_agents_claim_then_close_callbacks(
    served_callbacks: tuple[HandoverHub, RecordStore, str], chromium: Launch, tmp_path: Path
) -> None:
    """Alice takes the first callback, sees Bob take the second from his own console, calls
    back and closes hers as reached: it leaves the list and the store erases its number.
    A callback asked meanwhile appears without a reload."""
    hub, store, base_url = served_callbacks
    errors: list[str] = []
    first, second = "[data-id='cb-first']", "[data-id='cb-second']"
    async with chromium() as browser:
        page = await watched_page(browser, errors, viewport=(1280, 900))
        await page.goto(f"{base_url}/agent")
        await page.wait_for_selector("#console[data-state=live]")
        await page.wait_for_function("document.querySelectorAll('#callbacks .cb').length == 2")
        order = await page.locator("#callbacks .cb").evaluate_all(
            "items => items.map(i => i.dataset.id)"
        )
        number = await page.locator(f"{first} .who").inner_text()
        preferred = await page.locator(f"{first} .pref").inner_text()

        await page.locator(f"{first} button.primary").click()  # no name yet
        asked_for_name = await page.locator("#error").inner_text()
        await page.fill("#agent-name", "Alice")
        await page.locator(f"{first} button.primary").click()
        await page.wait_for_selector(f"#callbacks {first}[data-status=claimed][data-mine=true]")
        choices = await page.locator(f"{first} button[data-result]").all_inner_texts()
        error_hidden = await page.locator("#error").is_hidden()

        async with httpx.AsyncClient(base_url=base_url) as bob:  # Bob's console, elsewhere
            taken = await bob.post("/agent/callbacks/cb-second/claim", json={"agent": "Bob"})
            refused = await bob.post("/agent/callbacks/cb-first/claim", json={"agent": "Bob"})
        await page.wait_for_selector(f"#callbacks {second}[data-status=claimed][data-mine=false]")
        holder = await page.locator(f"{second} .holder").inner_text()

        await page.locator(f"{first} button[data-result=reached]").click()
        await page.wait_for_function("!document.querySelector(\"#callbacks [data-id='cb-first']\")")
        hub.callback_changed("requested", a_callback("cb-new", "c3", created_at=time.time()))
        await page.wait_for_selector("#callbacks [data-id='cb-new'][data-status=open]")
        count = await page.locator("#callbacks-count").inner_text()
        await page.screenshot(path=str(tmp_path / "callbacks.png"), full_page=True)
    assert errors == []
    assert order == ["cb-first", "cb-second"]  # oldest first
    assert number == "06 98 76 54 32" and preferred == "Préférence : demain matin"
    assert asked_for_name == "Indiquez votre nom pour prendre un rappel."
    assert choices == ["Joint", "Pas de réponse", "Faux numéro"] and error_hidden
    assert taken.status_code == 200 and refused.status_code == 409
    assert holder == "Pris par Bob"
    assert count == "— 2"
    closed = store.callback("cb-first")
    assert closed is not None and (closed.status, closed.result) == ("closed", "reached")
    assert (closed.claimed_by, closed.number) == ("Alice", None)


async def test_the_console_of_one_node_shows_the_transfers_of_another(
    postgres_url: str, chromium: Launch
) -> None:
    """Two nodes on one PostgreSQL database: the console open on node B shows, live, the
    transfer a worker (node A) published and the agent's answer the control role (node
    A too, here) learnt, without a reload."""
    nodes = [HandoverHub.from_settings(HandoverSettings(), "salt", database_url=postgres_url)]
    nodes.append(HandoverHub.from_settings(HandoverSettings(), "salt", database_url=postgres_url))
    for hub in nodes:
        await hub.start()
    node_a, node_b = nodes
    assert node_b.listener is not None
    await node_b.listener.wait_listening()
    app = create_app(WebContext(handler=no_calls, media=ChanWebsocketSettings()))
    mount_console(app, node_b)
    running = await serve_app(app)
    ctx = sample_context()
    errors: list[str] = []
    try:
        async with chromium() as browser:
            page = await watched_page(browser, errors)
            await page.goto(f"http://127.0.0.1:{running.port}/agent")
            await page.wait_for_selector("#console[data-state=live]")
            await node_a.publish(ctx)
            await page.wait_for_selector(f"#handovers .item[data-id='{ctx.context_id}']")
            summary = await page.locator("#d-summary").inner_text()
            await node_a.update(ctx.context_id, "answered", "poste 204")
            await page.wait_for_selector(f".item[data-id='{ctx.context_id}'][data-status=answered]")
            note = await page.locator("#d-status-detail").inner_text()
    finally:
        await running.stop()
        for hub in nodes:
            await hub.aclose()
    assert errors == []
    assert summary == ctx.summary
    assert note == "Pris en charge : poste 204"
