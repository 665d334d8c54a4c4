"""ARI event parsing and request building, from JSON shaped like Asterisk's
(``ast_channel_snapshot_to_json``, ``ast_bridge_snapshot_to_json``, events.json models)."""

from __future__ import annotations

import json

import pytest

from callbot.errors import AriError
from callbot.protocols import ari

CHANNEL = {
    "id": "1764590400.42",
    "name": "PJSIP/trunk-0000002a",
    "state": "Ring",
    "protocol_id": "a84c1e5e-5f42-4b7d@192.0.2.10",
    "caller": {"name": "", "number": "+33612345678"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {
        "context": "callbot-inbound",
        "exten": "3949",
        "priority": 2,
        "app_name": "Stasis",
        "app_data": "callbot,fr,caf",
    },
    "creationtime": "2026-01-15T09:30:00.123+0100",
    "language": "fr",
}
BRIDGE = {
    "id": "1764590400.42-bridge",
    "technology": "simple_bridge",
    "bridge_type": "mixing",
    "bridge_class": "stasis",
    "creator": "Stasis",
    "name": "callbot-1764590400.42",
    "channels": ["1764590400.42"],
    "creationtime": "2026-01-15T09:30:00.200+0100",
    "video_mode": "none",
}
COMMON = {
    "timestamp": "2026-01-15T09:30:00.150+0100",
    "asterisk_id": "02:42:ac:11:00:02",
    "application": "callbot",
}


def event(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, **fields, **COMMON})


class TestEvents:
    def test_stasis_start_caller(self) -> None:
        ev = ari.parse_event(event("StasisStart", args=["fr", "caf"], channel=CHANNEL))
        assert isinstance(ev, ari.StasisStart)
        assert ev.application == "callbot"
        assert ev.args == ("fr", "caf")
        assert ev.channel.id == "1764590400.42"
        assert ev.channel.caller_number == "+33612345678"
        assert ev.channel.state == "Ring"
        assert ev.channel.technology == "PJSIP"
        assert ev.channel.in_stasis_app("callbot")
        assert not ev.channel.in_stasis_app("other")
        assert ev.replace_channel is None

    def test_stasis_start_external_media_with_channelvars(self) -> None:
        media = {
            **CHANNEL,
            "id": "1764590400.42-media-1",
            "name": "WebSocket/callbot/0x7f3a2c001230",
            "state": "Up",
            "caller": {"name": "", "number": ""},
            "dialplan": {**CHANNEL["dialplan"], "app_data": "callbot"},  # type: ignore[dict-item]
            "channelvars": {"CALLBOT_CALL_ID": "1764590400.42"},
        }
        ev = ari.parse_event(event("StasisStart", args=[], channel=media))
        assert isinstance(ev, ari.StasisStart)
        assert ev.channel.technology == "WebSocket"
        assert ev.channel.variables == {"CALLBOT_CALL_ID": "1764590400.42"}

    def test_channel_events(self) -> None:
        dtmf = ari.parse_event(
            event("ChannelDtmfReceived", digit="5", duration_ms=120, channel=CHANNEL)
        )
        assert isinstance(dtmf, ari.ChannelDtmfReceived)
        assert (dtmf.digit, dtmf.duration_ms) == ("5", 120)
        req = ari.parse_event(event("ChannelHangupRequest", cause=16, soft=True, channel=CHANNEL))
        assert isinstance(req, ari.ChannelHangupRequest)
        assert (req.cause, req.soft) == (16, True)
        remote = ari.parse_event(event("ChannelHangupRequest", cause=16, channel=CHANNEL))
        assert isinstance(remote, ari.ChannelHangupRequest)
        assert remote.soft is False
        gone = ari.parse_event(
            event("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=CHANNEL)
        )
        assert isinstance(gone, ari.ChannelDestroyed)
        assert (gone.cause, gone.cause_txt) == (16, "Normal Clearing")
        end = ari.parse_event(event("StasisEnd", channel=CHANNEL))
        assert isinstance(end, ari.StasisEnd)
        state = ari.parse_event(event("ChannelStateChange", channel={**CHANNEL, "state": "Up"}))
        assert isinstance(state, ari.ChannelStateChange)
        assert state.channel.state == "Up"

    def test_varset_channel_and_global(self) -> None:
        ev = ari.parse_event(
            event("ChannelVarset", variable="__CALLBOT_MOTIF", value="carte", channel=CHANNEL)
        )
        assert isinstance(ev, ari.ChannelVarset)
        assert (ev.variable, ev.value) == ("__CALLBOT_MOTIF", "carte")
        assert ev.channel is not None
        glob = ari.parse_event(event("ChannelVarset", variable="G", value="1"))
        assert isinstance(glob, ari.ChannelVarset)
        assert glob.channel is None

    def test_bridge_events(self) -> None:
        entered = ari.parse_event(event("ChannelEnteredBridge", bridge=BRIDGE, channel=CHANNEL))
        assert isinstance(entered, ari.ChannelEnteredBridge)
        assert entered.bridge.channel_ids == ("1764590400.42",)
        assert entered.bridge.bridge_type == "mixing"
        left = ari.parse_event(
            event("ChannelLeftBridge", bridge={**BRIDGE, "channels": []}, channel=CHANNEL)
        )
        assert isinstance(left, ari.ChannelLeftBridge)
        assert left.bridge.channel_ids == ()
        destroyed = ari.parse_event(event("BridgeDestroyed", bridge=BRIDGE))
        assert isinstance(destroyed, ari.BridgeDestroyed)
        assert destroyed.bridge.name == "callbot-1764590400.42"

    def test_playback_and_replaced_and_unknown(self) -> None:
        playback = {
            "id": "pb1",
            "media_uri": "sound:hello-world",
            "target_uri": "channel:1764590400.42",
            "language": "fr",
            "state": "done",
        }
        fin = ari.parse_event(event("PlaybackFinished", playback=playback))
        assert isinstance(fin, ari.PlaybackFinished)
        assert (fin.playback_id, fin.state) == ("pb1", "done")
        assert isinstance(ari.parse_event(event("ApplicationReplaced")), ari.ApplicationReplaced)
        other = ari.parse_event(event("Dial", dialstatus="ANSWER"))
        assert isinstance(other, ari.UnknownEvent)
        assert other.type == "Dial"
        assert other.raw["dialstatus"] == "ANSWER"

    def test_bytes_accepted(self) -> None:
        ev = ari.parse_event(event("StasisEnd", channel=CHANNEL).encode())
        assert isinstance(ev, ari.StasisEnd)

    @pytest.mark.parametrize(
        "text",
        [
            "not json",
            "[1, 2]",
            '{"no_type": 1}',
            json.dumps({"type": "StasisStart", "args": [], "channel": {"id": "x"}}),
            json.dumps({"type": "StasisStart", "args": "x", "channel": CHANNEL}),
            json.dumps({"type": "ChannelEnteredBridge", "bridge": {"id": "b"}}),
            b"\xff\xfe",
        ],
    )
    def test_malformed(self, text: str | bytes) -> None:
        with pytest.raises(AriError):
            ari.parse_event(text)


class TestReplies:
    def test_channel_and_bridge_lists(self) -> None:
        chans = ari.parse_channel_list([CHANNEL])
        assert chans[0].app_data == "callbot,fr,caf"
        assert ari.parse_bridge_list([BRIDGE])[0].id == "1764590400.42-bridge"
        with pytest.raises(AriError):
            ari.parse_channel_list({"id": "x"})


class TestRequests:
    def test_channel_commands(self) -> None:
        assert ari.answer("1.2") == ari.AriRequest("POST", "/channels/1.2/answer")
        hangup = ari.hangup("1.2")
        assert (hangup.method, hangup.path, hangup.params) == (
            "DELETE",
            "/channels/1.2",
            {"reason": "normal"},
        )
        cont = ari.continue_in_dialplan("1.2", context="callbot-queues", extension="etat-civil")
        assert cont.path == "/channels/1.2/continue"
        assert cont.params == {
            "context": "callbot-queues",
            "extension": "etat-civil",
            "priority": "1",
        }
        var = ari.set_variable("1.2", "__CALLBOT_MOTIF", "carte grise")
        assert var.params == {"variable": "__CALLBOT_MOTIF", "value": "carte grise"}
        assert ari.start_moh("1.2").params == {}
        assert ari.start_moh("1.2", "default").params == {"mohClass": "default"}
        assert ari.stop_moh("1.2").method == "DELETE"
        assert ari.list_channels() == ari.AriRequest("GET", "/channels")

    def test_ids_are_quoted(self) -> None:
        assert ari.answer("a/b c").path == "/channels/a%2Fb%20c/answer"
        with pytest.raises(ValueError):
            ari.answer("")

    def test_bridges(self) -> None:
        create = ari.create_bridge("b1", name="callbot-x")
        assert (create.method, create.path) == ("POST", "/bridges")
        assert create.params == {"type": "mixing", "bridgeId": "b1", "name": "callbot-x"}
        add = ari.add_channel("b1", ["c1", "c2"])
        assert (add.path, add.params) == ("/bridges/b1/addChannel", {"channel": "c1,c2"})
        assert ari.remove_channel("b1", ["c1"]).path == "/bridges/b1/removeChannel"
        assert ari.destroy_bridge("b1") == ari.AriRequest("DELETE", "/bridges/b1")

    def test_external_media_websocket(self) -> None:
        req = ari.external_media(
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
        req = ari.external_media(
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
            ari.external_media(
                app="callbot",
                external_host="h:1",
                media_format="ulaw",
                transport=transport,
                encapsulation=encapsulation,
                data=data,
                connection_type=connection_type,
            )

    def test_events_params(self) -> None:
        assert ari.events_params("callbot") == {"app": "callbot", "subscribeAll": "false"}
