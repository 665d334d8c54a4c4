"""ARI (Asterisk REST Interface) data, without I/O: channel and bridge snapshots and the
events of the ``/ari/events`` websocket, JSON in, typed values out. REST calls are
described in :mod:`callbot.protocols.ari_rest`.

Shapes follow the Asterisk source: the models in ``rest-api/api-docs/events.json``,
``channels.json`` and ``bridges.json``; channel JSON from ``ast_channel_snapshot_to_json``
(``main/stasis_channels.c``); bridge JSON from ``ast_bridge_snapshot_to_json``
(``main/stasis_bridges.c``).

Only what the bridge uses is typed; any other event type parses to :class:`UnknownEvent`
so that a newer Asterisk never breaks the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
