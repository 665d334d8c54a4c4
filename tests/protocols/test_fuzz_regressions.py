"""Inputs the fuzzer found crashing the parsers, kept as fixtures."""

import pytest

from callbot.errors import AriError, ChanWebsocketError
from callbot.protocols import ari, chan_websocket, chan_websocket_app

DEEP = "[" * 30_000 + "]" * 30_000  # fits in one websocket message


def test_deeply_nested_json_event_is_malformed_not_a_crash() -> None:
    with pytest.raises(ChanWebsocketError):
        chan_websocket_app.parse_event('{"event":"DTMF_END","x":' + DEEP + "}")
    with pytest.raises(AriError):
        ari.parse_event('{"type":"StasisStart","x":' + DEEP + "}")


def test_infinite_frame_size_is_not_a_crash() -> None:
    text = (
        '{"event":"MEDIA_START","connection_id":"c","channel":"WebSocket/c/1",'
        '"channel_id":"1.1","format":"ulaw","optimal_frame_size":1e999,"ptime":20}'
    )
    try:
        event = chan_websocket_app.parse_event(text)
    except ChanWebsocketError:
        return
    assert isinstance(event, chan_websocket.MediaStart)
