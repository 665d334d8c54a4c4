"""``callbot loadtest --asterisk PORT``: the load tester as the Asterisk of a cluster.

Against ``callbot control`` and its workers, callers cannot be dialled at a worker's
``/media``: the control places each call. So the tester plays Asterisk itself: it serves
ARI on ``PORT`` (the control's ``ari.url`` points there), places each corpus call into
the Stasis app, answers the control's ``externalMedia`` by dialling the worker it chose
through that worker's ``websocket_client`` connection (``--connection NAME=ws://...``, as
``websocket_client.conf`` on a real Asterisk), and replays the call on that leg. Each
result says which worker served it; the server's view comes from the shared records
database (``--records-url``), since no single node keeps every finished call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callbot.records.store import RecordStore, open_store
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.websocket_client import WebsocketClientConnection

MEDIA_WAIT_S = 15.0
"""How long a placed call may wait for its media leg (the control finding a worker)."""


@dataclass(frozen=True, slots=True)
class PlacedCall:
    peer: Any
    """The media leg's caller side (a connected chan_websocket peer)."""
    worker: str
    """The ``websocket_client`` connection the control chose."""
    caller_channel: str


class AsteriskSide:
    """A simulated Asterisk the control role drives (ARI on loopback or beyond)."""

    def __init__(self, sim: SimulatedAri, dialer: ExternalMediaDialer) -> None:
        self.sim = sim
        self.dialer = dialer

    @classmethod
    async def start(cls, port: int, password: str, connections: Mapping[str, str]) -> AsteriskSide:
        """ARI on ``127.0.0.1:port`` for user ``callbot``; ``connections``: name -> media
        URI (the control role and the workers run on this machine)."""
        sim = SimulatedAri(password=password, websocket_connections=tuple(connections))
        legs = {n: WebsocketClientConnection(n, uri) for n, uri in connections.items()}
        dialer = ExternalMediaDialer(sim, legs)
        sim.on_external_media = dialer
        await sim.start(port)
        return cls(sim, dialer)

    async def wait_for_app(self, app: str = "callbot", timeout_s: float = 60.0) -> None:
        """Until the control role has registered its Stasis app."""
        await self.sim.wait_for(lambda: app in self.sim.registered_apps, timeout_s)

    async def place(self, caller_number: str = "0600000000") -> PlacedCall:
        """A caller enters the Stasis app; returns once the control bridged a media leg
        (TimeoutError when none came: no worker, or the control is not leading)."""
        caller = self.sim.place_call(caller_number, ["3949"])
        deadline = time.monotonic() + MEDIA_WAIT_S
        while (media := self.media_of(caller)) is None:
            if time.monotonic() > deadline:
                self.hang_up(caller)
                raise TimeoutError(f"no media leg after {MEDIA_WAIT_S:.0f} s")
            await asyncio.sleep(0.02)
        worker = self.sim.channels[media].external_media_params["external_host"]
        return PlacedCall(self.dialer.peers[media], worker, caller)

    def hang_up(self, caller: str) -> None:
        if not self.sim.channels[caller].hung_up:
            self.sim.hangup_channel(caller)

    def media_of(self, caller: str) -> str | None:
        """The media leg in the caller's bridge, once the dialer has connected it."""
        bridge = self.sim.bridges.get(self.sim.channels[caller].bridge_id or "")
        others = [c for c in bridge.channels if c != caller] if bridge else []
        return others[0] if others and others[0] in self.dialer.peers else None

    async def stop(self) -> None:
        await self.dialer.aclose()
        await self.sim.stop()


class StoreRecords:
    """Finished calls' records from the cluster's shared records database."""

    def __init__(self, url: str) -> None:
        self._store: RecordStore = open_store(url)
        self._since = time.time() - 60

    async def get(self, call_id: str, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while True:
            calls = await asyncio.to_thread(self._store.calls, self._since)
            for call in calls:
                if call.call_id == call_id:
                    return call.to_dict()
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.25)

    def close(self) -> None:
        self._store.close()
