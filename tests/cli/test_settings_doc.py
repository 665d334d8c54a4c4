"""The example settings file is generated from the settings model and stays in step."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from callbot.cli.main import main
from callbot.cli.settings_doc import example_toml, field_docs, settings_toml
from callbot.config import Settings, load_settings, placed

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "callbot.example.toml"
REGENERATE = "python -m callbot config example > callbot.example.toml"


def sections() -> list[tuple[str, type[Any]]]:
    hints = typing.get_type_hints(Settings)
    return [
        (f.name, hints[f.name])
        for f in dataclasses.fields(Settings)
        if dataclasses.is_dataclass(hints[f.name])
    ]


def test_example_file_is_the_generated_one() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == example_toml(), (
        f"callbot.example.toml is out of date with the settings model: run `{REGENERATE}`"
    )


def test_example_file_loads_as_exactly_the_defaults() -> None:
    loaded = load_settings(EXAMPLE, env={})
    defaults = Settings()
    resolved = dataclasses.replace(
        defaults, asr=dataclasses.replace(defaults.asr, model_dir=defaults.whisper_dir)
    )
    resolved = placed(resolved)  # the stores unset, in the data directory
    assert loaded == resolved == load_settings(env={})


def test_every_setting_is_in_the_example_set_or_commented_out() -> None:
    text = example_toml()
    data = tomllib.loads(text)
    for name, cls in [("", Settings), *sections()]:
        table = data[name] if name else data
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(typing.get_type_hints(cls)[f.name]):
                continue
            default = getattr(cls(), f.name)
            if default is None or not f.repr:
                assert f.name not in table, f"{name}.{f.name} should be commented out"
                section = text.split(f"[{name}]\n", 1)[1] if name else text
                assert f"\n# {f.name} = <" in section.split("\n[", 1)[0], f"{name}.{f.name}"
            else:
                assert f.name in table, f"{name}.{f.name} missing from the example"


def test_secrets_are_never_written_with_a_value(tmp_path: Path) -> None:
    secret = tmp_path / "salt"
    secret.write_text("pepper-and-salt\n")
    settings = load_settings(
        env={
            "CALLBOT_ARI_PASSWORD": "ari-s3cret",
            "CALLBOT_PRIVACY_CALLER_SALT_FILE": str(secret),
            "CALLBOT_RECORDS_URL": "postgresql://callbot:db-s3cret@db/callbot",
        }
    )
    shown = settings_toml(settings)
    for value in ("ari-s3cret", "pepper-and-salt", "db-s3cret"):
        assert value not in shown
    assert "# password = <secret, set>" in shown
    assert "# caller_salt = <secret, set>" in shown
    assert "# console_token = <secret, unset>" in shown
    assert 'url = "postgresql://callbot:********@db/callbot"' in shown
    assert "# password = <secret: CALLBOT_ARI_PASSWORD_FILE>" in example_toml()


def test_shown_settings_load_back_to_the_same(tmp_path: Path) -> None:
    settings = load_settings(
        env={
            "CALLBOT_SERVER_PORT": "9000",
            "CALLBOT_ASR_INITIAL_PROMPT": 'carte Vitale, "ameli", prélèvement\\n',
            "CALLBOT_TTS_VOICES_DIR": "/srv/voices",
            "CALLBOT_VAD_ENERGY_FLOOR_DBFS": "-42.5",
            "CALLBOT_CALL_BARGE_IN": "no",
        }
    )
    path = tmp_path / "shown.toml"
    path.write_text(settings_toml(settings), encoding="utf-8")
    assert load_settings(path, env={}) == settings


def test_every_key_can_come_from_its_environment_variable() -> None:
    """The header's CALLBOT_<SECTION>_<KEY> rule holds for every key of every section."""
    defaults = load_settings(env={})
    for name, cls in sections():
        for f in dataclasses.fields(cls):
            value = getattr(getattr(defaults, name), f.name)
            if value is None or not f.repr or dataclasses.is_dataclass(value):
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            env = {f"CALLBOT_{name}_{f.name}".upper(): text}
            assert getattr(getattr(load_settings(env=env), name), f.name) == value, env


@dataclass(frozen=True, slots=True)
class _Base:
    inherited: int = 1
    """From the base class."""


@dataclass(frozen=True, slots=True)
class _Documented(_Base):
    """A section."""

    plain: str = "x"
    long: float = 2.0
    """First line.

        Indented "quoted" line, and a ``literal``."""
    token: str | None = field(default=None, repr=False)
    """A secret."""
    after_method: int = 3

    def method(self) -> str:
        """Not a field's docstring."""
        return self.plain


def test_field_docs_come_from_the_string_under_each_field() -> None:
    assert field_docs(_Documented) == {
        "inherited": "From the base class.",
        "long": 'First line.\n\nIndented "quoted" line, and a ``literal``.',
        "token": "A secret.",
    }


def test_example_of_any_model_comments_unset_values_and_secrets() -> None:
    text = example_toml(_Documented)
    body = text.split("\n\n", 1)[1]
    assert tomllib.loads(text) == {"inherited": 1, "plain": "x", "long": 2.0, "after_method": 3}
    assert '# First line.\n#\n# Indented "quoted" line, and a `literal`.\nlong = 2.0\n' in body
    assert "# A secret.\n# token = <secret: CALLBOT_TOKEN_FILE>\n" in body


def test_cli_prints_the_example_and_the_effective_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["config", "example"]) == 0
    assert capsys.readouterr().out == example_toml()
    monkeypatch.setenv("CALLBOT_SERVER_PORT", "9123")
    monkeypatch.setenv("CALLBOT_HANDOVER_CONSOLE_TOKEN", "console-s3cret")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert '\n[server]\nhost = "127.0.0.1"\nport = 9123\n' in out
    assert "console-s3cret" not in out
    assert "# console_token = <secret, set>" in out
