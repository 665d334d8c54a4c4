"""The simulated Asterisk's channels and bridges without a server: who gets a channel's
events, and in which order a hang-up raises them."""

from __future__ import annotations

from typing import Any

import pytest

from callbot.simulator.ari_model import AriFailure, AriModel, SimBridge


class Sink:
    def __init__(self, *apps: str) -> None:
        self.apps = apps
        self.sent: list[tuple[str | None, str]] = []

    def emit(self, app: str | None, kind: str, **fields: Any) -> None:
        self.sent.append((app, kind))


def test_a_hang_up_reaches_the_app_then_its_subscribers_in_asterisk_order() -> None:
    sink = Sink("callbot", "monitor")
    model = AriModel(sink)
    forgotten: list[str] = []
    model.on_destroyed.append(lambda chan: forgotten.append(chan.id))
    chan = model.channel_in_stasis("PJSIP/trunk", ("fr",), context="callbot-inbound")
    chan.subscriptions.add("monitor")
    model.bridges["b1"] = SimBridge("b1", "", "mixing", "callbot", channels=[chan.id])
    chan.bridge_id = "b1"
    model.destroy_channel(chan, 16, soft=True)
    assert sink.sent == [
        ("callbot", "ChannelHangupRequest"),
        ("monitor", "ChannelHangupRequest"),
        ("callbot", "ChannelLeftBridge"),
        ("callbot", "StasisEnd"),
        ("monitor", "StasisEnd"),
        ("callbot", "ChannelDestroyed"),
        ("monitor", "ChannelDestroyed"),
    ]
    assert model.hung_up == [chan.id] and forgotten == [chan.id]
    assert model.live_channels() == [] and model.bridges["b1"].channels == []


def test_lookups_fail_as_asterisk_does() -> None:
    model = AriModel(Sink("callbot"))
    chan = model.channel_in_stasis("PJSIP/1001", (), context="x")
    chan.app = None
    with pytest.raises(AriFailure) as unknown:
        model.channel("nope")
    with pytest.raises(AriFailure) as outside:
        model.control(chan.id)
    assert (unknown.value.status, outside.value.status) == (404, 409)
    assert model.channels_of_app("callbot") == [chan.id]
    with pytest.raises(KeyError):
        model.channels_of_app("other")
