"""Listening ports: checked before the slow start-up, with the setting to change."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from callbot.config import ServerSettings
from callbot.errors import ConfigError, PortUnavailable
from callbot.web.ports import bind_tcp, check_ports


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_free_ports_pass_and_port_zero_always_does() -> None:
    check_ports(ServerSettings(port=0, audiosocket_port=0))


def test_taken_http_port_names_its_setting(taken: int) -> None:
    with pytest.raises(PortUnavailable) as raised:
        check_ports(ServerSettings(port=taken, audiosocket_port=0))
    assert str(raised.value) == (
        f"port {taken} is already in use (server.port; set CALLBOT_SERVER_PORT)"
    )


def test_taken_audiosocket_port_names_its_setting_unless_audiosocket_is_off(taken: int) -> None:
    with pytest.raises(
        PortUnavailable, match=r"\(server\.audiosocket_port; set CALLBOT_SERVER_AUDIOSOCKET_PORT\)$"
    ):
        check_ports(ServerSettings(port=0, audiosocket_port=taken))
    check_ports(ServerSettings(port=0, audiosocket=False, audiosocket_port=taken))


def test_same_port_twice_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"server\.port and server\.audiosocket_port are both 8765"
    ):
        check_ports(ServerSettings(port=8765, audiosocket_port=8765))


@pytest.mark.parametrize("host", ["192.0.2.1", "no-such-host.invalid"])
def test_an_address_not_of_this_machine_names_the_host_setting(host: str) -> None:
    with pytest.raises(
        PortUnavailable,
        match=rf"^cannot listen on {host}:0: .+ \(server\.host; set CALLBOT_SERVER_HOST\)$",
    ):
        check_ports(ServerSettings(host=host, port=0, audiosocket_port=0))


def test_bound_sockets_are_not_listening_yet() -> None:
    sockets = bind_tcp("127.0.0.1", 0)
    try:
        assert len(sockets) == 1
        with socket.socket() as client, pytest.raises(ConnectionRefusedError):
            client.connect(sockets[0].getsockname())
    finally:
        for sock in sockets:
            sock.close()
