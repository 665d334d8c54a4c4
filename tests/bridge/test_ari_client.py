"""AriClient against the simulated ARI over real loopback sockets: REST, auth, and the
events websocket reconnecting after an outage."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import pytest

from callbot.bridge.ari_client import (
    AriClient,
    AriHttpError,
    AriSettings,
    EventsConnected,
    backoff_delay_s,
)
from callbot.protocols import ari
from callbot.simulator.ari_server import SimulatedAri
from tests.conftest import ARI_PASSWORD as PASSWORD


def settings_for(sim: SimulatedAri, **kw: object) -> AriSettings:
    base: dict[str, object] = {
        "url": sim.url,
        "password": PASSWORD,
        "reconnect_initial_delay_s": 0.05,
        "reconnect_max_delay_s": 0.2,
        "request_timeout_s": 2.0,
    }
    base.update(kw)
    return AriSettings(**base)  # type: ignore[arg-type]


async def next_event(stream: AsyncIterator[object], timeout_s: float = 3.0) -> object:
    return await asyncio.wait_for(anext(stream), timeout_s)


class TestBackoff:
    def test_grows_then_caps_with_jitter(self) -> None:
        rng = random.Random(7)
        delays = [backoff_delay_s(n, initial_s=0.5, max_s=30.0, rng=rng) for n in range(12)]
        assert 0.25 <= delays[0] <= 0.5
        assert 4.0 <= delays[4] <= 8.0
        assert all(15.0 <= d <= 30.0 for d in delays[7:])
        assert len(set(delays[7:])) > 1  # jittered, not a constant

    def test_huge_attempt_is_bounded(self) -> None:
        assert backoff_delay_s(10_000, initial_s=1.0, max_s=5.0, rng=random.Random(1)) <= 5.0


class TestRest:
    async def test_password_never_in_repr(self, sim: SimulatedAri) -> None:
        assert PASSWORD not in repr(settings_for(sim))

    async def test_bad_credentials_give_401(self, sim: SimulatedAri) -> None:
        async with AriClient(settings_for(sim, password="wrong")) as client:
            with pytest.raises(AriHttpError) as info:
                await client.list_channels()
        assert info.value.status_code == 401
        assert "Authentication required" in info.value.body

    async def test_rest_calls_and_errors(self, sim: SimulatedAri) -> None:
        async with AriClient(settings_for(sim)) as client:
            stream = client.events()
            assert isinstance(await next_event(stream), EventsConnected)
            assert client.connected
            channel_id = sim.place_call("0612345678", ["fr"])
            start = await next_event(stream)
            assert isinstance(start, ari.StasisStart)
            await client.answer(channel_id)
            assert sim.channels[channel_id].state == "Up"
            await client.set_variable(channel_id, "__CALLBOT_MOTIF", "passeport")
            assert sim.channels[channel_id].variables["__CALLBOT_MOTIF"] == "passeport"
            bridge = await client.create_bridge("b1", name="callbot-x")
            assert (bridge.id, bridge.bridge_type) == ("b1", "mixing")
            await client.add_channel("b1", [channel_id])
            assert [c.id for c in await client.list_channels()] == [channel_id]
            assert (await client.list_bridges())[0].channel_ids == (channel_id,)
            with pytest.raises(AriHttpError) as info:
                await client.answer("no-such-channel")
            assert info.value.status_code == 404
            assert info.value.gone
            with pytest.raises(AriHttpError) as conflict:
                await client.create_bridge("b1")
            assert conflict.value.status_code == 409
            with pytest.raises(AriHttpError) as bad:
                await client.external_media(
                    app="callbot", external_host="nope", media_format="slin16"
                )
            assert bad.value.status_code == 400
            assert "websocket_client" in bad.value.body
            await stream.aclose()

    async def test_unreachable_is_an_ari_error(self) -> None:
        settings = AriSettings(url="http://127.0.0.1:9/ari", password="x", request_timeout_s=1)
        async with AriClient(settings) as client:
            with pytest.raises(AriHttpError) as info:
                await client.list_channels()
        assert info.value.status_code is None


class TestEvents:
    async def test_api_key_auth(self, sim: SimulatedAri, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        async with AriClient(settings_for(sim, api_key_auth=True)) as client:
            stream = client.events()
            assert isinstance(await next_event(stream), EventsConnected)
            assert "callbot" in sim.registered_apps
            await stream.aclose()
        assert PASSWORD not in caplog.text

    async def test_basic_auth_header_not_logged(
        self, sim: SimulatedAri, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        async with AriClient(settings_for(sim)) as client:
            stream = client.events()
            await next_event(stream)
            await stream.aclose()
        assert "Authorization" not in caplog.text
        assert "Basic " not in caplog.text

    async def test_wrong_password_keeps_retrying(self, sim: SimulatedAri) -> None:
        async with AriClient(settings_for(sim, password="wrong")) as client:
            stream = client.events()
            with pytest.raises(TimeoutError):
                await next_event(stream, timeout_s=0.4)
            assert not client.connected

    async def test_reconnects_after_restart(self, sim: SimulatedAri) -> None:
        async with AriClient(settings_for(sim)) as client:
            stream = client.events()
            first = await next_event(stream)
            assert first == EventsConnected(reconnected=False)
            channel_id = sim.place_call("0611111111")
            assert isinstance(await next_event(stream), ari.StasisStart)

            restart = asyncio.create_task(sim.restart(0.3))
            assert await next_event(stream) == EventsConnected(reconnected=True)
            assert restart.done()  # connections were refused while it was down
            assert client.connected
            sim.hangup_channel(channel_id)
            kinds = [type(await next_event(stream)).__name__ for _ in range(3)]
            assert kinds == ["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"]
            await stream.aclose()

    async def test_malformed_message_is_skipped(self, sim: SimulatedAri) -> None:
        async with AriClient(settings_for(sim)) as client:
            stream = client.events()
            await next_event(stream)
            sim.stream.send_raw("callbot", "{not json")
            channel_id = sim.place_call("0600000000")
            start = await next_event(stream)
            assert isinstance(start, ari.StasisStart)
            assert start.channel.id == channel_id
            await stream.aclose()
