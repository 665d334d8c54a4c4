"""ARI requests that look at Asterisk itself (what ``callbot asterisk check`` asks), without
I/O: :class:`~callbot.protocols.ari_rest.AriRequest` values out, typed replies in.

Shapes and status codes from the Asterisk source: ``rest-api/api-docs/asterisk.json``
(models ``AsteriskInfo``, ``Module``, ``Variable``, ``ConfigTuple``),
``res/ari/resource_asterisk.c``, ``res/ari/resource_applications.c`` and
``res/ari/resource_channels.c``. Facts that decide how the check works:

* ``GET /asterisk/modules/{name}`` wants the file name, ``res_ari.so``: the lookup
  (``ast_module_check``) ignores the suffix but the reply is built by an exact match,
  so ``res_ari`` answers 409 "Module information could not be retrieved";
  ``GET /asterisk/modules`` lists every module with ``status`` ``Running`` or
  ``Not Running``.
* ``GET /asterisk/variable`` reads a *global variable* only
  (``ast_str_retrieve_variable``): ``QUEUE_EXISTS(x)`` there is always ``""``.
  Dialplan functions are evaluated by ``GET /channels/{id}/variable`` (``ast_func_read2``
  when the name ends with ``)``), which needs a channel: see :func:`create_channel`.
* ``GET /asterisk/config/dynamic/{class}/{type}/{id}`` reads any sorcery object, e.g.
  ``res_websocket_client/websocket_client/callbot``, as ``[{attribute, value}...]`` with
  every field, the password included; 404 ``configClass '...' not found`` when the
  module is not loaded, ``Object with id '...' not found`` when the section is missing.
* ``GET /applications/{app}`` answers 404 "Application not found" unless some websocket
  registered the app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callbot.errors import AriError
from callbot.protocols.ari_rest import AriRequest, path_segment

WEBSOCKET_CLIENT_CONFIG = ("res_websocket_client", "websocket_client")
"""Sorcery module and object type of ``websocket_client.conf`` connections."""


@dataclass(frozen=True, slots=True)
class AsteriskModule:
    """A ``Module``: one loadable file of the running Asterisk."""

    name: str
    """The file, ``res_ari.so``."""
    description: str
    status: str
    """``Running`` or ``Not Running``."""
    support_level: str = ""

    @property
    def running(self) -> bool:
        return self.status == "Running"


@dataclass(frozen=True, slots=True)
class ConfigObject:
    """A sorcery object as ``GET /asterisk/config/dynamic/...`` gives it."""

    fields: tuple[tuple[str, str], ...]

    def get(self, attribute: str, default: str = "") -> str:
        return next((v for k, v in self.fields if k == attribute), default)


def get_info(*only: str) -> AriRequest:
    """``GET /asterisk/info``; ``only`` among ``build``, ``system``, ``config``, ``status``."""
    return AriRequest("GET", "/asterisk/info", {"only": ",".join(only)} if only else {})


def list_modules() -> AriRequest:
    return AriRequest("GET", "/asterisk/modules")


def get_module(name: str) -> AriRequest:
    """``name`` with its ``.so`` (see the module docstring)."""
    return AriRequest("GET", f"/asterisk/modules/{path_segment(name)}")


def get_global_var(variable: str) -> AriRequest:
    return AriRequest("GET", "/asterisk/variable", {"variable": variable})


def get_config_object(config_class: str, object_type: str, object_id: str) -> AriRequest:
    ids = "/".join(path_segment(part) for part in (config_class, object_type, object_id))
    path = f"/asterisk/config/dynamic/{ids}"
    return AriRequest("GET", path)


def get_application(app: str) -> AriRequest:
    return AriRequest("GET", f"/applications/{path_segment(app)}")


def create_channel(endpoint: str, app: str, channel_id: str | None = None) -> AriRequest:
    """``POST /channels/create``: the channel is requested but never dialled, and runs
    ``Stasis(app)`` (gone at once unless ``app`` is registered). A ``Local/x@y`` channel
    runs no dialplan until dialled, so it is a harmless place to evaluate functions."""
    params = {"endpoint": endpoint, "app": app}
    if channel_id:
        params["channelId"] = channel_id
    return AriRequest("POST", "/channels/create", params)


def get_channel_var(channel_id: str, variable: str) -> AriRequest:
    """A channel variable, or a dialplan function when ``variable`` ends with ``)``."""
    return AriRequest(
        "GET", f"/channels/{path_segment(channel_id)}/variable", {"variable": variable}
    )


# --------------------------------------------------------------------------- replies


def parse_version(value: object) -> str:
    """``system.version`` of an ``AsteriskInfo`` reply."""
    system = _obj(value, "AsteriskInfo").get("system")
    version = _obj(system, "SystemInfo").get("version")
    if not isinstance(version, str):
        raise AriError("ARI SystemInfo lacks string field 'version'")
    return version


def parse_entity_id(value: object) -> str:
    """``system.entity_id`` of an ``AsteriskInfo`` reply: the Asterisk's own id (its
    ``entityid``, a MAC address by default), the same whatever URL reaches it."""
    system = _obj(value, "AsteriskInfo").get("system")
    entity = _obj(system, "SystemInfo").get("entity_id")
    if not isinstance(entity, str) or not entity:
        raise AriError("ARI SystemInfo lacks string field 'entity_id'")
    return entity


def parse_module(value: object) -> AsteriskModule:
    obj = _obj(value, "Module")
    name, status = obj.get("name"), obj.get("status")
    if not isinstance(name, str) or not isinstance(status, str):
        raise AriError("ARI Module lacks string fields 'name' and 'status'")
    description, level = obj.get("description"), obj.get("support_level")
    return AsteriskModule(
        name,
        description if isinstance(description, str) else "",
        status,
        level if isinstance(level, str) else "",
    )


def parse_module_list(value: object) -> list[AsteriskModule]:
    if not isinstance(value, list):
        raise AriError("ARI module list is not a JSON array")
    return [parse_module(item) for item in value]


def parse_variable(value: object) -> str:
    """The ``value`` of a ``Variable`` reply."""
    found = _obj(value, "Variable").get("value")
    if not isinstance(found, str):
        raise AriError("ARI Variable lacks string field 'value'")
    return found


def parse_config_object(value: object) -> ConfigObject:
    """A list of ``ConfigTuple``."""
    if not isinstance(value, list):
        raise AriError("ARI config object is not a JSON array")
    fields = []
    for item in value:
        obj = _obj(item, "ConfigTuple")
        attribute, text = obj.get("attribute"), obj.get("value")
        if not isinstance(attribute, str) or not isinstance(text, str):
            raise AriError("ARI ConfigTuple lacks string fields 'attribute' and 'value'")
        fields.append((attribute, text))
    return ConfigObject(tuple(fields))


def error_message(body: str) -> str:
    """The ``message`` of an ARI error body (``{"message": ...}``), else the body."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body
    message = decoded.get("message") if isinstance(decoded, Mapping) else None
    return message if isinstance(message, str) else body


def _obj(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AriError(f"ARI {what} is not a JSON object")
    return value
