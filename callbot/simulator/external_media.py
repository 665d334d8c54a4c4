"""Asterisk's side of ARI externalMedia websocket legs, for :class:`SimulatedAri`.

:class:`ExternalMediaDialer` is an ``on_external_media`` hook: for each
``externalMedia(transport=websocket, connection_type=client, external_host=<conn>)`` it
opens a :class:`~callbot.simulator.chan_websocket_peer.SimulatedChanWebsocketCall`
through the websocket_client connection ``<conn>``, as chan_websocket does:

* the URI is the connection's, with whatever ``v()`` parameters an earlier
  ``Dial(WebSocket/<conn>/...v(...))`` left on it (or the ``v()`` of ``transport_data``,
  which then sticks in turn);
* MEDIA_START carries the ARI channel's id and name and its variables (``CALLBOT_*``
  set by callbot's bridge); the control format is ``f()`` of ``transport_data``, else
  ``default_control`` (``chan_websocket.conf``);
* the two lifetimes are linked: the bot closing the socket hangs the channel up, and the
  channel hung up (by ARI or the caller) closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from callbot.audio.formats import AudioFormat
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.websocket_client import WebsocketClientConnection, dial_options

POLL_S = 0.02


@dataclass
class ExternalMediaDialer:
    sim: SimulatedAri
    connections: Mapping[str, WebsocketClientConnection]
    """websocket_client.conf: connection name -> connection (shared by every call)."""
    default_control: Literal["plain", "json"] = "json"
    speed: float = 1.0
    peers: dict[str, SimulatedChanWebsocketCall] = field(default_factory=dict)
    """Media channel id -> its leg, in dial order."""
    _links: list[asyncio.Task[None]] = field(default_factory=list)

    async def __call__(
        self, channel_id: str, params: Mapping[str, str], variables: Mapping[str, str]
    ) -> None:
        connection = self.connections.get(params.get("external_host", ""))
        if connection is None:
            raise ConnectionRefusedError(f"no websocket_client connection {params!r}")
        options = dial_options(params.get("transport_data", ""))
        if options.get("v"):
            connection.uri_for_call(options["v"])  # stored on the connection, as webchan_call
        control = options.get("f") or self.default_control
        chan = self.sim.channels[channel_id]
        peer = SimulatedChanWebsocketCall(
            connection,
            media_format=AudioFormat.from_asterisk_name(params["format"]),
            call_id=variables.get("CALLBOT_CALL_ID", channel_id),
            caller_number=variables.get("CALLBOT_CALLER"),
            channel_variables=variables,
            control_format="json" if control == "json" else "plain",
            speed=self.speed,
            call_id_in_query=False,
            call_id_in_variables=False,  # they are in ``variables`` when callbot set them
            channel_id=channel_id,
            channel_name=chan.name,
        )
        await peer.__aenter__()
        self.peers[channel_id] = peer
        self._links.append(asyncio.create_task(self._link(channel_id, peer)))

    async def _link(self, channel_id: str, peer: SimulatedChanWebsocketCall) -> None:
        chan = self.sim.channels[channel_id]
        try:
            while not (peer.closed and chan.hung_up):
                if peer.closed:
                    self.sim.hangup_channel(channel_id)  # the bot closed: Asterisk hangs up
                elif chan.hung_up:
                    await peer.hangup()  # the channel was hung up: its socket closes
                await asyncio.sleep(POLL_S)
        finally:
            await peer.__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Hang up every leg still up and stop watching them."""
        for link in self._links:
            link.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._links, return_exceptions=True)
        self._links.clear()
