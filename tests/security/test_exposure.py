import base64
from typing import ClassVar

import pytest

from callbot.config import ServerSettings, Settings
from callbot.errors import ConfigError
from callbot.handover.settings import HandoverSettings
from callbot.security.exposure import check_exposure, is_loopback, media_auth_ok
from callbot.security.settings import SecuritySettings


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.53", "[::1]"])
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.10", "callbot.example"])
def test_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_loopback_needs_no_credentials() -> None:
    check_exposure(Settings())


def test_open_to_the_network_without_credentials_refuses_to_start() -> None:
    settings = Settings(server=ServerSettings(host="0.0.0.0", audiosocket=False))
    with pytest.raises(ConfigError, match="no credentials"):
        check_exposure(settings)


def test_basic_auth_or_token_is_enough_for_the_websocket() -> None:
    server = ServerSettings(
        host="0.0.0.0", audiosocket=False, media_username="asterisk", media_password="pw"
    )
    console = HandoverSettings(console_token="agents")
    check_exposure(Settings(server=server, handover=console))
    server = ServerSettings(host="0.0.0.0", audiosocket=False)
    # The media token also guards the agent console.
    check_exposure(Settings(server=server, security=SecuritySettings(media_token="t0ken")))


def test_the_agent_console_beyond_loopback_needs_a_token() -> None:
    server = ServerSettings(
        host="0.0.0.0", audiosocket=False, media_username="asterisk", media_password="pw"
    )
    with pytest.raises(ConfigError, match="agent console"):
        check_exposure(Settings(server=server))


def test_audiosocket_beyond_loopback_needs_an_explicit_opt_in() -> None:
    server = ServerSettings(host="10.0.0.5", media_username="asterisk", media_password="pw")
    with pytest.raises(ConfigError, match="AudioSocket"):
        check_exposure(Settings(server=server, handover=HandoverSettings(console_token="a")))
    allowed = SecuritySettings(audiosocket_beyond_loopback=True)
    check_exposure(
        Settings(server=server, security=allowed, handover=HandoverSettings(console_token="a"))
    )


def test_username_without_password_is_an_error() -> None:
    server = ServerSettings(host="0.0.0.0", audiosocket=False, media_username="asterisk")
    with pytest.raises(ConfigError, match="without"):
        check_exposure(Settings(server=server))


class TestMediaAuth:
    creds: ClassVar[dict[str, str | None]] = {
        "username": "asterisk",
        "password": "pw",
        "token": "t0ken",
    }

    def test_nothing_configured_lets_everything_in(self) -> None:
        assert media_auth_ok(None, None, username=None, password=None, token=None)

    def test_basic(self) -> None:
        assert media_auth_ok(basic("asterisk", "pw"), None, **self.creds)
        assert not media_auth_ok(basic("asterisk", "nope"), None, **self.creds)
        assert not media_auth_ok(basic("other", "pw"), None, **self.creds)
        assert not media_auth_ok("Basic !!!", None, **self.creds)
        assert not media_auth_ok(None, None, **self.creds)

    def test_token(self) -> None:
        assert media_auth_ok(None, "t0ken", **self.creds)
        assert not media_auth_ok(None, "t0ke", **self.creds)
        assert not media_auth_ok(None, "", **self.creds)

    def test_token_only(self) -> None:
        only = {"username": None, "password": None, "token": "t0ken"}
        assert media_auth_ok(None, "t0ken", **only)
        assert not media_auth_ok(basic("asterisk", "pw"), None, **only)
