"""The simulated ARI's REST resources: channels, playbacks and subscriptions here, bridges
in :mod:`.ari_bridges`, Asterisk itself in :mod:`.ari_asterisk`.

Replies and status codes as ``res/ari/resource_channels.c`` gives them: error bodies are
``{"message": ...}`` (raised as :class:`~callbot.simulator.ari_model.AriFailure`), 204 for
commands, 404/409/412/422 as the source decides. Commands on one channel run one at a
time, as in Asterisk, and wait for a playback in progress. Every request is logged in
:attr:`AriRest.requests`.

Media is not simulated here. ``externalMedia`` creates a media channel in state ``Down``
and awaits ``on_external_media(channel_id, params, variables)``: the hook connects a
simulated media peer (e.g. ``SimulatedChanWebsocketCall``) to the callbot media server and
returns once connected; the channel is then answered and enters Stasis, as chan_websocket
does after ``MEDIA_START``. If the hook raises, the dial fails (``ChannelDestroyed``
without ``StasisStart``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callbot.simulator.ari_asterisk import SimulatedSystem
from callbot.simulator.ari_bridges import BridgeResources, Handler
from callbot.simulator.ari_model import AriFailure, AriModel, SimChannel
from callbot.simulator.ari_queues import SimulatedQueues

logger = logging.getLogger(__name__)

ExternalMediaHook = Callable[[str, Mapping[str, str], Mapping[str, str]], Awaitable[None]]
"""``async hook(media_channel_id, externalMedia query params, channel variables)``."""


class AriRest:
    """The REST resources over a model, its queues and Asterisk's own state."""

    def __init__(
        self,
        model: AriModel,
        queues: SimulatedQueues,
        system: SimulatedSystem,
        *,
        websocket_connections: Iterable[str],
        on_external_media: ExternalMediaHook | None,
        command_delay_s: float,
        playback_duration_s: float,
    ) -> None:
        self.model = model
        self.queues = queues
        self.system = system
        """Version, modules, queues, globals: ``/asterisk/...`` (:mod:`.ari_asterisk`)."""
        self.websocket_connections = set(websocket_connections)
        self.on_external_media = on_external_media
        self.command_delay_s = command_delay_s
        self.playback_duration_s = playback_duration_s
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.playbacks: list[tuple[str, str, str]] = []
        """(channel id, playback id, media) of every play request, in order."""
        self.stopped_playbacks: list[str] = []
        """Playback ids stopped with ``DELETE /playbacks/{id}``."""
        self._bridge_resources = BridgeResources(model, self._serialised)
        self._playback_channel: dict[str, SimChannel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
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
            *self._bridge_resources.table(),
        ]
        return [Route(path, self._wrap(handler), methods=[m]) for m, path, handler in table]

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Log the request; a result is the JSON reply, None a 204."""

        async def wrapped(request: Request) -> Response:
            self.requests.append((request.method, request.url.path, dict(request.query_params)))
            result = await handler(request)
            if result is None:
                return Response(status_code=204)
            return JSONResponse(result)

        return wrapped

    async def _serialised(self, chan: SimChannel) -> None:
        if self.command_delay_s:
            await asyncio.sleep(self.command_delay_s)

    # ------------------------------------------------------------------ channels

    async def _list_channels(self, request: Request) -> Any:
        return [c.to_json() for c in self.model.live_channels()]

    async def _get_channel(self, request: Request) -> Any:
        return self.model.channel(request.path_params["id"]).to_json()

    async def _hangup(self, request: Request) -> Any:
        chan = self.model.channel(request.path_params["id"])
        async with chan.lock:
            await self._serialised(chan)
            if not chan.hung_up:
                self.model.destroy_channel(chan, 16, soft=True)

    async def _answer(self, request: Request) -> Any:
        chan = self.model.control(request.path_params["id"])
        async with chan.lock:
            self.model.check_state(chan)
            await self._serialised(chan)
            if chan.state != "Up":
                chan.state = "Up"
                self.model.emit_channel("ChannelStateChange", chan)

    async def _continue(self, request: Request) -> Any:
        chan = self.model.control(request.path_params["id"])
        q = request.query_params
        async with chan.lock:
            self.model.check_state(chan)
            await self._serialised(chan)
            # ast_ari_channels_continue_in_dialplan: no target at all -> next priority.
            context = q.get("context") or chan.context
            exten = q.get("extension") or ("s" if q.get("context") else chan.exten)
            if q.get("label"):
                priority = self.queues.label(context, exten, q["label"])
            elif q.get("priority"):
                priority = int(q["priority"])
            elif q.get("context") or q.get("extension"):
                priority = 1
            else:
                priority = chan.priority + 1
            # Channel commands wait for a playback in progress (the control queue is one).
            await _playback_done(chan)
            if self.queues.agent_reenters_stasis(chan, priority):
                return
            self.model.leave_bridge(chan)
            self.model.emit_channel("StasisEnd", chan)
            chan.app, chan.subscribed_app = None, None
            chan.context, chan.exten, chan.priority = context, exten, priority
            chan.continued_to = (context, exten, priority)
            self.queues.after_continue(chan)

    async def _play(self, request: Request) -> Any:
        """``ast_ari_channels_play``: 404 unknown, 409 not in Stasis, 412 not up."""
        media = request.query_params.get("media", "")
        if not media:
            raise AriFailure(400, "Missing parameter media")
        chan = self.model.control(request.path_params["id"])
        self.model.check_state(chan)
        playback_id = request.path_params.get("playback") or str(uuid.uuid4())
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
        self.model.emit(app, "PlaybackStarted", playback={**playback, "state": "playing"})
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
        self.model.emit(app, "PlaybackFinished", playback={**playback, "state": "done"})

    async def _stop_playback(self, request: Request) -> Any:
        """``DELETE /playbacks/{id}``: 404 once it has finished."""
        playback_id = request.path_params["playback"]
        chan = self._playback_channel.get(playback_id)
        if chan is None:
            raise AriFailure(404, "Playback not found")
        self.stopped_playbacks.append(playback_id)
        media = next((m for c, p, m in self.playbacks if p == playback_id), "")
        playback = {"id": playback_id, "media_uri": media, "target_uri": f"channel:{chan.id}"}
        self._end_playback(chan.subscribed_app, playback_id, playback)

    async def _subscribe(self, request: Request) -> Any:
        """``/applications/{app}/subscription``: 400 no source, 404 app, 422 unknown source."""
        app = request.path_params["app"]
        source = request.query_params.get("eventSource", "")
        if not source:
            raise AriFailure(400, "Missing parameter eventSource")
        if app not in self.model.sink.apps:
            raise AriFailure(404, "Application not found")
        kind, _, resource = source.partition(":")
        chan = self.model.channels.get(resource) if kind == "channel" else None
        if chan is None or chan.hung_up:
            raise AriFailure(422, "Unable to find event source")
        if request.method == "POST":
            chan.subscriptions.add(app)
        else:
            chan.subscriptions.discard(app)
        return {"name": app, "channel_ids": [chan.id], "bridge_ids": [], "endpoint_ids": []}

    async def _create_channel(self, request: Request) -> Any:
        """``ast_ari_channels_create``: requested, never dialled, then ``Stasis(app)`` in
        its own thread; an app no websocket registered makes Stasis fail: hung up at once."""
        q = request.query_params
        endpoint = q.get("endpoint", "")
        if not endpoint:
            raise AriFailure(400, "Endpoint must be specified")
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriFailure(400, "Invalid endpoint specified")
        seq = self.model.next_seq()
        channel_id = q.get("channelId") or self.model.unique_id(seq)
        self._check_new_id(channel_id)
        app = q.get("app", "")
        local = ";1" if tech == "Local" else ""
        name = f"{endpoint}-{seq:08x}{local}"
        chan = SimChannel(id=channel_id, name=name, state="Down", context="default")
        chan.subscribed_app = app or None
        self.model.channels[chan.id] = chan
        reply = chan.to_json()
        if app in self.model.sink.apps:
            chan.app, chan.app_data = app, app
            self.model.emit_channel("StasisStart", chan, args=[])
        else:
            self.model.destroy_channel(chan, 16, soft=False)
        return reply

    def _check_new_id(self, channel_id: str) -> None:
        if channel_id in self.model.channels and not self.model.channels[channel_id].hung_up:
            raise AriFailure(409, "Channel with given unique ID already exists")

    async def _get_variable(self, request: Request) -> Any:
        """``ast_ari_channels_get_channel_var``: a name ending in ``)`` is a dialplan function
        (500 when none reads it), else a channel variable (404 when unset)."""
        variable = request.query_params.get("variable", "")
        if not variable:
            raise AriFailure(400, "Variable name is required")
        chan = self.model.channels.get(request.path_params["id"])
        if chan is None or chan.hung_up:
            raise AriFailure(404, "Provided channel was not found")
        if variable.endswith(")"):
            value = self.system.read_function(variable)
            if value is None:
                raise AriFailure(500, "Unable to read provided function")
            return {"value": value}
        if variable not in chan.variables:
            raise AriFailure(404, "Provided variable was not found")
        return {"value": chan.variables[variable]}

    async def _set_variable(self, request: Request) -> Any:
        variable = request.query_params.get("variable", "")
        if not variable:
            raise AriFailure(400, "Variable name is required")
        chan = self.model.control(request.path_params["id"])
        value = request.query_params.get("value", "")
        async with chan.lock:
            await self._serialised(chan)
            chan.variables[variable] = value
            self.model.emit_channel("ChannelVarset", chan, variable=variable, value=value)

    async def _moh(self, request: Request) -> Any:
        chan = self.model.control(request.path_params["id"])
        async with chan.lock:
            self.model.check_state(chan)
            chan.moh = request.method == "POST"

    async def _external_media(self, request: Request) -> Any:
        q = dict(request.query_params)
        variables: dict[str, str] = {}
        if raw_body := await request.body():
            body = json.loads(raw_body)
            raw = body.get("variables") if isinstance(body, dict) else None
            if isinstance(raw, dict):
                variables = {str(k): str(v) for k, v in raw.items()}
        params = self._check_external_media(q)
        channel_id = q.get("channelId") or self.model.unique_id(self.model.next_seq())
        self._check_new_id(channel_id)
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
        self.model.channels[chan.id] = chan
        task = asyncio.create_task(self._dial_media(chan, params["app"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {**chan.to_json(), "channelvars": dict(variables)}

    def _check_external_media(self, q: dict[str, str]) -> dict[str, str]:
        """The checks of ``ast_ari_channels_external_media``, in its order."""
        if not q.get("app"):
            raise AriFailure(400, "app cannot be empty")
        transport = q.get("transport") or "udp"
        encapsulation = q.get("encapsulation") or "rtp"
        if transport == "websocket" and encapsulation != "none":
            raise AriFailure(400, "encapsulation must be 'none' for websocket transport")
        if encapsulation == "rtp" and transport != "udp":
            raise AriFailure(400, "transport must be 'udp' for rtp encapsulation")
        if encapsulation == "audiosocket" and transport != "tcp":
            raise AriFailure(400, "transport must be 'tcp' for audiosocket encapsulation")
        connection_type = q.get("connection_type") or "client"
        host = q.get("external_host", "")
        if transport == "websocket" and connection_type == "client":
            if host not in self.websocket_connections:
                raise AriFailure(
                    400, "external_host must be a valid websocket_client connection id."
                )
        elif transport != "websocket" and ":" not in host:
            raise AriFailure(
                400, "external_host must be <host>:<port> for all transports other than websocket"
            )
        if not q.get("format"):
            raise AriFailure(400, "format cannot be empty")
        if encapsulation == "audiosocket" and not q.get("data"):
            raise AriFailure(400, "data can not be empty")
        if encapsulation == "rtp":
            raise AriFailure(501, "The encapsulation and/or transport is not supported")
        return {"app": q["app"], "transport": transport, "external_host": host}

    async def _dial_media(self, chan: SimChannel, app: str) -> None:
        """Connect the media peer, then answer: the channel enters Stasis."""
        try:
            if self.on_external_media is not None:
                await self.on_external_media(chan.id, chan.external_media_params, chan.variables)
        except Exception as exc:
            logger.info("simulated media dial for %s failed: %s", chan.id, exc)
            if not chan.hung_up:
                self.model.destroy_channel(chan, 34, soft=False)
            return
        if chan.hung_up:
            return
        chan.state = "Up"
        self.model.emit_channel("ChannelStateChange", chan)
        chan.app = app
        self.model.emit_channel("StasisStart", chan, args=list(chan.args))


async def _playback_done(chan: SimChannel) -> None:
    while chan.playing:  # noqa: ASYNC110 (a set of playbacks, polled like wait_for)
        await asyncio.sleep(0.01)
