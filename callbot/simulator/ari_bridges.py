"""The simulated ARI's bridge resources, with the replies and status codes of
``res/ari/resource_bridges.c``: 404 unknown bridge, 409 an id in use, 400 an unknown
channel, 422 a channel not in Stasis (or, to remove, not in this bridge).

A bridge belongs to the first registered application (its events go there); adding a
channel takes it out of any other bridge first, as ``ast_bridge_impart`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from callbot.simulator.ari_model import AriFailure, AriModel, SimBridge, SimChannel

Handler = Callable[[Request], Awaitable[Any]]
"""A resource: the JSON reply, or None for 204."""


class BridgeResources:
    """``/bridges`` over a model; ``serialised(chan)`` runs before each channel command."""

    def __init__(
        self, model: AriModel, serialised: Callable[[SimChannel], Awaitable[None]]
    ) -> None:
        self.model = model
        self._serialised = serialised

    def table(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/ari/bridges", self._list_bridges),
            ("POST", "/ari/bridges", self._create_bridge),
            ("GET", "/ari/bridges/{id}", self._get_bridge),
            ("DELETE", "/ari/bridges/{id}", self._destroy_bridge),
            ("POST", "/ari/bridges/{id}/addChannel", self._add_channel),
            ("POST", "/ari/bridges/{id}/removeChannel", self._remove_channel),
        ]

    async def _list_bridges(self, request: Request) -> Any:
        return [b.to_json() for b in self.model.live_bridges()]

    async def _get_bridge(self, request: Request) -> Any:
        return self.model.bridge(request.path_params["id"]).to_json()

    async def _create_bridge(self, request: Request) -> Any:
        q = request.query_params
        bridge_id = q.get("bridgeId") or str(uuid.uuid4())
        existing = self.model.bridges.get(bridge_id)
        if existing is not None and not existing.destroyed:
            raise AriFailure(409, f"Bridge with id '{bridge_id}' already exists")
        app = next(iter(self.model.sink.apps), "")
        bridge = SimBridge(bridge_id, q.get("name", ""), q.get("type") or "mixing", app)
        self.model.bridges[bridge_id] = bridge
        return bridge.to_json()

    async def _destroy_bridge(self, request: Request) -> Any:
        bridge = self.model.bridge(request.path_params["id"])
        for channel_id in list(bridge.channels):
            self.model.leave_bridge(self.model.channels[channel_id])
        bridge.destroyed = True
        self.model.emit(bridge.app, "BridgeDestroyed", bridge=bridge.to_json())

    def _bridge_channels(self, request: Request) -> list[SimChannel]:
        ids = [c for c in request.query_params.get("channel", "").split(",") if c]
        if not ids:
            raise AriFailure(400, "Missing parameter channel")
        chans = []
        for channel_id in ids:
            chan = self.model.channels.get(channel_id)
            if chan is None or chan.hung_up:
                raise AriFailure(400, "Channel not found")
            if not chan.app:
                raise AriFailure(422, "Channel not in Stasis application")
            chans.append(chan)
        return chans

    async def _add_channel(self, request: Request) -> Any:
        bridge = self.model.bridge(request.path_params["id"])
        for chan in self._bridge_channels(request):
            async with chan.lock:
                await self._serialised(chan)
                if chan.bridge_id == bridge.id:
                    continue
                self.model.leave_bridge(chan)
                chan.bridge_id = bridge.id
                bridge.channels.append(chan.id)
                self.model.emit(
                    bridge.app,
                    "ChannelEnteredBridge",
                    bridge=bridge.to_json(),
                    channel=chan.to_json(),
                )

    async def _remove_channel(self, request: Request) -> Any:
        bridge = self.model.bridge(request.path_params["id"])
        chans = self._bridge_channels(request)
        if any(chan.bridge_id != bridge.id for chan in chans):
            raise AriFailure(422, "Channel not in this bridge")
        for chan in chans:
            async with chan.lock:
                await self._serialised(chan)
                self.model.leave_bridge(chan)
