import base64
import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from callbot.cli.main import main
from callbot.config import ServerSettings, Settings, load_settings
from callbot.errors import ConfigError
from callbot.handover.settings import HandoverSettings
from callbot.security.checks import is_loopback, media_auth_ok
from callbot.security.passwords import hash_password
from callbot.security.settings import SecuritySettings
from callbot.web.exposure import check_exposure


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


def everyone(host: str = "0.0.0.0", **security: Any) -> Settings:
    """Credentials for every role, listening on ``host`` without AudioSocket."""
    return Settings(
        server=ServerSettings(
            host=host, audiosocket=False, media_username="asterisk", media_password="pw"
        ),
        security=SecuritySettings(
            ops_password_hash=hash_password("ops", log2_n=4), metrics_token="m", **security
        ),
        handover=HandoverSettings(console_token="agents"),
    )


def test_open_to_the_network_without_credentials_refuses_to_start() -> None:
    settings = Settings(server=ServerSettings(host="0.0.0.0", audiosocket=False))
    with pytest.raises(ConfigError, match="no credentials") as caught:
        check_exposure(settings)
    message = str(caught.value)
    assert "\n" not in message  # one line, naming every role and what to set
    for role in ("media (/media", "agent (/agent", "ops (/, /dashboard, /api/*", "metrics"):
        assert role in message


def test_credentials_for_every_role_are_enough() -> None:
    check_exposure(everyone())
    token_only = dataclasses.replace(
        everyone(), server=ServerSettings(host="::", audiosocket=False)
    )
    check_exposure(
        dataclasses.replace(
            token_only, security=dataclasses.replace(token_only.security, media_token="t0ken")
        )
    )


@pytest.mark.parametrize(
    ("section", "changes", "role"),
    [
        ("handover", {"console_token": None}, "agent (/agent"),
        ("security", {"ops_password_hash": None}, "ops (/"),
        ("security", {"metrics_token": ""}, "metrics (/metrics"),
        ("server", {"media_username": None}, "media (/media"),
    ],
)
def test_each_role_missing_is_named(section: str, changes: dict[str, Any], role: str) -> None:
    settings = everyone()
    changed = dataclasses.replace(getattr(settings, section), **changes)
    with pytest.raises(ConfigError) as caught:
        check_exposure(dataclasses.replace(settings, **{section: changed}))
    assert role in str(caught.value)
    assert str(caught.value).count("(/") == 1  # only the missing one


def test_the_media_token_no_longer_stands_in_for_the_console() -> None:
    server = ServerSettings(host="0.0.0.0", audiosocket=False)
    with pytest.raises(ConfigError, match="agent"):
        check_exposure(Settings(server=server, security=SecuritySettings(media_token="t0ken")))


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "   "])
def test_a_blank_secret_counts_as_unset(blank: str) -> None:
    settings = everyone()
    settings = dataclasses.replace(settings, handover=HandoverSettings(console_token=blank))
    with pytest.raises(ConfigError, match="agent"):
        check_exposure(settings)


def test_a_whitespace_token_from_the_environment_is_refused(tmp_path: Path) -> None:
    env = {
        "CALLBOT_SERVER_HOST": "0.0.0.0",
        "CALLBOT_SERVER_AUDIOSOCKET": "false",
        "CALLBOT_SECURITY_MEDIA_TOKEN": "   ",
        "CALLBOT_HANDOVER_CONSOLE_TOKEN": "agents",
        "CALLBOT_SECURITY_OPS_PASSWORD": "ops",
        "CALLBOT_SECURITY_METRICS_TOKEN": "m",
    }
    with pytest.raises(ConfigError, match="media"):
        check_exposure(load_settings(env=env))
    check_exposure(load_settings(env={**env, "CALLBOT_SECURITY_MEDIA_TOKEN": "t0ken"}))


def test_a_trusted_proxy_vouches_for_people_but_not_for_asterisk() -> None:
    server = ServerSettings(host="0.0.0.0", audiosocket=False)
    proxied = SecuritySettings(trusted_proxies=("10.0.0.5",))
    with pytest.raises(ConfigError) as caught:
        check_exposure(Settings(server=server, security=proxied))
    assert "media (/media" in str(caught.value) and "ops (/" not in str(caught.value)
    check_exposure(
        Settings(server=server, security=dataclasses.replace(proxied, media_token="t0ken"))
    )


def test_malformed_hash_or_proxy_refuses_to_start_even_on_loopback() -> None:
    with pytest.raises(ConfigError, match="ops_password_hash"):
        check_exposure(Settings(security=SecuritySettings(ops_password_hash="hunter2")))
    with pytest.raises(ConfigError, match="not an IP"):
        check_exposure(Settings(security=SecuritySettings(trusted_proxies=("proxy.lan",))))
    with pytest.raises(ConfigError, match="ops_username"):
        check_exposure(Settings(security=SecuritySettings(ops_username=" ", ops_password="x")))


def test_audiosocket_beyond_loopback_needs_an_explicit_opt_in() -> None:
    settings = everyone("10.0.0.5")
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, audiosocket=True)
    )
    with pytest.raises(ConfigError, match="AudioSocket"):
        check_exposure(settings)
    allowed = dataclasses.replace(settings.security, audiosocket_beyond_loopback=True)
    check_exposure(dataclasses.replace(settings, security=allowed))


def test_username_without_password_is_an_error() -> None:
    server = ServerSettings(host="127.0.0.1", audiosocket=False, media_username="asterisk")
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


def test_serve_beyond_loopback_without_credentials_prints_one_line_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("CALLBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALLBOT_SECURITY_MEDIA_TOKEN", " \t ")  # whitespace: unset
    monkeypatch.setenv("CALLBOT_HANDOVER_CONSOLE_TOKEN", "agents")
    assert main(["serve", "--host", "0.0.0.0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("callbot: error: server.host is '0.0.0.0'")
    assert "media (/media" in err and "agent (/agent" not in err


def test_a_process_serving_no_media_needs_no_media_credentials() -> None:
    # callbot control: beyond loopback with every other role guarded, AudioSocket's
    # setting left on (it runs no AudioSocket server).
    control = dataclasses.replace(everyone(), server=ServerSettings(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="media"):
        check_exposure(control)
    check_exposure(control, media=False)
    unguarded = Settings(server=ServerSettings(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="agent") as caught:
        check_exposure(unguarded, media=False)
    assert "media (/media" not in str(caught.value)
