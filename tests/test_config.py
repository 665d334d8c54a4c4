"""Settings: TOML file, environment, secrets from files, and clear errors."""

from pathlib import Path

import pytest

from callbot.config import load_settings
from callbot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_example_file_is_valid_and_matches_the_defaults() -> None:
    assert load_settings(REPO / "callbot.example.toml", env={}) == load_settings(env={})


def test_environment_overrides_file_and_reads_secret_files(tmp_path: Path) -> None:
    config = tmp_path / "callbot.toml"
    config.write_text("[server]\nport = 9000\n[asr]\nbeam_size = 5\n")
    secret = tmp_path / "ari"
    secret.write_text("s3cret\n")
    settings = load_settings(
        config,
        env={
            "CALLBOT_SERVER_PORT": "9100",
            "CALLBOT_ARI_PASSWORD_FILE": str(secret),
            "CALLBOT_CALL_BARGE_IN": "no",
            "CALLBOT_MODELS_DIR": "/srv/models",
        },
    )
    assert settings.server.port == 9100
    assert settings.asr.beam_size == 5
    assert settings.ari.password == "s3cret"
    assert settings.call.barge_in is False
    assert settings.asr.model_dir == Path("/srv/models/whisper-base")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CALLBOT_SERVER_PORT": "eighty"}, "server.port: expected int"),
        ({"CALLBOT_SERVER_PROT": "1"}, "unknown setting(s) prot"),
        ({"CALLBOT_CALL_BARGE_IN": "maybe"}, "call.barge_in: expected bool"),
        ({"CALLBOT_ARI_PASSWORD_FILE": "/nonexistent/secret"}, "cannot read"),
    ],
)
def test_bad_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env=env)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server\nport = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(config, env={})


def test_every_store_of_caller_data_lives_in_the_data_dir(tmp_path: Path) -> None:
    """Issue 15: the hand-over store was relative to the working directory even when
    records went elsewhere."""
    settings = load_settings(env={"CALLBOT_DATA_DIR": str(tmp_path)})
    assert settings.records.url == str(tmp_path / "callbot-records.sqlite3")
    assert settings.records.spool_path == tmp_path / "callbot-records.sqlite3.spool"
    assert settings.handover.store_path == tmp_path / "callbot-handover.sqlite3"


def test_the_hand_over_store_follows_the_records(tmp_path: Path) -> None:
    elsewhere = tmp_path / "records" / "calls.sqlite3"
    settings = load_settings(env={"CALLBOT_RECORDS_URL": f"sqlite:///{elsewhere}"})
    assert settings.handover.store_path == tmp_path / "records" / "callbot-handover.sqlite3"
    shared = load_settings(
        env={"CALLBOT_DATA_DIR": str(tmp_path), "CALLBOT_RECORDS_URL": "postgresql://db/cb"}
    )
    assert shared.handover.store_path == tmp_path / "callbot-handover.sqlite3"
    assert shared.records.spool_path == tmp_path / "records-spool"
    chosen = load_settings(env={"CALLBOT_HANDOVER_STORE_PATH": str(tmp_path / "h.db")})
    assert chosen.handover.store_path == tmp_path / "h.db"
