"""Credentials set in the environment never reach the logs."""

import logging
from pathlib import Path

import pytest

from callbot.config import load_settings
from callbot.logs import setup_logging
from callbot.security.secrets import secret_values

ARI_PASSWORD = "ari-Pa55word-xyz"
MEDIA_PASSWORD = "media-Pa55word-xyz"
HOOK_TOKEN = "Bearer hook-t0ken-xyz"
FILE_SECRET = "from-a-file-Pa55"


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_no_secret_in_the_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    secret_file = tmp_path / "ari-password"
    secret_file.write_text(FILE_SECRET + "\n")
    env = {
        "CALLBOT_ARI_URL": "http://127.0.0.1:8088",
        "CALLBOT_ARI_PASSWORD": ARI_PASSWORD,
        "CALLBOT_SERVER_MEDIA_USERNAME": "asterisk",
        "CALLBOT_SERVER_MEDIA_PASSWORD": MEDIA_PASSWORD,
        "CALLBOT_BACKOFFICE_AUTHORIZATION": HOOK_TOKEN,
    }
    settings = load_settings(env=env)
    from_file = load_settings(env={"CALLBOT_ARI_PASSWORD_FILE": str(secret_file)})
    assert from_file.ari.password == FILE_SECRET
    secrets = secret_values(settings) + secret_values(from_file)
    for fmt in ("json", "text"):
        setup_logging("DEBUG", fmt, secrets=secrets)
        log = logging.getLogger("callbot.test")
        log.info("settings: %r", settings)
        log.info("settings: %s / %r", settings.ari, from_file.ari)
        # What a careless line would do; the handler masks it anyway.
        log.warning("ARI login %s:%s failed", settings.ari.username, settings.ari.password)
        log.debug("hook headers %s", {"Authorization": settings.backoffice.authorization})
        try:
            raise ConnectionError(f"media auth with {MEDIA_PASSWORD} refused ({FILE_SECRET})")
        except ConnectionError:
            log.exception("cannot connect")
    err = capsys.readouterr().err
    assert "ARI login callbot:*** failed" in err
    for secret in (ARI_PASSWORD, MEDIA_PASSWORD, HOOK_TOKEN, "hook-t0ken-xyz", FILE_SECRET):
        assert secret not in err


def test_secret_values_finds_repr_hidden_fields_and_url_passwords() -> None:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Db:
        url: str = "postgresql://callbot:db-pw-123@db.internal/callbot"

    @dataclasses.dataclass(frozen=True)
    class Root:
        db: Db = Db()
        token: str | None = dataclasses.field(default="tok-123", repr=False)
        name: str = "visible"

    assert secret_values(Root()) == ["db-pw-123", "tok-123"]
