"""Shared fixtures: real recordings (Debian's Asterisk sound files), real models, a bot
on a test module's own ``settings``, and a simulated ARI."""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from callbot.audio.convert import resample
from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.wavfile import read_wav
from callbot.config import Settings, load_settings

if TYPE_CHECKING:  # imported by the fixtures that need them: pipecat takes seconds
    from callbot.app.service import Callbot, Engines
    from callbot.loadtest.postgres import ThrowawayPostgres
    from callbot.simulator.ari_server import SimulatedAri

REPO = Path(__file__).resolve().parent.parent
SOUNDS_FR = Path("/usr/share/asterisk/sounds/fr_CA_f_June")
SOUNDS_EN = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
MODELS_DIR = REPO / "models"
ARI_PASSWORD = "s3cr3t-pw"
"""Password of the ``callbot`` user on the :func:`sim` simulated ARI."""


def sound(name: str, language: str = "fr") -> Path:
    """A real recorded prompt from Debian's asterisk-core-sounds packages."""
    base = SOUNDS_FR if language == "fr" else SOUNDS_EN
    path = base / f"{name}.wav"
    if not path.is_file():
        pytest.fail(f"{path} missing: run scripts/setup.sh --test (installs the sound packages)")
    return path


def speech_16k(name: str, language: str = "fr") -> np.ndarray:
    pcm, rate = read_wav(sound(name, language))
    return resample(pcm, rate, PIPELINE_RATE_HZ)


def bot_settings(models_dir: Path, dialplan: Path, **sections: dict[str, Any]) -> Settings:
    """Settings of an in-process bot for a test: the real models, ``dialplan``, a free HTTP
    port, no softphone, no AudioSocket (``server={...}`` and other sections override)."""
    server = {"port": 0, "audiosocket": False, "softphone": False, **sections.pop("server", {})}
    overrides = {"models_dir": str(models_dir), "dialplan": str(dialplan), "server": server}
    return load_settings(env={}, overrides={**overrides, **sections})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks from what a test uses, so that the fast lane (``-m "not models and not
    browser"``) cannot let one through: ``models`` for every test that needs the real
    models (``models_dir``, also through another fixture), ``browser`` for every test
    that launches Chromium (``chromium``, tests/web/conftest.py)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "models_dir" in fixtures:
            item.add_marker(pytest.mark.models)
        if "chromium" in fixtures:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Whisper base and the English Piper voice, provisioned once (instant when present)."""
    from callbot.provisioning.models import pull_models
    from callbot.provisioning.voices import pull_voice

    pull_models(MODELS_DIR)
    pull_voice("en_US-joe-medium", MODELS_DIR / "voices")
    return MODELS_DIR


@pytest.fixture(scope="module")
def engines(settings: Settings) -> Engines:
    """Whisper, Piper and the dialplans of the test module's own ``settings`` fixture,
    loaded once per module (seconds)."""
    from callbot.app.service import Engines

    return Engines.load(settings)


@pytest.fixture
async def bot(settings: Settings, engines: Engines) -> AsyncIterator[Callbot]:
    """A callbot on the test module's ``settings`` and :func:`engines`, stopped after."""
    from callbot.app.service import Callbot

    running = await Callbot.start(settings, engines=engines)
    yield running
    await running.stop()


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedAri]:
    """A running simulated ARI whose ``callbot`` user has :data:`ARI_PASSWORD`."""
    from callbot.simulator.ari_server import SimulatedAri

    server = SimulatedAri(password=ARI_PASSWORD)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True, scope="session")
def _quiet_pipecat() -> None:
    from callbot.logs import quiet_pipecat

    quiet_pipecat()


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A real PostgreSQL server in a temp dir (:class:`ThrowawayPostgres`: ``initdb`` +
    ``pg_ctl``, loopback, trust authentication, fsync off), removed afterwards. Skips the
    test, saying why, only when it cannot run here (``apt-get install postgresql``)."""
    from callbot.loadtest.postgres import ThrowawayPostgres, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    server = ThrowawayPostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL (no database name) of a throw-away PostgreSQL server, started once per
    session."""
    with throwaway_postgres() as server:
        yield server.url


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


@pytest.fixture
def secure_delete_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real SQLite connections as most builds open them: Debian's turns ``secure_delete``
    on at compile time, python.org's and macOS's do not, so a store of caller data must
    ask for it itself (what it deletes is otherwise left in the file's free pages)."""
    connect = sqlite3.connect

    def default_off(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", default_off)
