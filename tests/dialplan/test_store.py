"""Hot reload with a real file on disk: new calls get the new version, calls in progress
keep theirs, an invalid file is refused and the previous version keeps serving."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from callbot.dialplan import DialogEngine
from callbot.dialplan.store import DialplanStore, LoadedDialplan
from callbot.errors import DialplanError
from tests.dialplan.conftest import MINIMAL_YAML

NEW_ANSWER = "Nouvelle réponse, votre attestation est sur ameli."


def rewrite(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime forward, as a later edit would."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(MINIMAL_YAML, encoding="utf-8")
    return path


def test_unchanged_file_is_not_reloaded(plan: Path) -> None:
    store = DialplanStore.load(plan)
    assert not store.reload_if_changed()
    assert store.current().version == 1


def test_changed_file_serves_new_calls_only(plan: Path) -> None:
    store = DialplanStore.load(plan)
    old = store.current()
    call_in_progress = DialogEngine(old.dialplan, {"call_id": "c1"})
    call_in_progress.start()

    rewrite(plan, MINIMAL_YAML.replace("Votre attestation est dans votre compte.", NEW_ANSWER))
    assert store.reload_if_changed()

    new = store.current()
    assert new.version == 2 and new.dialplan is not old.dialplan
    turn = call_in_progress.on_utterance("attestation de droits")
    assert turn.actions[0].text == "Votre attestation est dans votre compte."  # type: ignore[union-attr]
    new_call = DialogEngine(new.dialplan, {"call_id": "c2"})
    new_call.start()
    assert new_call.on_utterance("attestation de droits").actions[0].text == NEW_ANSWER  # type: ignore[union-attr]


def test_invalid_file_is_refused_and_logged(plan: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DialplanStore.load(plan)
    rewrite(plan, MINIMAL_YAML.replace("goodbye: Au revoir.", "goodbye: Au revoir $nom."))
    with caplog.at_level(logging.ERROR, logger="callbot.dialplan.store"):
        assert not store.reload_if_changed()
    assert store.current().version == 1
    assert f"{plan}:13:10: goodbye: unknown variable $nom" in caplog.text
    assert "version 1 keeps serving" in caplog.text
    caplog.clear()
    assert not store.reload_if_changed()  # refused once, not again at every poll
    assert caplog.text == ""

    rewrite(plan, MINIMAL_YAML.replace("Au revoir.", "Au revoir et merci."))  # fixed
    assert store.reload_if_changed()
    assert store.current().version == 2
    assert store.current().dialplan.goodbye == "Au revoir et merci."


def test_deleted_file_keeps_serving(plan: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DialplanStore.load(plan)
    plan.unlink()
    with caplog.at_level(logging.ERROR, logger="callbot.dialplan.store"):
        assert not store.reload_if_changed()
    assert "unreadable" in caplog.text
    assert store.current().version == 1


def test_invalid_file_at_start_up_is_an_error(plan: Path) -> None:
    plan.write_text("language: fr-FR\n", encoding="utf-8")
    with pytest.raises(DialplanError, match="missing field"):
        DialplanStore.load(plan)


async def test_watch_picks_up_changes(plan: Path) -> None:
    store = DialplanStore.load(plan)
    reloaded: list[int] = []
    done = asyncio.Event()

    def on_reload(loaded: LoadedDialplan) -> None:
        reloaded.append(loaded.version)
        done.set()

    task = asyncio.create_task(store.watch(0.02, on_reload=on_reload))
    try:
        rewrite(plan, MINIMAL_YAML.replace("Au revoir.", "À bientôt."))
        async with asyncio.timeout(5):
            await done.wait()
        assert store.current().dialplan.goodbye == "À bientôt."
        assert reloaded == [2]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
