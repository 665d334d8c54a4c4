"""A simulated Asterisk ARI endpoint: real HTTP and websocket on loopback (starlette under
uvicorn), speaking ARI as Asterisk does.

The parts, one job each:

* :mod:`.ari_model`: channels and bridges, and the events their changes raise, in
  Asterisk's order (StasisStart, ChannelEnteredBridge, ChannelDtmfReceived,
  ChannelVarset, ChannelHangupRequest, ChannelLeftBridge, StasisEnd, ChannelDestroyed,
  BridgeDestroyed);
* :mod:`.ari_events`: the ``/ari/events`` websocket;
* :mod:`.ari_rest` and :mod:`.ari_bridges`: the REST subset the bridge uses, with
  Asterisk's replies and status codes; :mod:`.ari_asterisk`: Asterisk's own state
  (version, modules, queues, global variables, websocket_client connections),
  :attr:`SimulatedAri.system`;
* :mod:`.ari_queues`: the human queues of ``asterisk/extensions.conf`` and the agents'
  phones.

This module serves them, with Basic or ``api_key`` auth (401 otherwise), and gives the
test controls: :meth:`SimulatedAri.place_call`, :meth:`SimulatedAri.hangup_channel`,
:meth:`SimulatedAri.send_dtmf`, :meth:`SimulatedAri.restart`,
:meth:`SimulatedAri.agent_answers`, :meth:`SimulatedAri.queue_timeout`; inspection through
:attr:`SimulatedAri.channels`, :attr:`SimulatedAri.bridges`, :attr:`SimulatedAri.hung_up`,
:attr:`SimulatedAri.requests`, :attr:`SimulatedAri.events`, :attr:`SimulatedAri.queued`,
:attr:`SimulatedAri.queue_bridged` and :attr:`SimulatedAri.playbacks` (they finish after
``playback_duration_s``). When a media peer's socket closes, call :meth:`hangup_channel`
on the media channel, as Asterisk hangs it up.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from callbot.errors import AriError
from callbot.simulator.ari_asterisk import SimulatedSystem, system_routes
from callbot.simulator.ari_events import EventStream
from callbot.simulator.ari_model import AriFailure, AriModel, SimBridge, SimChannel
from callbot.simulator.ari_queues import SimulatedQueues
from callbot.simulator.ari_rest import AriRest, ExternalMediaHook
from callbot.simulator.loopback_server import LoopbackServer

_WEBSOCKET_LOG = logging.getLogger(f"{__name__}.websocket")
_WEBSOCKET_LOG.setLevel(logging.WARNING)
_WEBSOCKET_LOG.addFilter(
    # uvicorn's words for a handshake denied with an HTTP reply (401, 400), which is
    # what Asterisk sends: not an error here.
    lambda record: record.getMessage() != "ASGI callable returned without completing handshake."
)


class SimulatedAri(AriRest):
    """A fake Asterisk ARI on 127.0.0.1 (see the module docstring): the resources of
    :class:`AriRest` and the events websocket, served, plus the test controls."""

    def __init__(
        self,
        *,
        username: str = "callbot",
        password: str = "secret",
        websocket_connections: Iterable[str] = ("callbot",),
        on_external_media: ExternalMediaHook | None = None,
        command_delay_s: float = 0.0,
        queue_context: str = "callbot-queues",
        playback_duration_s: float = 0.0,
        system: SimulatedSystem | None = None,
    ) -> None:
        self._credentials = f"{username}:{password}"
        self.stream = EventStream()
        model = AriModel(self.stream)
        connections = set(websocket_connections)
        super().__init__(
            model,
            SimulatedQueues(model, queue_context),
            system or SimulatedSystem.with_connections(connections),
            websocket_connections=connections,
            on_external_media=on_external_media,
            command_delay_s=command_delay_s,
            playback_duration_s=playback_duration_s,
        )
        self._server: LoopbackServer | None = None
        self._port = 0

    # ------------------------------------------------------------------ inspection

    @property
    def channels(self) -> dict[str, SimChannel]:
        return self.model.channels

    @property
    def bridges(self) -> dict[str, SimBridge]:
        return self.model.bridges

    @property
    def hung_up(self) -> list[str]:
        return self.model.hung_up

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event sent to an application, in order."""
        return self.stream.log

    @property
    def queued(self) -> dict[str, str]:
        """Caller channel id -> queue name, while the caller waits for an agent."""
        return self.queues.queued

    @property
    def queue_bridged(self) -> dict[str, str]:
        """Caller channel id -> the agent channel it was bridged with."""
        return self.queues.queue_bridged

    @property
    def abnormal_gosub_exits(self) -> list[str]:
        """See :attr:`SimulatedQueues.abnormal_gosub_exits`."""
        return self.queues.abnormal_gosub_exits

    @property
    def registered_apps(self) -> set[str]:
        return set(self.stream.apps)

    def live_channels(self) -> list[SimChannel]:
        return self.model.live_channels()

    def live_bridges(self) -> list[SimBridge]:
        return self.model.live_bridges()

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """ARI base URL, for :class:`callbot.bridge.settings.AriSettings`."""
        return f"http://127.0.0.1:{self._port}/ari"

    async def start(self, port: int = 0) -> None:
        routes = [
            WebSocketRoute("/ari/events", self.stream.endpoint),
            *self.routes(),
            *system_routes(self.system, self.model.channels_of_app),
        ]
        gate = Middleware(_Gate, credentials=self._credentials)
        app = Starlette(routes=routes, middleware=[gate])
        server = LoopbackServer(app, ws=_QuietWebsocket)
        await server.start(port)
        self._server, self._port = server, server.port

    async def stop(self) -> None:
        """Stop listening, close every events socket (channels are kept)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.stream.close()
        if server is not None:
            await server.stop()

    async def restart(self, down_s: float, *, drop_calls: bool = False) -> None:
        """Drop the events socket, refuse connections for ``down_s``, then listen again.

        With ``drop_calls`` every channel is gone afterwards, as after a real restart;
        otherwise calls survive (an ARI outage: the app is unregistered, channels stay).
        """
        await self.stop()
        if drop_calls:
            self.model.drop_all()
        await asyncio.sleep(down_s)
        await self.start(self._port)

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Poll until ``predicate()`` holds (raises ``TimeoutError``)."""
        async with asyncio.timeout(timeout_s):
            while not predicate():  # noqa: ASYNC110 (any state: nothing to wait on)
                await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ test controls

    def place_call(
        self,
        caller_number: str,
        args: Iterable[str] = (),
        *,
        app: str = "callbot",
        context: str = "callbot-inbound",
        exten: str = "3949",
        language: str = "fr",
    ) -> str:
        """A caller channel runs ``Stasis(app,args...)`` (``CHANNEL(language)`` set to
        ``language``); returns its channel id."""
        if app not in self.stream.apps:
            raise AriError(f"Stasis app {app!r} is not registered (STASISSTATUS=FAILED)")
        seq = self.model.next_seq()
        args = tuple(args)
        chan = SimChannel(
            id=self.model.unique_id(seq),
            name=f"PJSIP/trunk-{seq:08x}",
            state="Ring",
            caller_number=caller_number,
            context=context,
            exten=exten,
            priority=2,
            app=app,
            subscribed_app=app,
            app_data=",".join((app, *args)),
            args=args,
            language=language,
        )
        self.model.channels[chan.id] = chan
        self.model.emit_channel("StasisStart", chan, args=list(args))
        return chan.id

    def hangup_channel(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up (caller leaves, or a media socket closed)."""
        chan = self.model.channels.get(channel_id)
        if chan is not None and not chan.hung_up:
            self.model.destroy_channel(chan, cause, soft=False)

    caller_hangup = hangup_channel

    def send_dtmf(self, channel_id: str, digit: str, duration_ms: int = 100) -> None:
        chan = self.model.channels[channel_id]
        self.model.emit_channel("ChannelDtmfReceived", chan, digit=digit, duration_ms=duration_ms)

    def agent_answers(self, caller_id: str, agent: str = "1001") -> str:
        """See :meth:`SimulatedQueues.agent_answers`."""
        return self.queues.agent_answers(caller_id, agent)

    def queue_timeout(self, caller_id: str, status: str = "TIMEOUT") -> None:
        """See :meth:`SimulatedQueues.queue_timeout`."""
        self.queues.queue_timeout(caller_id, status)

    def channel_in_stasis(
        self,
        name: str,
        args: Iterable[str],
        *,
        context: str,
        caller_number: str = "",
        app: str = "callbot",
    ) -> SimChannel:
        """See :meth:`AriModel.channel_in_stasis`."""
        return self.model.channel_in_stasis(
            name, args, context=context, caller_number=caller_number, app=app
        )


class _QuietWebsocket(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol without the logs that would print the ARI credentials:
    websockets' DEBUG dump of the handshake (``Authorization``) and uvicorn's INFO line
    with the query string (``api_key``); warnings and errors are still logged, to
    ``callbot.simulator.ari_server.websocket``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = self.conn.logger = _WEBSOCKET_LOG
        self.conn.debug = False


class _Gate:
    """Every resource and the events websocket: Basic or ``api_key`` auth (401 with
    Asterisk's challenge otherwise); an :class:`AriFailure` becomes ``{"message": ...}``
    with its status, before the websocket handshake too."""

    def __init__(self, app: ASGIApp, credentials: str) -> None:
        self.app = app
        self._credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not _authorized(HTTPConnection(scope), self._credentials):
            challenge = {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'}
            body = {"message": "Authentication required"}
            await JSONResponse(body, status_code=401, headers=challenge)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except AriFailure as failure:
            reply = JSONResponse({"message": str(failure)}, status_code=failure.status)
            await reply(scope, receive, send)


def _authorized(conn: HTTPConnection, expected: str) -> bool:
    if conn.query_params.get("api_key") == expected:
        return True
    header = conn.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        return base64.b64decode(header[6:]).decode() == expected
    except ValueError:
        return False
