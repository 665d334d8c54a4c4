"""ARI REST calls, without I/O: each call described as an :class:`AriRequest` value that
the asyncio client (:mod:`callbot.bridge.ari_client`) sends, and the list replies parsed.

Paths, parameters and their checks from ``rest-api/api-docs/channels.json`` and
``bridges.json``, ``res/ari/resource_channels.c`` and ``res/ari/resource_bridges.c``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from callbot.errors import AriError
from callbot.protocols.ari import Bridge, Channel, parse_bridge, parse_channel


@dataclass(frozen=True, slots=True)
class AriRequest:
    """One REST call, relative to the ARI base URL (``http://host:8088/ari``)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json_body: Mapping[str, Any] | None = None
    """Only externalMedia uses a body: ``{"variables": {...}}`` (a ``body`` parameter)."""


def path_segment(value: str) -> str:
    """One resource id, quoted for a path (channel ids may contain ``.`` and ``-``,
    nothing else odd); ``ValueError`` when empty, as a path like ``/channels//answer``
    would name another resource or none."""
    if not value:
        raise ValueError("empty ARI resource id")
    return quote(value, safe="")


def list_channels() -> AriRequest:
    return AriRequest("GET", "/channels")


def get_channel(channel_id: str) -> AriRequest:
    return AriRequest("GET", f"/channels/{path_segment(channel_id)}")


def answer(channel_id: str) -> AriRequest:
    """``204``; ``404`` unknown, ``409`` not in Stasis, ``412`` outbound channel not up."""
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/answer")


def hangup(channel_id: str, reason: str = "normal") -> AriRequest:
    """``DELETE /channels/{id}?reason=``: any channel, in Stasis or not."""
    return AriRequest("DELETE", f"/channels/{path_segment(channel_id)}", {"reason": reason})


def continue_in_dialplan(
    channel_id: str, *, context: str, extension: str = "s", priority: int = 1
) -> AriRequest:
    """Leave Stasis for ``context,extension,priority`` (departs any bridge first)."""
    params = {"context": context, "extension": extension, "priority": str(priority)}
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/continue", params)


def continue_to_label(channel_id: str, *, context: str, extension: str, label: str) -> AriRequest:
    """Leave Stasis for the priority labelled ``label`` (``same => n(label),...``)."""
    params = {"context": context, "extension": extension, "label": label}
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/continue", params)


def stop_playback(playback_id: str) -> AriRequest:
    """``DELETE /playbacks/{id}``: 404 once it has finished."""
    return AriRequest("DELETE", f"/playbacks/{path_segment(playback_id)}")


def continue_next(channel_id: str) -> AriRequest:
    """``continue`` with no target: the priority after the one in the channel's snapshot."""
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/continue")


def set_variable(channel_id: str, variable: str, value: str) -> AriRequest:
    """Set one channel variable; a ``__`` prefix makes it inherited by dialled legs."""
    if not variable:
        raise ValueError("variable name is required")
    params = {"variable": variable, "value": value}
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/variable", params)


def start_moh(channel_id: str, moh_class: str | None = None) -> AriRequest:
    params = {"mohClass": moh_class} if moh_class else {}
    return AriRequest("POST", f"/channels/{path_segment(channel_id)}/moh", params)


def stop_moh(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/channels/{path_segment(channel_id)}/moh")


def create_bridge(bridge_id: str, *, name: str = "", bridge_type: str = "mixing") -> AriRequest:
    """``POST /bridges``; the reply is the ``Bridge``; ``409`` when the id exists."""
    params = {"type": bridge_type, "bridgeId": bridge_id}
    if name:
        params["name"] = name
    return AriRequest("POST", "/bridges", params)


def list_bridges() -> AriRequest:
    return AriRequest("GET", "/bridges")


def destroy_bridge(bridge_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/bridges/{path_segment(bridge_id)}")


def add_channel(bridge_id: str, channel_ids: Sequence[str]) -> AriRequest:
    """Every channel must already be in Stasis (else ``422``); unknown channel: ``400``."""
    params = {"channel": ",".join(channel_ids)}
    return AriRequest("POST", f"/bridges/{path_segment(bridge_id)}/addChannel", params)


def remove_channel(bridge_id: str, channel_ids: Sequence[str]) -> AriRequest:
    params = {"channel": ",".join(channel_ids)}
    return AriRequest("POST", f"/bridges/{path_segment(bridge_id)}/removeChannel", params)


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


# --------------------------------------------------------------------------- replies


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
