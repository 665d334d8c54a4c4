"""The simulated Asterisk's own side of ARI: version, modules, global variables, queues,
``websocket_client`` connections, and the ``/asterisk/...`` and ``/applications/{app}``
resources that show them, with the replies and status codes of
``res/ari/resource_asterisk.c`` and ``res/ari/resource_applications.c``.

:class:`SimulatedSystem` is plain state for tests to set (drop a module, remove a queue);
:func:`system_routes` gives the routes that
:class:`~callbot.simulator.ari_server.SimulatedAri` mounts. What real Asterisk does and
this reproduces, because the check relies on it:

* ``GET /asterisk/variable`` reads global variables only: ``QUEUE_EXISTS(x)`` is ``""``
  there; :meth:`SimulatedSystem.read_function` serves ``GET /channels/{id}/variable``;
* ``GET /asterisk/modules/{name}`` needs the ``.so``: without it, 409;
* the dynamic config of ``res_websocket_client`` exists only while that module runs, and
  lists every field, the password included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callbot.simulator.ari_model import AriFailure

MODULES: Mapping[str, str] = {
    "app_audiosocket.so": "AudioSocket Application",
    "app_dial.so": "Dialing Application",
    "app_playback.so": "Sound File Playback Application",
    "app_queue.so": "True Call Queueing",
    "app_stack.so": "Dialplan subroutines (Gosub, Return, etc)",
    "app_stasis.so": "Stasis dialplan application",
    "bridge_simple.so": "Simple two channel bridging module",
    "bridge_softmix.so": "Multi-party software based channel mixing",
    "chan_audiosocket.so": "AudioSocket Channel",
    "chan_websocket.so": "Websocket Media Channel",
    "codec_alaw.so": "A-law Coder/Decoder",
    "codec_resample.so": "SLIN Resampling Codec",
    "codec_ulaw.so": "mu-Law Coder/Decoder",
    "format_wav.so": "Microsoft WAV/WAV16 format (8kHz/16kHz Signed Linear)",
    "func_callerid.so": "Party ID related dialplan functions (Caller-ID, Connected-line, ...)",
    "func_channel.so": "Channel information dialplan functions",
    "func_logic.so": "Logical dialplan functions",
    "func_uri.so": "URI encode/decode dialplan functions",
    "pbx_config.so": "Text Extension Configuration",
    "res_ari.so": "Asterisk RESTful Interface",
    "res_ari_applications.so": "RESTful API module - Stasis application resources",
    "res_ari_asterisk.so": "RESTful API module - Asterisk resources",
    "res_ari_bridges.so": "RESTful API module - Bridge resources",
    "res_ari_channels.so": "RESTful API module - Channel resources",
    "res_ari_events.so": "RESTful API module - WebSocket resource",
    "res_ari_model.so": "ARI Model validators",
    "res_audiosocket.so": "AudioSocket support",
    "res_http_websocket.so": "HTTP WebSocket Support",
    "res_musiconhold.so": "Music On Hold Resource",
    "res_sorcery_config.so": "Sorcery Configuration File Object Wizard",
    "res_stasis.so": "Stasis application support",
    "res_stasis_answer.so": "Stasis application answer support",
    "res_stasis_playback.so": "Stasis application playback support",
    "res_timing_timerfd.so": "Timerfd Timing Interface",
    "res_websocket_client.so": "WebSocket Client Support",
}
"""The modules a callbot deployment loads (asterisk/README.md), with their descriptions."""

SHIPPED_QUEUES = frozenset(
    {
        "accueil",
        "etatcivil",
        "conseillers",
        "fraude",
        "reclamations",
        "servicedesk",
        "servicedesk-hardware",
        "centre-de-services",
        "centre-de-services-materiel",
    }
)
"""The queues of the shipped ``asterisk/queues.conf``."""

_FUNCTION = re.compile(r"^(?P<name>[A-Z_]+)\((?P<args>.*)\)$")


def websocket_client_fields(name: str, port: int = 8080) -> dict[str, str]:
    """The fields of a ``[name]`` as the shipped ``websocket_client.conf`` sets them."""
    return {
        "connection_type": "per_call_config",
        "uri": f"ws://127.0.0.1:{port}/media",
        "protocols": "media",
        "username": "",
        "password": "",
        "connection_timeout": "500",
        "reconnect_interval": "500",
        "reconnect_attempts": "4",
        "tls_enabled": "no",
    }


@dataclass(slots=True)
class SimulatedSystem:
    version: str = "23.2.0"
    """``system.version`` of ``GET /asterisk/info``."""
    entity_id: str = "02:42:ac:11:00:02"
    modules: dict[str, str] = field(default_factory=lambda: dict.fromkeys(MODULES, "Running"))
    """Loaded module files -> ``Running`` or ``Not Running``."""
    queues: set[str] = field(default_factory=lambda: set(SHIPPED_QUEUES))
    """Queues app_queue knows (``QUEUE_EXISTS``); names compare without case."""
    global_variables: dict[str, str] = field(
        default_factory=lambda: {"CALLBOT_FALLBACK_QUEUE": "accueil"}
    )
    """``[globals]`` of extensions.conf."""
    websocket_clients: dict[str, dict[str, str]] = field(default_factory=dict)
    """``websocket_client.conf`` sections -> their fields (as sorcery lists them)."""

    @classmethod
    def with_connections(cls, names: Iterable[str]) -> SimulatedSystem:
        return cls(websocket_clients={n: websocket_client_fields(n) for n in names})

    def running(self, module: str) -> bool:
        return self.modules.get(module) == "Running"

    def read_function(self, expression: str) -> str | None:
        """``ast_func_read2`` of ``NAME(args)``; None when no such function is registered."""
        match = _FUNCTION.match(expression)
        if match is None:
            return None
        if match["name"] == "QUEUE_EXISTS" and self.running("app_queue.so"):
            queues = {q.lower() for q in self.queues}
            return "1" if match["args"].lower() in queues else "0"
        return None


def system_routes(system: SimulatedSystem, channels_of: Callable[[str], list[str]]) -> list[Route]:
    """The resources; ``channels_of(app)`` lists the channels an application gets events
    for, and raises ``KeyError`` for an app no websocket registered. Errors are raised as
    :class:`~callbot.simulator.ari_model.AriFailure`."""

    async def info(request: Request) -> Response:
        only = {p.strip().lower() for p in request.query_params.get("only", "").split(",") if p}
        sections: dict[str, Any] = {
            "build": {
                "os": "Linux",
                "kernel": "6.1.0",
                "machine": "x86_64",
                "options": "",
                "date": "2026-01-01 00:00:00 UTC",
                "user": "root",
            },
            "system": {"version": system.version, "entity_id": system.entity_id},
            "config": {
                "name": "",
                "default_language": "en",
                "setid": {"user": "asterisk", "group": "asterisk"},
            },
            "status": {
                "startup_time": "2026-01-01T00:00:00.000+0000",
                "last_reload_time": "2026-01-01T00:00:00.000+0000",
            },
        }
        return JSONResponse({k: v for k, v in sections.items() if not only or k in only})

    def module_json(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": MODULES.get(name, ""),
            "use_count": 0,
            "status": system.modules[name],
            "support_level": "core",
        }

    async def modules(request: Request) -> Response:
        return JSONResponse([module_json(n) for n in sorted(system.modules)])

    async def module(request: Request) -> Response:
        wanted = request.path_params["name"]
        base = wanted.removesuffix(".so").lower()
        found = next((n for n in system.modules if n.removesuffix(".so").lower() == base), None)
        if found is None:
            raise AriFailure(404, "Module could not be found in running modules")
        if found != wanted:  # identify_module compares the full name exactly
            raise AriFailure(409, "Module information could not be retrieved")
        return JSONResponse(module_json(found))

    async def variable(request: Request) -> Response:
        name = request.query_params.get("variable", "")
        if not name:
            raise AriFailure(400, "Variable name is required")
        return JSONResponse({"value": system.global_variables.get(name, "")})

    async def config_object(request: Request) -> Response:
        config_class, object_type = request.path_params["class"], request.path_params["type"]
        object_id = request.path_params["id"]
        if config_class != "res_websocket_client" or not system.running("res_websocket_client.so"):
            raise AriFailure(404, f"configClass '{config_class}' not found")
        if object_type != "websocket_client":
            raise AriFailure(404, f"objectType '{object_type}' not found")
        fields = system.websocket_clients.get(object_id)
        if fields is None:
            raise AriFailure(404, f"Object with id '{object_id}' not found")
        return JSONResponse([{"attribute": k, "value": v} for k, v in fields.items()])

    async def application(request: Request) -> Response:
        app = request.path_params["app"]
        try:
            channel_ids = channels_of(app)
        except KeyError:
            raise AriFailure(404, "Application not found") from None
        body = {
            "name": app,
            "channel_ids": channel_ids,
            "bridge_ids": [],
            "endpoint_ids": [],
            "device_names": [],
            "events_allowed": [],
            "events_disallowed": [],
        }
        return JSONResponse(body)

    return [
        Route("/ari/asterisk/info", info, methods=["GET"]),
        Route("/ari/asterisk/modules", modules, methods=["GET"]),
        Route("/ari/asterisk/modules/{name}", module, methods=["GET"]),
        Route("/ari/asterisk/variable", variable, methods=["GET"]),
        Route("/ari/asterisk/config/dynamic/{class}/{type}/{id}", config_object, methods=["GET"]),
        Route("/ari/applications/{app}", application, methods=["GET"]),
    ]
