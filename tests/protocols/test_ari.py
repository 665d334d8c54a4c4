"""ARI event parsing, from JSON shaped like Asterisk's (``ast_channel_snapshot_to_json``,
``ast_bridge_snapshot_to_json``, events.json models)."""

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
