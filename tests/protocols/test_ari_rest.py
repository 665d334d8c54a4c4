"""ARI REST calls described as requests (paths, parameters, the checks of
``res/ari/resource_channels.c``), and the list replies parsed."""

from __future__ import annotations

import pytest

from callbot.errors import AriError
from callbot.protocols import ari_rest
from tests.protocols.test_ari import BRIDGE, CHANNEL


class TestReplies:
    def test_channel_and_bridge_lists(self) -> None:
        chans = ari_rest.parse_channel_list([CHANNEL])
        assert chans[0].app_data == "callbot,fr,caf"
        assert ari_rest.parse_bridge_list([BRIDGE])[0].id == "1764590400.42-bridge"
        with pytest.raises(AriError):
            ari_rest.parse_channel_list({"id": "x"})


class TestRequests:
    def test_channel_commands(self) -> None:
        assert ari_rest.answer("1.2") == ari_rest.AriRequest("POST", "/channels/1.2/answer")
        hangup = ari_rest.hangup("1.2")
        assert (hangup.method, hangup.path, hangup.params) == (
            "DELETE",
            "/channels/1.2",
            {"reason": "normal"},
        )
        cont = ari_rest.continue_in_dialplan(
            "1.2", context="callbot-queues", extension="etat-civil"
        )
        assert cont.path == "/channels/1.2/continue"
        assert cont.params == {
            "context": "callbot-queues",
            "extension": "etat-civil",
            "priority": "1",
        }
        var = ari_rest.set_variable("1.2", "__CALLBOT_MOTIF", "carte grise")
        assert var.params == {"variable": "__CALLBOT_MOTIF", "value": "carte grise"}
        assert ari_rest.start_moh("1.2").params == {}
        assert ari_rest.start_moh("1.2", "default").params == {"mohClass": "default"}
        assert ari_rest.stop_moh("1.2").method == "DELETE"
        assert ari_rest.list_channels() == ari_rest.AriRequest("GET", "/channels")

    def test_ids_are_quoted(self) -> None:
        assert ari_rest.answer("a/b c").path == "/channels/a%2Fb%20c/answer"
        with pytest.raises(ValueError):
            ari_rest.answer("")

    def test_bridges(self) -> None:
        create = ari_rest.create_bridge("b1", name="callbot-x")
        assert (create.method, create.path) == ("POST", "/bridges")
        assert create.params == {"type": "mixing", "bridgeId": "b1", "name": "callbot-x"}
        add = ari_rest.add_channel("b1", ["c1", "c2"])
        assert (add.path, add.params) == ("/bridges/b1/addChannel", {"channel": "c1,c2"})
        assert ari_rest.remove_channel("b1", ["c1"]).path == "/bridges/b1/removeChannel"
        assert ari_rest.destroy_bridge("b1") == ari_rest.AriRequest("DELETE", "/bridges/b1")

    def test_external_media_websocket(self) -> None:
        req = ari_rest.external_media(
            app="callbot",
            external_host="callbot",
            media_format="slin16",
            transport_data="f(json)",
            channel_id="1.2-media-1",
            variables={"CALLBOT_CALL_ID": "1.2", "CALLBOT_CALLER": "0612345678"},
        )
        assert (req.method, req.path) == ("POST", "/channels/externalMedia")
        assert req.params == {
            "app": "callbot",
            "external_host": "callbot",
            "transport": "websocket",
            "encapsulation": "none",
            "connection_type": "client",
            "format": "slin16",
            "transport_data": "f(json)",
            "channelId": "1.2-media-1",
        }
        assert req.json_body == {
            "variables": {"CALLBOT_CALL_ID": "1.2", "CALLBOT_CALLER": "0612345678"}
        }

    def test_external_media_audiosocket(self) -> None:
        uid = "0b8bd2c4-3f5e-4c2a-9d0e-6b1f3a2c4d5e"
        req = ari_rest.external_media(
            app="callbot",
            external_host="127.0.0.1:9092",
            media_format="slin16",
            transport="tcp",
            encapsulation="audiosocket",
            data=uid,
        )
        assert req.params["data"] == uid
        assert req.params["transport"] == "tcp"
        assert req.json_body is None

    @pytest.mark.parametrize(
        ("transport", "encapsulation", "data", "connection_type"),
        [
            ("websocket", "rtp", None, "client"),
            ("udp", "audiosocket", "x", "client"),
            ("tcp", "audiosocket", None, "client"),
            ("tcp", "rtp", None, "client"),
            ("tcp", "audiosocket", "x", "server"),
        ],
    )
    def test_external_media_invalid(
        self, transport: str, encapsulation: str, data: str | None, connection_type: str
    ) -> None:
        with pytest.raises(ValueError):
            ari_rest.external_media(
                app="callbot",
                external_host="h:1",
                media_format="ulaw",
                transport=transport,
                encapsulation=encapsulation,
                data=data,
                connection_type=connection_type,
            )

    def test_events_params(self) -> None:
        assert ari_rest.events_params("callbot") == {"app": "callbot", "subscribeAll": "false"}
