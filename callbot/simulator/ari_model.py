"""The simulated Asterisk's channels and bridges, and the changes to them that raise events.

Channel and bridge JSON follow ``ast_channel_snapshot_to_json`` (``main/stasis_channels.c``)
and ``ast_bridge_snapshot_to_json`` (``main/stasis_bridges.c``). A channel's events go to
its Stasis application, then to the applications subscribed to it, in that order. REST
(:mod:`.ari_rest`), app_queue (:mod:`.ari_queues`) and the test controls
(:class:`~callbot.simulator.ari_server.SimulatedAri`) all change calls through
:class:`AriModel`, which hands each event to an :class:`EventSink` (the events websocket,
:mod:`.ari_events`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

_CAUSE_TXT = {16: "Normal Clearing", 34: "Circuit/channel congestion"}


def now_iso() -> str:
    """Asterisk's ``AST_ISO8601_FORMAT``: ``2026-01-01T12:00:00.000+0000``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


class AriFailure(Exception):
    """An ARI error reply: status and message, as ``ast_ari_response_error``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EventSink(Protocol):
    """Where events go: the applications a websocket registered."""

    @property
    def apps(self) -> tuple[str, ...]:
        """Registered applications, in registration order."""
        ...

    def emit(self, app: str | None, kind: str, **fields: Any) -> None: ...


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
    created: str = field(default_factory=now_iso)
    language: str = "fr"
    """``CHANNEL(language)``, as the dialplan set it."""
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
            "language": self.language,
        }


@dataclass(slots=True)
class SimBridge:
    id: str
    name: str
    bridge_type: str
    app: str
    channels: list[str] = field(default_factory=list)
    destroyed: bool = False
    created: str = field(default_factory=now_iso)

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


def listeners(chan: SimChannel) -> list[str]:
    """The applications that get a channel's events: its Stasis app, then subscribers."""
    apps = [chan.subscribed_app] if chan.subscribed_app else []
    return apps + sorted(chan.subscriptions - set(apps))


class AriModel:
    """Every channel and bridge the simulated Asterisk has had (hung-up ones included)."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, SimBridge] = {}
        self.hung_up: list[str] = []
        self.on_destroyed: list[Callable[[SimChannel], None]] = []
        """Called for each channel destroyed, after its last event."""
        self._seq = itertools.count(1)
        self._epoch = int(time.time())

    def next_seq(self) -> int:
        """The next channel sequence number (names use it in hex)."""
        return next(self._seq)

    def unique_id(self, seq: int) -> str:
        """``UNIQUEID``: ``<epoch>.<sequence>``."""
        return f"{self._epoch}.{seq}"

    def live_channels(self) -> list[SimChannel]:
        return [c for c in self.channels.values() if not c.hung_up]

    def live_bridges(self) -> list[SimBridge]:
        return [b for b in self.bridges.values() if not b.destroyed]

    def channels_of_app(self, app: str) -> list[str]:
        """For ``GET /applications/{app}``: ``KeyError`` when no websocket registered it."""
        if app not in self.sink.apps:
            raise KeyError(app)
        return [c.id for c in self.live_channels() if app in listeners(c)]

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
        seq = self.next_seq()
        args = tuple(args)
        chan = SimChannel(
            id=self.unique_id(seq),
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

    # ------------------------------------------------------------------ lookups (REST)

    def channel(self, channel_id: str) -> SimChannel:
        chan = self.channels.get(channel_id)
        if chan is None or chan.hung_up:
            raise AriFailure(404, "Channel not found")
        return chan

    def control(self, channel_id: str) -> SimChannel:
        """``find_control``: 404 unknown, 409 not in a Stasis application."""
        chan = self.channel(channel_id)
        if not chan.app:
            raise AriFailure(409, "Channel not in Stasis application")
        return chan

    @staticmethod
    def check_state(chan: SimChannel) -> None:
        """``channel_state_invalid``: outbound channels not yet up get 412."""
        if chan.state in ("Down", "Rsrvd", "Ringing"):
            raise AriFailure(412, "Channel in invalid state")

    def bridge(self, bridge_id: str) -> SimBridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None or bridge.destroyed:
            raise AriFailure(404, "Bridge not found")
        return bridge

    # ------------------------------------------------------------------ changes

    def emit(self, app: str | None, kind: str, **fields: Any) -> None:
        self.sink.emit(app, kind, **fields)

    def emit_channel(self, kind: str, chan: SimChannel, **fields: Any) -> None:
        for app in listeners(chan):
            self.emit(app, kind, channel=chan.to_json(), **fields)

    def destroy_channel(self, chan: SimChannel, cause: int, *, soft: bool) -> None:
        request: dict[str, Any] = {"cause": cause, "channel": chan.to_json()}
        if soft:
            request["soft"] = True
        for app in listeners(chan):
            self.emit(app, "ChannelHangupRequest", **request)
        self.leave_bridge(chan)
        if chan.app:
            self.emit_channel("StasisEnd", chan)
            chan.app = None
        chan.hung_up = True
        self.hung_up.append(chan.id)
        cause_txt = _CAUSE_TXT.get(cause, "Unknown")
        self.emit_channel("ChannelDestroyed", chan, cause=cause, cause_txt=cause_txt)
        chan.subscribed_app = None
        chan.subscriptions.clear()
        for hook in self.on_destroyed:
            hook(chan)

    def leave_bridge(self, chan: SimChannel) -> None:
        bridge = self.bridges.get(chan.bridge_id or "")
        chan.bridge_id = None
        if bridge is not None and chan.id in bridge.channels:
            bridge.channels.remove(chan.id)
            self.emit(
                bridge.app, "ChannelLeftBridge", bridge=bridge.to_json(), channel=chan.to_json()
            )

    def drop_all(self) -> None:
        """Every channel and bridge gone at once, without events (Asterisk restarted)."""
        for chan in self.channels.values():
            if not chan.hung_up:
                chan.hung_up = True
                self.hung_up.append(chan.id)
        for bridge in self.bridges.values():
            bridge.destroyed = True
