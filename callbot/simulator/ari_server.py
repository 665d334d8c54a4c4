"""A simulated Asterisk ARI endpoint: real HTTP and websocket on loopback (aiohttp).

It implements the REST subset the bridge uses with Asterisk's replies and status codes
(``res/ari/resource_channels.c``, ``res/ari/resource_bridges.c``: error bodies are
``{"message": ...}``, 204 for commands, 404/409/412/422 as the source decides), Basic or
``api_key`` auth (401 otherwise), and the ``/ari/events`` websocket emitting events in
Asterisk's order (StasisStart, ChannelEnteredBridge, ChannelDtmfReceived, ChannelVarset,
ChannelHangupRequest, ChannelLeftBridge, StasisEnd, ChannelDestroyed, BridgeDestroyed).
Commands on one channel run one at a time, as in Asterisk. Asterisk's own state (version,
modules, queues, global variables, websocket_client connections) is :attr:`SimulatedAri.system`,
served by :mod:`callbot.simulator.ari_asterisk`.

Test controls: :meth:`SimulatedAri.place_call`, :meth:`SimulatedAri.hangup_channel`,
:meth:`SimulatedAri.send_dtmf`, :meth:`SimulatedAri.restart`; inspection through
:attr:`SimulatedAri.channels`, :attr:`SimulatedAri.bridges`, :attr:`SimulatedAri.hung_up`
and :attr:`SimulatedAri.requests`.

Human queues (``asterisk/extensions.conf``): a caller continued into ``queue_context``
waits in :attr:`SimulatedAri.queued`. :meth:`SimulatedAri.agent_answers` makes an agent's
phone answer: it inherits the caller's ``_``/``__`` variables and runs the
``callbot-agent-screen`` subroutine, i.e. enters ``Stasis(callbot,agent,<context id>)``;
continuing it (``Return()``) bridges it with the caller (:attr:`SimulatedAri.queue_bridged`),
hanging it up leaves the caller queued. :meth:`SimulatedAri.queue_timeout` runs the
no-answer priority, ``Stasis(callbot,noanswer,<context id>,<QUEUESTATUS>)``. Playbacks
are recorded in :attr:`SimulatedAri.playbacks` and finish after ``playback_duration_s``.

Media is not simulated here. ``externalMedia`` creates a media channel in state ``Down``
and awaits ``on_external_media(channel_id, params, variables)``: the hook connects a
simulated media peer (e.g. ``SimulatedChanWebsocketCall``) to the callbot media server and
returns once connected; the channel is then answered and enters Stasis, as chan_websocket
does after ``MEDIA_START``. If the hook raises, the dial fails (``ChannelDestroyed``
without ``StasisStart``). When the peer's socket closes, call :meth:`hangup_channel` on the
media channel, as Asterisk hangs it up.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from callbot.errors import AriError
from callbot.simulator.ari_asterisk import SimulatedSystem, system_routes

logger = logging.getLogger(__name__)

ExternalMediaHook = Callable[[str, Mapping[str, str], Mapping[str, str]], Awaitable[None]]
"""``async hook(media_channel_id, externalMedia query params, channel variables)``."""

_CAUSE_TXT = {16: "Normal Clearing", 34: "Circuit/channel congestion"}

SCREEN_CONTEXT = "callbot-agent-screen"
"""The shipped screening subroutine (``asterisk/extensions.conf``): ``s,1`` Stasis,
``s,2`` Return (callbot down), ``s,10(accept)`` Return (the agent accepted)."""
SCREEN_PRIORITIES = frozenset({1, 2, 10})
SCREEN_LABELS = {(SCREEN_CONTEXT, "s", "accept"): 10}


def _now_iso() -> str:
    """Asterisk's ``AST_ISO8601_FORMAT``: ``2026-01-01T12:00:00.000+0000``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


@dataclass(slots=True)
class SimChannel:
    id: str
    name: str
    state: str
    caller_number: str = ""
    context: str = "callbot-inbound"
    exten: str = "s"
    priority: int = 1
    app: str | None = None
    """The Stasis application the channel is in (None: in the dialplan or not yet up)."""
    subscribed_app: str | None = None
    """The application that receives its events."""
    subscriptions: set[str] = field(default_factory=set)
    """Applications subscribed explicitly (``POST /applications/{app}/subscription``)."""
    app_data: str = ""
    args: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None
    continued_to: tuple[str, str, int] | None = None
    moh: bool = False
    playing: set[str] = field(default_factory=set)
    """Playbacks in progress (channel commands wait for them)."""
    hung_up: bool = False
    is_media: bool = False
    external_media_params: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=_now_iso)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": {"name": "", "number": self.caller_number},
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": "Stasis" if self.app else "",
                "app_data": self.app_data if self.app else "",
            },
            "creationtime": self.created,
            "language": "fr",
        }


@dataclass(slots=True)
class SimBridge:
    id: str
    name: str
    bridge_type: str
    app: str
    channels: list[str] = field(default_factory=list)
    destroyed: bool = False
    created: str = field(default_factory=_now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": "simple_bridge",
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.created,
            "video_mode": "none",
        }


class _Fail(Exception):
    """An ARI error reply: status and message, as ``ast_ari_response_error``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SimulatedAri:
    """A fake Asterisk ARI on 127.0.0.1 (see the module docstring)."""

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
        self._username, self._password = username, password
        self.websocket_connections = set(websocket_connections)
        self.system = system or SimulatedSystem.with_connections(self.websocket_connections)
        """Version, modules, queues, globals: ``/asterisk/...`` (:mod:`.ari_asterisk`)."""
        self.on_external_media = on_external_media
        self.command_delay_s = command_delay_s
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, SimBridge] = {}
        self.hung_up: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.queue_context = queue_context
        self.playback_duration_s = playback_duration_s
        self.queued: dict[str, str] = {}
        """Caller channel id -> queue name, while the caller waits for an agent."""
        self.queue_bridged: dict[str, str] = {}
        """Caller channel id -> the agent channel it was bridged with."""
        self.agent_of: dict[str, str] = {}
        """Agent channel id -> the caller channel it rings for."""
        self.playbacks: list[tuple[str, str, str]] = []
        """(channel id, playback id, media) of every play request, in order."""
        self.events: list[dict[str, Any]] = []
        """Every event sent to an application, in order."""
        self.stopped_playbacks: list[str] = []
        """Playback ids stopped with ``DELETE /playbacks/{id}``."""
        self.abnormal_gosub_exits: list[str] = []
        """Agent channels whose screening subroutine Asterisk would end with ``Abnormal
        'Gosub(callbot-agent-screen,...)' exit`` (a continue to the wrong priority)."""
        self._playback_channel: dict[str, SimChannel] = {}
        self.asterisk_id = "02:42:ac:11:00:02"
        self._sessions: dict[str, web.WebSocketResponse] = {}
        self._queues: dict[int, asyncio.Queue[str | None]] = {}
        self._seq = itertools.count(1)
        self._epoch = int(time.time())
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """ARI base URL, for :class:`callbot.bridge.ari_client.AriSettings`."""
        return f"http://127.0.0.1:{self._port}/ari"

    @property
    def registered_apps(self) -> set[str]:
        return set(self._sessions)

    async def start(self, port: int = 0) -> None:
        app = web.Application(middlewares=[self._auth_middleware])
        app.router.add_get("/ari/events", self._events)
        routes = [
            ("GET", "/ari/channels", self._list_channels),
            ("POST", "/ari/channels/externalMedia", self._external_media),
            ("POST", "/ari/channels/create", self._create_channel),
            ("GET", "/ari/channels/{id}/variable", self._get_variable),
            ("GET", "/ari/channels/{id}", self._get_channel),
            ("DELETE", "/ari/channels/{id}", self._hangup),
            ("POST", "/ari/channels/{id}/answer", self._answer),
            ("POST", "/ari/channels/{id}/continue", self._continue),
            ("POST", "/ari/channels/{id}/variable", self._set_variable),
            ("POST", "/ari/channels/{id}/moh", self._moh),
            ("POST", "/ari/channels/{id}/play", self._play),
            ("POST", "/ari/channels/{id}/play/{playback}", self._play),
            ("DELETE", "/ari/playbacks/{playback}", self._stop_playback),
            ("POST", "/ari/applications/{app}/subscription", self._subscribe),
            ("DELETE", "/ari/applications/{app}/subscription", self._subscribe),
            ("DELETE", "/ari/channels/{id}/moh", self._moh),
            ("GET", "/ari/bridges", self._list_bridges),
            ("POST", "/ari/bridges", self._create_bridge),
            ("GET", "/ari/bridges/{id}", self._get_bridge),
            ("DELETE", "/ari/bridges/{id}", self._destroy_bridge),
            ("POST", "/ari/bridges/{id}/addChannel", self._add_channel),
            ("POST", "/ari/bridges/{id}/removeChannel", self._remove_channel),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._wrap(handler))
        for method, path, raw in system_routes(self.system, self._channels_of_app):
            app.router.add_route(method, path, raw)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every events socket and stop listening (channels are kept)."""
        for queue in self._queues.values():
            queue.put_nowait(None)
        for ws in list(self._sessions.values()):
            await ws.close(code=1001, message=b"shutdown")
        self._sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, down_s: float, *, drop_calls: bool = False) -> None:
        """Drop the events socket, refuse connections for ``down_s``, then listen again.

        With ``drop_calls`` every channel is gone afterwards, as after a real restart;
        otherwise calls survive (an ARI outage: the app is unregistered, channels stay).
        """
        await self.stop()
        if drop_calls:
            for chan in self.channels.values():
                if not chan.hung_up:
                    chan.hung_up = True
                    self.hung_up.append(chan.id)
            for bridge in self.bridges.values():
                bridge.destroyed = True
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
    ) -> str:
        """A caller channel runs ``Stasis(app,args...)``; returns its channel id."""
        if app not in self._sessions:
            raise AriError(f"Stasis app {app!r} is not registered (STASISSTATUS=FAILED)")
        seq = next(self._seq)
        args = tuple(args)
        chan = SimChannel(
            id=f"{self._epoch}.{seq}",
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
        )
        self.channels[chan.id] = chan
        self._emit_channel("StasisStart", chan, args=list(args))
        return chan.id

    def hangup_channel(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up (caller leaves, or a media socket closed)."""
        chan = self.channels.get(channel_id)
        if chan is not None and not chan.hung_up:
            self._destroy_channel(chan, cause, soft=False)

    caller_hangup = hangup_channel

    def send_dtmf(self, channel_id: str, digit: str, duration_ms: int = 100) -> None:
        chan = self.channels[channel_id]
        self._emit_channel("ChannelDtmfReceived", chan, digit=digit, duration_ms=duration_ms)

    def agent_answers(self, caller_id: str, agent: str = "1001") -> str:
        """An agent's phone answers for a queued caller; returns the agent channel id.

        As ``Local/<agent>@callbot-agents`` -> ``Dial(PJSIP/<agent>,,U(callbot-agent-screen
        ^${CALLBOT_CONTEXT_ID}))``: the phone inherits the caller's ``_``/``__`` variables,
        then its subroutine enters ``Stasis(callbot,agent,<context id>)``.
        """
        caller = self.channels[caller_id]
        if caller_id not in self.queued or caller.hung_up:
            raise AriError(f"caller {caller_id} is not queued")
        inherited = {_inherited(k): v for k, v in caller.variables.items() if k.startswith("_")}
        args = ("agent", inherited.get("__CALLBOT_CONTEXT_ID", ""))
        chan = self.channel_in_stasis(
            f"PJSIP/{agent}", args, context=SCREEN_CONTEXT, caller_number=caller.caller_number
        )
        chan.variables.update(inherited)
        self.agent_of[chan.id] = caller_id
        self._emit_channel("StasisStart", chan, args=list(args))
        return chan.id

    def channel_in_stasis(
        self,
        name: str,
        args: Iterable[str],
        *,
        context: str,
        caller_number: str = "",
        app: str = "callbot",
    ) -> SimChannel:
        """A channel already in ``Stasis(app,args...)`` at priority 1 of ``context``, exten
        ``s`` (no event is sent: emit one, or leave it as a crashed process left it)."""
        seq = next(self._seq)
        args = tuple(args)
        chan = SimChannel(
            id=f"{self._epoch}.{seq}",
            name=f"{name}-{seq:08x}",
            state="Up",
            caller_number=caller_number,
            context=context,
            exten="s",
            priority=1,
            app=app,
            subscribed_app=app,
            app_data=",".join((app, *args)),
            args=args,
        )
        self.channels[chan.id] = chan
        return chan

    def queue_timeout(self, caller_id: str, status: str = "TIMEOUT") -> None:
        """Queue() gives up: the next priority runs ``Stasis(callbot,noanswer,<id>,<status>)``."""
        caller = self.channels[caller_id]
        if self.queued.pop(caller_id, None) is None or caller.hung_up:
            raise AriError(f"caller {caller_id} is not queued")
        context_id = caller.variables.get("__CALLBOT_CONTEXT_ID", "")
        args = ("noanswer", context_id, status)
        caller.variables["QUEUESTATUS"] = status
        caller.app, caller.subscribed_app = "callbot", "callbot"
        caller.app_data, caller.args = ",".join(("callbot", *args)), args
        caller.priority += 2
        self._emit_channel("StasisStart", caller, args=list(args))

    def live_channels(self) -> list[SimChannel]:
        return [c for c in self.channels.values() if not c.hung_up]

    def live_bridges(self) -> list[SimBridge]:
        return [b for b in self.bridges.values() if not b.destroyed]

    # ------------------------------------------------------------------ events

    def _emit(self, app: str | None, kind: str, **fields: Any) -> None:
        ws = self._sessions.get(app) if app else None
        if ws is None:
            return  # no websocket for the app: Asterisk drops the event
        message = {"type": kind, "timestamp": _now_iso(), **fields}
        message.update(asterisk_id=self.asterisk_id, application=app)
        self.events.append(message)
        self._queues[id(ws)].put_nowait(json.dumps(message))

    def _emit_channel(self, kind: str, chan: SimChannel, **fields: Any) -> None:
        for app in _listeners(chan):
            self._emit(app, kind, channel=chan.to_json(), **fields)

    def _destroy_channel(self, chan: SimChannel, cause: int, *, soft: bool) -> None:
        request: dict[str, Any] = {"cause": cause, "channel": chan.to_json()}
        if soft:
            request["soft"] = True
        for app in _listeners(chan):
            self._emit(app, "ChannelHangupRequest", **request)
        self._leave_bridge(chan)
        if chan.app:
            self._emit_channel("StasisEnd", chan)
            chan.app = None
        chan.hung_up = True
        self.hung_up.append(chan.id)
        cause_txt = _CAUSE_TXT.get(cause, "Unknown")
        self._emit_channel("ChannelDestroyed", chan, cause=cause, cause_txt=cause_txt)
        chan.subscribed_app = None
        chan.subscriptions.clear()
        self.queued.pop(chan.id, None)

    def _leave_bridge(self, chan: SimChannel) -> None:
        bridge = self.bridges.get(chan.bridge_id or "")
        chan.bridge_id = None
        if bridge is not None and chan.id in bridge.channels:
            bridge.channels.remove(chan.id)
            self._emit(
                bridge.app, "ChannelLeftBridge", bridge=bridge.to_json(), channel=chan.to_json()
            )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        apps = [a for a in request.query.get("app", "").split(",") if a]
        if not apps:
            raise _Fail(400, "HTTP request is missing param: [app]")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues[id(ws)] = queue
        for app in apps:
            old = self._sessions.get(app)
            if old is not None:
                self._emit(app, "ApplicationReplaced")
            self._sessions[app] = ws
        writer = asyncio.create_task(self._write(ws, queue))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            writer.cancel()
            self._queues.pop(id(ws), None)
            for app in apps:
                if self._sessions.get(app) is ws:
                    del self._sessions[app]
        return ws

    @staticmethod
    async def _write(ws: web.WebSocketResponse, queue: asyncio.Queue[str | None]) -> None:
        while (text := await queue.get()) is not None:
            try:
                await ws.send_str(text)
            except ConnectionError:
                return

    # ------------------------------------------------------------------ HTTP plumbing

    @web.middleware
    async def _auth_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response(
                {"message": "Authentication required"},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        try:
            return await handler(request)
        except _Fail as fail:
            return web.json_response({"message": str(fail)}, status=fail.status)

    def _authorized(self, request: web.Request) -> bool:
        expected = f"{self._username}:{self._password}"
        if request.query.get("api_key") == expected:
            return True
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            return base64.b64decode(header[6:]).decode() == expected
        except ValueError:
            return False

    def _wrap(
        self, handler: Callable[[web.Request], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.method, request.path, dict(request.query)))
            result = await handler(request)
            if result is None:
                return web.Response(status=204)
            return web.json_response(result)

        return wrapped

    def _channel(self, channel_id: str) -> SimChannel:
        chan = self.channels.get(channel_id)
        if chan is None or chan.hung_up:
            raise _Fail(404, "Channel not found")
        return chan

    def _control(self, channel_id: str) -> SimChannel:
        """``find_control``: 404 unknown, 409 not in a Stasis application."""
        chan = self._channel(channel_id)
        if not chan.app:
            raise _Fail(409, "Channel not in Stasis application")
        return chan

    @staticmethod
    def _check_state(chan: SimChannel) -> None:
        """``channel_state_invalid``: outbound channels not yet up get 412."""
        if chan.state in ("Down", "Rsrvd", "Ringing"):
            raise _Fail(412, "Channel in invalid state")

    async def _serialised(self, chan: SimChannel) -> None:
        if self.command_delay_s:
            await asyncio.sleep(self.command_delay_s)

    # ------------------------------------------------------------------ channels

    async def _list_channels(self, request: web.Request) -> Any:
        return [c.to_json() for c in self.live_channels()]

    async def _get_channel(self, request: web.Request) -> Any:
        return self._channel(request.match_info["id"]).to_json()

    async def _hangup(self, request: web.Request) -> Any:
        chan = self._channel(request.match_info["id"])
        async with chan.lock:
            await self._serialised(chan)
            if not chan.hung_up:
                self._destroy_channel(chan, 16, soft=True)

    async def _answer(self, request: web.Request) -> Any:
        chan = self._control(request.match_info["id"])
        async with chan.lock:
            self._check_state(chan)
            await self._serialised(chan)
            if chan.state != "Up":
                chan.state = "Up"
                self._emit_channel("ChannelStateChange", chan)

    async def _continue(self, request: web.Request) -> Any:
        chan = self._control(request.match_info["id"])
        q = request.query
        async with chan.lock:
            self._check_state(chan)
            await self._serialised(chan)
            # ast_ari_channels_continue_in_dialplan: no target at all -> next priority.
            context = q.get("context") or chan.context
            exten = q.get("extension") or ("s" if q.get("context") else chan.exten)
            if q.get("label"):
                priority = self._label(context, exten, q["label"])
            elif q.get("priority"):
                priority = int(q["priority"])
            elif q.get("context") or q.get("extension"):
                priority = 1
            else:
                priority = chan.priority + 1
            # Channel commands wait for a playback in progress (the control queue is one).
            await self._playback_done(chan)
            if chan.id in self.agent_of and self._agent_reenters_stasis(chan, priority):
                return
            self._leave_bridge(chan)
            self._emit_channel("StasisEnd", chan)
            chan.app, chan.subscribed_app = None, None
            chan.context, chan.exten, chan.priority = context, exten, priority
            chan.continued_to = (context, exten, priority)
            self._after_continue(chan)

    def _label(self, context: str, exten: str, label: str) -> int:
        """``ast_findlabel_extension`` over the shipped screening subroutine."""
        found = SCREEN_LABELS.get((context, exten, label))
        if found is None:
            raise _Fail(404, "Requested label can not be found")
        return found

    def _agent_reenters_stasis(self, chan: SimChannel, priority: int) -> bool:
        """An agent's phone runs ``callbot-agent-screen`` from Dial's ``U()``: a subroutine on
        a channel with no PBX of its own. Continuing it makes ``stasis_app_exec`` run a
        nested PBX from the priority *before* the target (``ast_explicit_goto`` under
        AUTOLOOP): target 2 re-runs priority 1, ``Stasis()`` again; target 3 runs
        ``Return()`` inside the nested PBX and the subroutine ends abnormally. Only a target
        after a gap in the priorities (the ``accept`` label, 10) ends it cleanly: the nested
        PBX falls through at once and the subroutine's own loop runs ``Return()``.
        (Seen on Asterisk 23: ``res/res_stasis.c`` ``stasis_app_exec``, ``apps/app_stack.c``.)
        Returns True when the channel is back in Stasis."""
        if chan.context != SCREEN_CONTEXT:
            return False
        nested_start = priority - 1
        if nested_start == 1:  # Stasis(callbot,agent,<id>) again
            self.abnormal_gosub_exits.append(chan.id)
            self._emit_channel("StasisEnd", chan)
            chan.priority = 1
            self._emit_channel("StasisStart", chan, args=list(chan.args))
            return True
        if nested_start in SCREEN_PRIORITIES:  # Return() inside the nested PBX
            self.abnormal_gosub_exits.append(chan.id)
        return False

    async def _playback_done(self, chan: SimChannel) -> None:
        while chan.playing:  # noqa: ASYNC110 (a set of playbacks, polled like wait_for)
            await asyncio.sleep(0.01)

    def _after_continue(self, chan: SimChannel) -> None:
        """What the sample dialplan does next: queue the caller, or bridge an agent."""
        if chan.context == self.queue_context and chan.priority == 1:
            self.queued[chan.id] = chan.exten
            chan.moh = True  # Queue() plays the queue's musicclass while waiting
            return
        caller_id = self.agent_of.get(chan.id)
        if caller_id is not None and self.queued.pop(caller_id, None) is not None:
            self.queue_bridged[caller_id] = chan.id  # Return() -> Dial/Queue bridge
            self.channels[caller_id].moh = False

    async def _play(self, request: web.Request) -> Any:
        """``ast_ari_channels_play``: 404 unknown, 409 not in Stasis, 412 not up."""
        media = request.query.get("media", "")
        if not media:
            raise _Fail(400, "Missing parameter media")
        chan = self._control(request.match_info["id"])
        self._check_state(chan)
        playback_id = request.match_info.get("playback") or str(uuid.uuid4())
        self.playbacks.append((chan.id, playback_id, media))
        chan.playing.add(playback_id)
        self._playback_channel[playback_id] = chan
        playback = {
            "id": playback_id,
            "media_uri": media,
            "target_uri": f"channel:{chan.id}",
            "language": "fr",
            "state": "queued",
        }
        app = chan.subscribed_app
        self._emit(app, "PlaybackStarted", playback={**playback, "state": "playing"})
        task = asyncio.create_task(self._finish_playback(app, playback))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return playback

    async def _finish_playback(self, app: str | None, playback: dict[str, Any]) -> None:
        await asyncio.sleep(self.playback_duration_s)
        self._end_playback(app, playback["id"], playback)

    def _end_playback(self, app: str | None, playback_id: str, playback: dict[str, Any]) -> None:
        chan = self._playback_channel.pop(playback_id, None)
        if chan is None:
            return
        chan.playing.discard(playback_id)
        self._emit(app, "PlaybackFinished", playback={**playback, "state": "done"})

    async def _stop_playback(self, request: web.Request) -> Any:
        """``DELETE /playbacks/{id}``: 404 once it has finished."""
        playback_id = request.match_info["playback"]
        chan = self._playback_channel.get(playback_id)
        if chan is None:
            raise _Fail(404, "Playback not found")
        self.stopped_playbacks.append(playback_id)
        media = next((m for c, p, m in self.playbacks if p == playback_id), "")
        playback = {"id": playback_id, "media_uri": media, "target_uri": f"channel:{chan.id}"}
        self._end_playback(chan.subscribed_app, playback_id, playback)

    async def _subscribe(self, request: web.Request) -> Any:
        """``/applications/{app}/subscription``: 400 no source, 404 app, 422 unknown source."""
        app = request.match_info["app"]
        source = request.query.get("eventSource", "")
        if not source:
            raise _Fail(400, "Missing parameter eventSource")
        if app not in self._sessions:
            raise _Fail(404, "Application not found")
        kind, _, resource = source.partition(":")
        chan = self.channels.get(resource) if kind == "channel" else None
        if chan is None or chan.hung_up:
            raise _Fail(422, "Unable to find event source")
        if request.method == "POST":
            chan.subscriptions.add(app)
        else:
            chan.subscriptions.discard(app)
        return {"name": app, "channel_ids": [chan.id], "bridge_ids": [], "endpoint_ids": []}

    async def _create_channel(self, request: web.Request) -> Any:
        """``ast_ari_channels_create``: requested, never dialled, then ``Stasis(app)`` in
        its own thread; an app no websocket registered makes Stasis fail: hung up at once."""
        q = request.query
        endpoint = q.get("endpoint", "")
        if not endpoint:
            raise _Fail(400, "Endpoint must be specified")
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise _Fail(400, "Invalid endpoint specified")
        seq = next(self._seq)
        channel_id = q.get("channelId") or f"{self._epoch}.{seq}"
        if channel_id in self.channels and not self.channels[channel_id].hung_up:
            raise _Fail(409, "Channel with given unique ID already exists")
        app = q.get("app", "")
        local = ";1" if tech == "Local" else ""
        name = f"{endpoint}-{seq:08x}{local}"
        chan = SimChannel(id=channel_id, name=name, state="Down", context="default")
        chan.subscribed_app = app or None
        self.channels[chan.id] = chan
        reply = chan.to_json()
        if app in self._sessions:
            chan.app, chan.app_data = app, app
            self._emit_channel("StasisStart", chan, args=[])
        else:
            self._destroy_channel(chan, 16, soft=False)
        return reply

    async def _get_variable(self, request: web.Request) -> Any:
        """``ast_ari_channels_get_channel_var``: a name ending in ``)`` is a dialplan function
        (500 when none reads it), else a channel variable (404 when unset)."""
        variable = request.query.get("variable", "")
        if not variable:
            raise _Fail(400, "Variable name is required")
        chan = self.channels.get(request.match_info["id"])
        if chan is None or chan.hung_up:
            raise _Fail(404, "Provided channel was not found")
        if variable.endswith(")"):
            value = self.system.read_function(variable)
            if value is None:
                raise _Fail(500, "Unable to read provided function")
            return {"value": value}
        if variable not in chan.variables:
            raise _Fail(404, "Provided variable was not found")
        return {"value": chan.variables[variable]}

    def _channels_of_app(self, app: str) -> list[str]:
        """For ``GET /applications/{app}``: ``KeyError`` when no websocket registered it."""
        if app not in self._sessions:
            raise KeyError(app)
        return [c.id for c in self.live_channels() if app in _listeners(c)]

    async def _set_variable(self, request: web.Request) -> Any:
        variable = request.query.get("variable", "")
        if not variable:
            raise _Fail(400, "Variable name is required")
        chan = self._control(request.match_info["id"])
        value = request.query.get("value", "")
        async with chan.lock:
            await self._serialised(chan)
            chan.variables[variable] = value
            self._emit_channel("ChannelVarset", chan, variable=variable, value=value)

    async def _moh(self, request: web.Request) -> Any:
        chan = self._control(request.match_info["id"])
        async with chan.lock:
            self._check_state(chan)
            chan.moh = request.method == "POST"

    async def _external_media(self, request: web.Request) -> Any:
        q = dict(request.query)
        variables: dict[str, str] = {}
        if request.can_read_body:
            body = await request.json()
            raw = body.get("variables") if isinstance(body, dict) else None
            if isinstance(raw, dict):
                variables = {str(k): str(v) for k, v in raw.items()}
        params = self._check_external_media(q)
        channel_id = q.get("channelId") or f"{self._epoch}.{next(self._seq)}"
        if channel_id in self.channels and not self.channels[channel_id].hung_up:
            raise _Fail(409, "Channel with given unique ID already exists")
        host = params["external_host"]
        if params["transport"] == "websocket":
            name = f"WebSocket/{host}/0x{uuid.uuid4().int & 0xFFFFFFFFFFFF:012x}"
            variables["MEDIA_WEBSOCKET_CONNECTION_ID"] = uuid.uuid4().hex
        else:
            name = f"AudioSocket/{host}-{q.get('data', '')}"
        chan = SimChannel(
            id=channel_id,
            name=name,
            state="Down",
            subscribed_app=params["app"],
            app_data=",".join(filter(None, (params["app"], q.get("data")))),
            args=(q["data"],) if q.get("data") else (),
            variables=variables,
            is_media=True,
            external_media_params=q,
        )
        self.channels[chan.id] = chan
        task = asyncio.create_task(self._dial_media(chan, params["app"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {**chan.to_json(), "channelvars": dict(variables)}

    def _check_external_media(self, q: dict[str, str]) -> dict[str, str]:
        """The checks of ``ast_ari_channels_external_media``, in its order."""
        if not q.get("app"):
            raise _Fail(400, "app cannot be empty")
        transport = q.get("transport") or "udp"
        encapsulation = q.get("encapsulation") or "rtp"
        if transport == "websocket" and encapsulation != "none":
            raise _Fail(400, "encapsulation must be 'none' for websocket transport")
        if encapsulation == "rtp" and transport != "udp":
            raise _Fail(400, "transport must be 'udp' for rtp encapsulation")
        if encapsulation == "audiosocket" and transport != "tcp":
            raise _Fail(400, "transport must be 'tcp' for audiosocket encapsulation")
        connection_type = q.get("connection_type") or "client"
        host = q.get("external_host", "")
        if transport == "websocket" and connection_type == "client":
            if host not in self.websocket_connections:
                raise _Fail(400, "external_host must be a valid websocket_client connection id.")
        elif transport != "websocket" and ":" not in host:
            raise _Fail(
                400, "external_host must be <host>:<port> for all transports other than websocket"
            )
        if not q.get("format"):
            raise _Fail(400, "format cannot be empty")
        if encapsulation == "audiosocket" and not q.get("data"):
            raise _Fail(400, "data can not be empty")
        if encapsulation == "rtp":
            raise _Fail(501, "The encapsulation and/or transport is not supported")
        return {"app": q["app"], "transport": transport, "external_host": host}

    async def _dial_media(self, chan: SimChannel, app: str) -> None:
        """Connect the media peer, then answer: the channel enters Stasis."""
        try:
            if self.on_external_media is not None:
                await self.on_external_media(chan.id, chan.external_media_params, chan.variables)
        except Exception as exc:
            logger.info("simulated media dial for %s failed: %s", chan.id, exc)
            if not chan.hung_up:
                self._destroy_channel(chan, 34, soft=False)
            return
        if chan.hung_up:
            return
        chan.state = "Up"
        self._emit_channel("ChannelStateChange", chan)
        chan.app = app
        self._emit_channel("StasisStart", chan, args=list(chan.args))

    # ------------------------------------------------------------------ bridges

    def _bridge(self, bridge_id: str) -> SimBridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None or bridge.destroyed:
            raise _Fail(404, "Bridge not found")
        return bridge

    async def _list_bridges(self, request: web.Request) -> Any:
        return [b.to_json() for b in self.live_bridges()]

    async def _get_bridge(self, request: web.Request) -> Any:
        return self._bridge(request.match_info["id"]).to_json()

    async def _create_bridge(self, request: web.Request) -> Any:
        bridge_id = request.query.get("bridgeId") or str(uuid.uuid4())
        existing = self.bridges.get(bridge_id)
        if existing is not None and not existing.destroyed:
            raise _Fail(409, f"Bridge with id '{bridge_id}' already exists")
        app = next(iter(self._sessions), "")
        bridge = SimBridge(
            bridge_id, request.query.get("name", ""), request.query.get("type") or "mixing", app
        )
        self.bridges[bridge_id] = bridge
        return bridge.to_json()

    async def _destroy_bridge(self, request: web.Request) -> Any:
        bridge = self._bridge(request.match_info["id"])
        for channel_id in list(bridge.channels):
            self._leave_bridge(self.channels[channel_id])
        bridge.destroyed = True
        self._emit(bridge.app, "BridgeDestroyed", bridge=bridge.to_json())

    def _bridge_channels(self, request: web.Request) -> list[SimChannel]:
        ids = [c for c in request.query.get("channel", "").split(",") if c]
        if not ids:
            raise _Fail(400, "Missing parameter channel")
        chans = []
        for channel_id in ids:
            chan = self.channels.get(channel_id)
            if chan is None or chan.hung_up:
                raise _Fail(400, "Channel not found")
            if not chan.app:
                raise _Fail(422, "Channel not in Stasis application")
            chans.append(chan)
        return chans

    async def _add_channel(self, request: web.Request) -> Any:
        bridge = self._bridge(request.match_info["id"])
        for chan in self._bridge_channels(request):
            async with chan.lock:
                await self._serialised(chan)
                if chan.bridge_id == bridge.id:
                    continue
                self._leave_bridge(chan)
                chan.bridge_id = bridge.id
                bridge.channels.append(chan.id)
                self._emit(
                    bridge.app,
                    "ChannelEnteredBridge",
                    bridge=bridge.to_json(),
                    channel=chan.to_json(),
                )

    async def _remove_channel(self, request: web.Request) -> Any:
        bridge = self._bridge(request.match_info["id"])
        chans = self._bridge_channels(request)
        if any(chan.bridge_id != bridge.id for chan in chans):
            raise _Fail(422, "Channel not in this bridge")
        for chan in chans:
            async with chan.lock:
                await self._serialised(chan)
                self._leave_bridge(chan)


def _listeners(chan: SimChannel) -> list[str]:
    """The applications that get a channel's events: its Stasis app, then subscribers."""
    apps = [chan.subscribed_app] if chan.subscribed_app else []
    return apps + sorted(chan.subscriptions - set(apps))


def _inherited(name: str) -> str:
    """``__X`` stays ``__X`` on the child (inherited again); ``_X`` becomes ``X``."""
    return name if name.startswith("__") else name[1:]
