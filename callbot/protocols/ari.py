"""ARI (Asterisk REST Interface), without I/O: event JSON in, typed events out; REST calls
described as :class:`AriRequest` values that the asyncio client sends.

Shapes follow the Asterisk source: the models in ``rest-api/api-docs/events.json``,
``channels.json`` and ``bridges.json``; channel JSON from ``ast_channel_snapshot_to_json``
(``main/stasis_channels.c``); bridge JSON from ``ast_bridge_snapshot_to_json``
(``main/stasis_bridges.c``); REST parameters and their checks from
``res/ari/resource_channels.c`` and ``res/ari/resource_bridges.c``.

Only what the bridge uses is typed; any other event type parses to :class:`UnknownEvent`
so that a newer Asterisk never breaks the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from callbot.errors import AriError

# --------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel snapshot (``Channel`` model)."""

    id: str
    """Asterisk's unique id (``UNIQUEID``); the key of every channel REST call."""
    name: str
    """Technology/resource name, e.g. ``PJSIP/trunk-00000001`` or ``WebSocket/callbot/0x...``."""
    state: str
    """``ast_state2str``: ``Down``, ``Ring``, ``Ringing``, ``Up``..."""
    caller_number: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    """Dialplan application the channel runs (``Stasis`` while in an ARI app)."""
    app_data: str = ""
    """Its argument string (``callbot,arg1`` for ``Stasis(callbot,arg1)``)."""
    language: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    """``channelvars`` (only present when ari.conf ``channelvars`` or externalMedia set them)."""

    @property
    def technology(self) -> str:
        """``PJSIP``, ``WebSocket``, ``AudioSocket``, ``Local``..."""
        return self.name.split("/", 1)[0]

    def in_stasis_app(self, app: str) -> bool:
        """True when the channel currently runs ``Stasis(app,...)``."""
        return self.app_name == "Stasis" and self.app_data.split(",", 1)[0] == app


@dataclass(frozen=True, slots=True)
class Bridge:
    """A bridge snapshot (``Bridge`` model)."""

    id: str
    name: str
    bridge_type: str
    bridge_class: str
    creator: str
    technology: str
    channel_ids: tuple[str, ...]


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StasisStart:
    """A channel entered the application (``Stasis(app,args...)`` or an origination)."""

    application: str
    timestamp: str
    channel: Channel
    args: tuple[str, ...]
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class StasisEnd:
    """The channel left the application (hung up, or ``continue`` back to the dialplan)."""

    application: str
    timestamp: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelDtmfReceived:
    application: str
    timestamp: str
    channel: Channel
    digit: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest:
    application: str
    timestamp: str
    channel: Channel
    cause: int | None
    soft: bool


@dataclass(frozen=True, slots=True)
class ChannelDestroyed:
    application: str
    timestamp: str
    channel: Channel
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class ChannelStateChange:
    application: str
    timestamp: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelVarset:
    application: str
    timestamp: str
    variable: str
    value: str
    channel: Channel | None
    """None for a global variable."""


@dataclass(frozen=True, slots=True)
class ChannelEnteredBridge:
    application: str
    timestamp: str
    bridge: Bridge
    channel: Channel | None


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge:
    application: str
    timestamp: str
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True)
class BridgeDestroyed:
    application: str
    timestamp: str
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    application: str
    timestamp: str
    playback_id: str
    target_uri: str
    state: str


@dataclass(frozen=True, slots=True)
class ApplicationReplaced:
    """Another websocket registered the same application: this one gets no more events."""

    application: str
    timestamp: str


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any event type the bridge does not use (kept whole for logging)."""

    type: str
    application: str
    timestamp: str
    raw: Mapping[str, Any]


AriEvent = (
    StasisStart
    | StasisEnd
    | ChannelDtmfReceived
    | ChannelHangupRequest
    | ChannelDestroyed
    | ChannelStateChange
    | ChannelVarset
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | BridgeDestroyed
    | PlaybackFinished
    | ApplicationReplaced
    | UnknownEvent
)

ChannelEvent = (
    StasisStart
    | StasisEnd
    | ChannelDtmfReceived
    | ChannelHangupRequest
    | ChannelDestroyed
    | ChannelStateChange
)
"""Events that always carry the channel they are about."""


# --------------------------------------------------------------------------- parsing


def _obj(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AriError(f"ARI {what} is not a JSON object")
    return value


def _str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise AriError(f"ARI {what} lacks string field {key!r}")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _opt_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_channel(value: object) -> Channel:
    """Parse a ``Channel`` JSON object (REST reply or event field)."""
    obj = _obj(value, "channel")
    caller = obj.get("caller")
    caller_obj: Mapping[str, Any] = caller if isinstance(caller, Mapping) else {}
    dialplan = obj.get("dialplan")
    cep: Mapping[str, Any] = dialplan if isinstance(dialplan, Mapping) else {}
    raw_vars = obj.get("channelvars")
    variables = (
        {str(k): str(v) for k, v in raw_vars.items()} if isinstance(raw_vars, Mapping) else {}
    )
    return Channel(
        id=_str(obj, "id", "channel"),
        name=_str(obj, "name", "channel"),
        state=_str(obj, "state", "channel"),
        caller_number=_opt_str(caller_obj, "number"),
        caller_name=_opt_str(caller_obj, "name"),
        context=_opt_str(cep, "context"),
        exten=_opt_str(cep, "exten"),
        priority=_opt_int(cep, "priority") or 0,
        app_name=_opt_str(cep, "app_name"),
        app_data=_opt_str(cep, "app_data"),
        language=_opt_str(obj, "language"),
        variables=variables,
    )


def parse_bridge(value: object) -> Bridge:
    """Parse a ``Bridge`` JSON object (REST reply or event field)."""
    obj = _obj(value, "bridge")
    channels = obj.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise AriError("ARI bridge lacks a 'channels' list of ids")
    return Bridge(
        id=_str(obj, "id", "bridge"),
        name=_opt_str(obj, "name"),
        bridge_type=_opt_str(obj, "bridge_type"),
        bridge_class=_opt_str(obj, "bridge_class"),
        creator=_opt_str(obj, "creator"),
        technology=_opt_str(obj, "technology"),
        channel_ids=tuple(channels),
    )


def parse_channel_list(value: object) -> list[Channel]:
    """Parse the reply of ``GET /channels``."""
    if not isinstance(value, list):
        raise AriError("ARI channel list is not a JSON array")
    return [parse_channel(item) for item in value]


def parse_bridge_list(value: object) -> list[Bridge]:
    """Parse the reply of ``GET /bridges``."""
    if not isinstance(value, list):
        raise AriError("ARI bridge list is not a JSON array")
    return [parse_bridge(item) for item in value]


def parse_event(message: str | bytes) -> AriEvent:
    """Parse one websocket text message from ``/ari/events``.

    Raises :class:`AriError` for invalid JSON or a known event missing a required field.
    """
    try:
        decoded = json.loads(message)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise AriError(f"ARI event is not valid JSON: {exc}") from None
    obj = _obj(decoded, "event")
    kind = _str(obj, "type", "event")
    app = _opt_str(obj, "application")
    ts = _opt_str(obj, "timestamp")
    channel = obj.get("channel")
    if kind == "StasisStart":
        args = obj.get("args", [])
        if not isinstance(args, list):
            raise AriError("ARI StasisStart 'args' is not a list")
        replace = obj.get("replace_channel")
        return StasisStart(
            app,
            ts,
            parse_channel(channel),
            tuple(str(a) for a in args),
            parse_channel(replace) if replace is not None else None,
        )
    if kind == "StasisEnd":
        return StasisEnd(app, ts, parse_channel(channel))
    if kind == "ChannelDtmfReceived":
        duration = _opt_int(obj, "duration_ms") or 0
        return ChannelDtmfReceived(
            app, ts, parse_channel(channel), _str(obj, "digit", kind), duration
        )
    if kind == "ChannelHangupRequest":
        soft = obj.get("soft") is True
        return ChannelHangupRequest(app, ts, parse_channel(channel), _opt_int(obj, "cause"), soft)
    if kind == "ChannelDestroyed":
        cause = _opt_int(obj, "cause") or 0
        return ChannelDestroyed(app, ts, parse_channel(channel), cause, _opt_str(obj, "cause_txt"))
    if kind == "ChannelStateChange":
        return ChannelStateChange(app, ts, parse_channel(channel))
    if kind == "ChannelVarset":
        return ChannelVarset(
            app,
            ts,
            _str(obj, "variable", kind),
            _opt_str(obj, "value"),
            parse_channel(channel) if channel is not None else None,
        )
    if kind == "ChannelEnteredBridge":
        chan = parse_channel(channel) if channel is not None else None
        return ChannelEnteredBridge(app, ts, parse_bridge(obj.get("bridge")), chan)
    if kind == "ChannelLeftBridge":
        return ChannelLeftBridge(app, ts, parse_bridge(obj.get("bridge")), parse_channel(channel))
    if kind == "BridgeDestroyed":
        return BridgeDestroyed(app, ts, parse_bridge(obj.get("bridge")))
    if kind == "PlaybackFinished":
        playback = _obj(obj.get("playback"), "playback")
        return PlaybackFinished(
            app,
            ts,
            _str(playback, "id", "playback"),
            _opt_str(playback, "target_uri"),
            _opt_str(playback, "state"),
        )
    if kind == "ApplicationReplaced":
        return ApplicationReplaced(app, ts)
    return UnknownEvent(kind, app, ts, obj)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class AriRequest:
    """One REST call, relative to the ARI base URL (``http://host:8088/ari``)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json_body: Mapping[str, Any] | None = None
    """Only externalMedia uses a body: ``{"variables": {...}}`` (a ``body`` parameter)."""


def _seg(value: str) -> str:
    """Quote one path segment (channel ids may contain ``.`` and ``-``, nothing else odd)."""
    if not value:
        raise ValueError("empty ARI resource id")
    return quote(value, safe="")


def list_channels() -> AriRequest:
    return AriRequest("GET", "/channels")


def get_channel(channel_id: str) -> AriRequest:
    return AriRequest("GET", f"/channels/{_seg(channel_id)}")


def answer(channel_id: str) -> AriRequest:
    """``204``; ``404`` unknown, ``409`` not in Stasis, ``412`` outbound channel not up."""
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/answer")


def hangup(channel_id: str, reason: str = "normal") -> AriRequest:
    """``DELETE /channels/{id}?reason=``: any channel, in Stasis or not."""
    return AriRequest("DELETE", f"/channels/{_seg(channel_id)}", {"reason": reason})


def continue_in_dialplan(
    channel_id: str, *, context: str, extension: str = "s", priority: int = 1
) -> AriRequest:
    """Leave Stasis for ``context,extension,priority`` (departs any bridge first)."""
    params = {"context": context, "extension": extension, "priority": str(priority)}
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/continue", params)


def continue_to_label(channel_id: str, *, context: str, extension: str, label: str) -> AriRequest:
    """Leave Stasis for the priority labelled ``label`` (``same => n(label),...``)."""
    params = {"context": context, "extension": extension, "label": label}
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/continue", params)


def stop_playback(playback_id: str) -> AriRequest:
    """``DELETE /playbacks/{id}``: 404 once it has finished."""
    return AriRequest("DELETE", f"/playbacks/{_seg(playback_id)}")


def continue_next(channel_id: str) -> AriRequest:
    """``continue`` with no target: the priority after the one in the channel's snapshot."""
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/continue")


def set_variable(channel_id: str, variable: str, value: str) -> AriRequest:
    """Set one channel variable; a ``__`` prefix makes it inherited by dialled legs."""
    if not variable:
        raise ValueError("variable name is required")
    params = {"variable": variable, "value": value}
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/variable", params)


def start_moh(channel_id: str, moh_class: str | None = None) -> AriRequest:
    params = {"mohClass": moh_class} if moh_class else {}
    return AriRequest("POST", f"/channels/{_seg(channel_id)}/moh", params)


def stop_moh(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/channels/{_seg(channel_id)}/moh")


def create_bridge(bridge_id: str, *, name: str = "", bridge_type: str = "mixing") -> AriRequest:
    """``POST /bridges``; the reply is the ``Bridge``; ``409`` when the id exists."""
    params = {"type": bridge_type, "bridgeId": bridge_id}
    if name:
        params["name"] = name
    return AriRequest("POST", "/bridges", params)


def list_bridges() -> AriRequest:
    return AriRequest("GET", "/bridges")


def destroy_bridge(bridge_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/bridges/{_seg(bridge_id)}")


def add_channel(bridge_id: str, channel_ids: Sequence[str]) -> AriRequest:
    """Every channel must already be in Stasis (else ``422``); unknown channel: ``400``."""
    params = {"channel": ",".join(channel_ids)}
    return AriRequest("POST", f"/bridges/{_seg(bridge_id)}/addChannel", params)


def remove_channel(bridge_id: str, channel_ids: Sequence[str]) -> AriRequest:
    params = {"channel": ",".join(channel_ids)}
    return AriRequest("POST", f"/bridges/{_seg(bridge_id)}/removeChannel", params)


def external_media(
    *,
    app: str,
    external_host: str,
    media_format: str,
    transport: str = "websocket",
    encapsulation: str = "none",
    connection_type: str = "client",
    transport_data: str | None = None,
    data: str | None = None,
    channel_id: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> AriRequest:
    """``POST /channels/externalMedia``: originate a media channel into ``app``.

    The combinations accepted mirror ``ast_ari_channels_external_media``: websocket needs
    ``encapsulation=none`` (``external_host`` names a ``websocket_client.conf`` section and
    ``transport_data`` is appended to the dial string: ``WebSocket/<host>/<transport_data>``);
    audiosocket needs ``transport=tcp``, ``host:port`` and ``data`` (the call UUID); rtp
    needs udp. The channel only enters Stasis (``StasisStart``) once its media connects.
    """
    if transport == "websocket" and encapsulation != "none":
        raise ValueError("encapsulation must be 'none' for websocket transport")
    if encapsulation == "audiosocket" and (transport != "tcp" or not data):
        raise ValueError("audiosocket encapsulation needs transport 'tcp' and data (uuid)")
    if encapsulation == "rtp" and transport != "udp":
        raise ValueError("transport must be 'udp' for rtp encapsulation")
    if connection_type == "server" and transport != "websocket":
        raise ValueError("'server' connection_type needs the websocket transport")
    if not media_format:
        raise ValueError("format is required")
    params = {
        "app": app,
        "external_host": external_host,
        "transport": transport,
        "encapsulation": encapsulation,
        "connection_type": connection_type,
        "format": media_format,
    }
    if transport_data:
        params["transport_data"] = transport_data
    if data:
        params["data"] = data
    if channel_id:
        params["channelId"] = channel_id
    body = {"variables": dict(variables)} if variables else None
    return AriRequest("POST", "/channels/externalMedia", params, body)


def events_params(app: str, *, subscribe_all: bool = False) -> dict[str, str]:
    """Query string of the ``GET /ari/events`` websocket (``app`` may list several)."""
    return {"app": app, "subscribeAll": "true" if subscribe_all else "false"}
