"""ARI requests about Asterisk itself: paths and parameters out, replies (as
res/ari/resource_asterisk.c builds them) in."""

from __future__ import annotations

import json

import pytest

from callbot.errors import AriError
from callbot.protocols import ari_asterisk as system

INFO = json.loads(
    '{"system": {"version": "23.2.0", "entity_id": "02:42:ac:11:00:02"},'
    ' "status": {"startup_time": "2026-01-01T00:00:00.000+0000",'
    ' "last_reload_time": "2026-01-01T00:00:00.000+0000"}}'
)
MODULES = json.loads(
    '[{"name": "app_queue.so", "description": "True Call Queueing", "use_count": 0,'
    ' "status": "Running", "support_level": "core"},'
    ' {"name": "chan_websocket.so", "description": "Websocket Media Channel",'
    ' "use_count": 0, "status": "Not Running", "support_level": "core"}]'
)
WEBSOCKET_CLIENT = json.loads(
    '[{"attribute": "uri", "value": "ws://127.0.0.1:8080/media"},'
    ' {"attribute": "connection_type", "value": "per_call_config"},'
    ' {"attribute": "password", "value": "s3cret"}]'
)


class TestRequests:
    def test_info_only(self) -> None:
        req = system.get_info("system", "build")
        assert (req.method, req.path, dict(req.params)) == (
            "GET",
            "/asterisk/info",
            {"only": "system,build"},
        )
        assert dict(system.get_info().params) == {}

    def test_paths_are_escaped(self) -> None:
        req = system.get_config_object("res_websocket_client", "websocket_client", "a/b")
        assert req.path == "/asterisk/config/dynamic/res_websocket_client/websocket_client/a%2Fb"
        assert system.get_module("res_ari.so").path == "/asterisk/modules/res_ari.so"
        assert system.get_application("callbot").path == "/applications/callbot"

    def test_function_on_a_channel(self) -> None:
        req = system.get_channel_var("1700.5", "QUEUE_EXISTS(fraude)")
        assert (req.method, req.path) == ("GET", "/channels/1700.5/variable")
        assert dict(req.params) == {"variable": "QUEUE_EXISTS(fraude)"}

    def test_create_channel(self) -> None:
        req = system.create_channel("Local/probe@callbot-check", "callbot-check", "probe-1")
        assert (req.method, req.path) == ("POST", "/channels/create")
        assert dict(req.params) == {
            "endpoint": "Local/probe@callbot-check",
            "app": "callbot-check",
            "channelId": "probe-1",
        }


class TestReplies:
    def test_version(self) -> None:
        assert system.parse_version(INFO) == "23.2.0"
        with pytest.raises(AriError):
            system.parse_version({"build": {}})

    def test_modules(self) -> None:
        queue, websocket = system.parse_module_list(MODULES)
        assert queue.name == "app_queue.so" and queue.running
        assert websocket.status == "Not Running" and not websocket.running
        with pytest.raises(AriError):
            system.parse_module_list({"name": "x"})

    def test_variable(self) -> None:
        assert system.parse_variable({"value": "1"}) == "1"
        with pytest.raises(AriError):
            system.parse_variable({"value": 1})

    def test_config_object(self) -> None:
        obj = system.parse_config_object(WEBSOCKET_CLIENT)
        assert obj.get("connection_type") == "per_call_config"
        assert obj.get("tls_enabled", "no") == "no"
        with pytest.raises(AriError):
            system.parse_config_object([{"attribute": "uri"}])

    def test_error_message(self) -> None:
        assert system.error_message('{"message": "Application not found"}') == (
            "Application not found"
        )
        assert system.error_message("Bad Gateway") == "Bad Gateway"


def test_the_entity_id_names_an_asterisk_whatever_url_reaches_it() -> None:
    from callbot.protocols.ari_asterisk import parse_entity_id

    info = {"system": {"version": "23.0.0", "entity_id": "02:42:ac:11:00:02"}}
    assert parse_entity_id(info) == "02:42:ac:11:00:02"
    with pytest.raises(AriError):
        parse_entity_id({"system": {"version": "23.0.0"}})
