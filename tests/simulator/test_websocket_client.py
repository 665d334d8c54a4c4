"""The simulated websocket_client connection: v() parameters stick to it, as in Asterisk."""

from __future__ import annotations

import pytest

from callbot.protocols.asterisk_conf import parse_conf
from callbot.simulator.websocket_client import (
    WebsocketClientConnection,
    connections_from_conf,
    dial_options,
    v_option,
)


def test_v_parameters_stick_to_the_connection_for_every_later_call() -> None:
    conn = WebsocketClientConnection("callbot", "ws://127.0.0.1:8080/media")
    assert conn.uri_for_call() == "ws://127.0.0.1:8080/media"  # nothing stored yet
    first = conn.uri_for_call(v_option({"call_id": "1763700000.1", "caller": "+33612345678"}))
    assert first == "ws://127.0.0.1:8080/media?call_id=1763700000.1&caller=%2B33612345678"
    assert conn.uri_for_call() == first  # an ARI externalMedia leg, no v() of its own
    assert conn.uri_for_call(None) == first
    second = conn.uri_for_call("call_id=1763700000.9")  # the next v() replaces, not appends
    assert second == "ws://127.0.0.1:8080/media?call_id=1763700000.9"
    assert conn.uri_for_call() == second


def test_a_uri_with_its_own_query_gets_the_parameters_after_an_ampersand() -> None:
    conn = WebsocketClientConnection("c", "ws://h/media?token=t")
    assert conn.uri_for_call("call_id=1") == "ws://h/media?token=t&call_id=1"


def test_connections_do_not_share_parameters() -> None:
    shared = WebsocketClientConnection("callbot", "ws://h/media")
    direct = WebsocketClientConnection("callbot-direct", "ws://h/media")
    direct.uri_for_call("call_id=1")
    assert shared.uri_for_call() == "ws://h/media"


@pytest.mark.parametrize("raw", ["call_id=a b", "call_id=x\ny", "caller=+33"])
def test_parameters_that_are_not_uri_encoded_fail_the_dial(raw: str) -> None:
    conn = WebsocketClientConnection("callbot", "ws://h/media")
    with pytest.raises(ValueError, match="Invalid URI parameters"):
        conn.uri_for_call(raw)
    assert conn.uri_params == ""


def test_v_option_encodes_each_name_and_value() -> None:
    assert v_option({"call_id": "a\nb", "caller": "+33 6"}) == "call_id=a%0Ab,caller=%2B33%206"


def test_dial_options_read_letters_with_and_without_arguments() -> None:
    assert dial_options("c(slin16)nf(json)v(call_id=1,caller=%2B33)") == {
        "c": "slin16",
        "n": "",
        "f": "json",
        "v": "call_id=1,caller=%2B33",
    }
    assert dial_options("") == {}
    with pytest.raises(ValueError, match="parse error"):
        dial_options("v(call_id=1")


def test_connections_come_from_websocket_client_conf_sections() -> None:
    text = (
        "[general]\nfoo = bar\n\n"
        "[callbot]\ntype = websocket_client\nuri = ws://h:1/media\nusername = asterisk\n"
        "password = pw\n\n[other]\ntype = something_else\nuri = ws://x\n"
    )
    found = connections_from_conf(parse_conf(text, "websocket_client.conf"))
    assert list(found) == ["callbot"]
    assert (found["callbot"].uri, found["callbot"].username) == ("ws://h:1/media", "asterisk")
    assert found["callbot"].password == "pw"
    moved = connections_from_conf(parse_conf(text, "w.conf"), uri="ws://127.0.0.1:9/media")
    assert moved["callbot"].uri == "ws://127.0.0.1:9/media"
