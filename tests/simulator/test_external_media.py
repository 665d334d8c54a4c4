"""Call identity through the simulated Asterisk: direct Dial, then ARI calls, one connection.

Real pieces on loopback: the Stasis bridge over the simulated ARI, ARI externalMedia legs
dialled through a simulated websocket_client connection (v() parameters stick to it as in
Asterisk 23), the chan_websocket edge on uvicorn, and a SQLite records store. The bot is
a stub that stores one record per call when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket

from callbot.bridge.ari_client import AriClient
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.media.call_identity import CallIdRegistry
from callbot.media.chan_websocket_edge import ChanWebsocketSettings, serve_call
from callbot.media.session import SessionSettings
from callbot.media.types import CallEnded, CallInfo, InboundEvent, MediaSink
from callbot.protocols.asterisk_conf import parse_conf
from callbot.records.sqlite import SqliteStore
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.websocket_client import WebsocketClientConnection, connections_from_conf
from callbot.web.serving import serve_app
from tests.records.seed import journal

ASTERISK = Path(__file__).parents[2] / "asterisk"

DIRECT_ID = "1763700000.1"  # ${UNIQUEID} of the direct-mode caller
SETTINGS = ChanWebsocketSettings(
    start_timeout_s=2.0, session=SessionSettings(handler_drain_timeout_s=1.0)
)


@dataclass
class RecordingBot:
    """Keeps each call's CallInfo; stores a record for it when the call ends."""

    store: SqliteStore
    calls: list[CallInfo] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        self.calls.append(info)
        while not isinstance(await queue.get(), CallEnded):
            pass
        record = journal(info.call_id, time.time(), transport=info.transport)
        saved = await asyncio.to_thread(self.store.save, record, info.caller_number)
        self.stored.append(saved.call_id)


@dataclass
class Pbx:
    sim: SimulatedAri
    dialer: ExternalMediaDialer
    connections: dict[str, WebsocketClientConnection]
    bot: RecordingBot
    bridge: StasisBridge
    urls: list[str]
    """The URI of every media websocket the bot accepted, in order."""

    async def wait(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        await self.sim.wait_for(predicate, timeout_s)

    async def direct_call(self, connection: str, call_id: str | None, number: str) -> CallInfo:
        """``Dial(WebSocket/<connection>/c(slin16)f(json)v(call_id=...,caller=...))``;
        without ``call_id`` the dial string has no v() at all."""
        before = len(self.bot.calls)
        peer = SimulatedChanWebsocketCall(
            self.connections[connection],
            call_id=call_id or "unused",
            caller_number=number,
            call_id_in_query=call_id is not None,
            call_id_in_variables=False,
            speed=4,
        )
        async with peer:
            await self.wait(lambda: len(self.bot.calls) > before)
        await self.wait(lambda: len(self.bot.stored) > before)
        return self.bot.calls[before]

    async def ari_call(self, number: str) -> tuple[str, CallInfo]:
        """A caller in ``Stasis(callbot,...)``: the bridge attaches the bot, the caller hangs up."""
        before = len(self.bot.calls)
        caller_id = self.sim.place_call(number, ["3949"])
        await self.wait(lambda: len(self.bot.calls) > before)
        self.sim.hangup_channel(caller_id)
        await self.wait(lambda: len(self.bot.stored) > before)
        return caller_id, self.bot.calls[before]


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[Pbx]:
    store = SqliteStore(tmp_path / "records.sqlite3")
    bot = RecordingBot(store)
    call_ids = CallIdRegistry()
    urls: list[str] = []
    app = FastAPI()

    @app.websocket("/media")
    async def media(ws: WebSocket) -> None:
        urls.append(str(ws.url))
        await serve_call(ws, bot, SETTINGS, call_ids=call_ids)

    server = await serve_app(app)
    uri = f"ws://127.0.0.1:{server.port}/media"
    connections = {
        "callbot": WebsocketClientConnection("callbot", uri),
        "callbot-direct": WebsocketClientConnection("callbot-direct", uri),
    }
    sim = SimulatedAri(password="pw", websocket_connections=connections)
    dialer = ExternalMediaDialer(sim, connections, speed=4)
    sim.on_external_media = dialer
    await sim.start()
    ari = AriSettings(
        url=sim.url, password="pw", reconnect_initial_delay_s=0.05, reconnect_max_delay_s=0.2
    )
    client = AriClient(ari)
    bridge = StasisBridge(client, ari)
    task = asyncio.create_task(bridge.run())
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    try:
        yield Pbx(sim, dialer, connections, bot, bridge, urls)
    finally:
        task.cancel()
        await bridge.stop()
        await client.close()
        await dialer.aclose()
        await sim.stop()
        await server.stop()
        store.close()


async def test_a_direct_call_does_not_lend_its_id_to_later_ari_calls(
    pbx: Pbx, caplog: pytest.LogCaptureFixture
) -> None:
    """The day-one bug: direct mode and ARI share the ``callbot`` connection."""
    with caplog.at_level(logging.INFO, logger="callbot.media"):
        direct = await pbx.direct_call("callbot", DIRECT_ID, "+33612345678")
        first_id, first = await pbx.ari_call("0611111111")
        second_id, second = await pbx.ari_call("0622222222")

    # The simulated Asterisk reproduces the stickiness: both ARI legs carried the direct id.
    assert all(f"call_id={DIRECT_ID}" in url for url in pbx.urls) and len(pbx.urls) == 3
    assert (direct.call_id, direct.caller_number) == (DIRECT_ID, "+33612345678")
    assert (first.call_id, first.caller_number) == (first_id, "0611111111")
    assert (second.call_id, second.caller_number) == (second_id, "0622222222")
    for leg in pbx.dialer.peers.values():
        assert leg.call_id == pbx.sim.channels[leg.call_id].id  # CALLBOT_CALL_ID = caller
    assert [c.call_id for c in pbx.bot.calls] == [DIRECT_ID, first_id, second_id]
    rows = pbx.bot.store.calls(0)
    assert sorted(r.call_id for r in rows) == sorted([DIRECT_ID, first_id, second_id])
    assert all(r.duplicate_of is None for r in rows)
    ignored = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(ignored) == 2 and all(f"query call_id {DIRECT_ID} ignored" in m for m in ignored)


def shipped_direct_connection() -> str:
    """The connection the shipped ``[callbot-direct]`` context dials."""
    conf = parse_conf((ASTERISK / "extensions.conf").read_text(), "extensions.conf")
    section = conf.section("callbot-direct")
    assert section is not None
    dials = [
        m[1] for o in section.options if (m := re.search(r"Dial\(WebSocket/([^/]+)/", o.value))
    ]
    assert len(dials) == 1, dials
    return dials[0]


async def test_shipped_files_give_direct_mode_a_connection_of_its_own(pbx: Pbx) -> None:
    """asterisk/websocket_client.conf and extensions.conf as shipped: nothing crosses over."""
    conf = parse_conf((ASTERISK / "websocket_client.conf").read_text(), "websocket_client.conf")
    uri = pbx.connections["callbot"].uri
    pbx.connections.clear()
    pbx.connections.update(connections_from_conf(conf, uri=uri))
    direct_conn, ari_conn = shipped_direct_connection(), AriSettings().websocket_connection
    assert direct_conn != ari_conn and {direct_conn, ari_conn} <= set(pbx.connections)

    direct = await pbx.direct_call(direct_conn, DIRECT_ID, "+33612345678")
    caller_id, ari = await pbx.ari_call("0611111111")
    assert "call_id=" in pbx.urls[0] and pbx.urls[1].endswith("/media")  # no query on ARI
    assert (direct.call_id, ari.call_id) == (DIRECT_ID, caller_id)


async def test_a_direct_dial_without_v_gets_an_id_of_its_own(
    pbx: Pbx, caplog: pytest.LogCaptureFixture
) -> None:
    """A second Dial with no v(): the first call's parameters ride along; not its id."""
    first = await pbx.direct_call("callbot-direct", DIRECT_ID, "+33612345678")
    with caplog.at_level(logging.WARNING, logger="callbot.media"):
        second = await pbx.direct_call("callbot-direct", None, "0699999999")
    assert f"call_id={DIRECT_ID}" in pbx.urls[1]
    assert first.call_id == DIRECT_ID
    assert second.call_id == second.channel_id and second.call_id != DIRECT_ID
    assert second.caller_number is None  # the stale caller number is not this caller's
    assert any("already used by an earlier call" in r.getMessage() for r in caplog.records)
    assert len({r.call_id for r in pbx.bot.store.calls(0)}) == 2
