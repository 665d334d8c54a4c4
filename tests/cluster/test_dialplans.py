"""One dialplan version on every worker, through a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from callbot.cluster import db
from callbot.cluster.dialplans import DialplanSync
from callbot.dialplan.store import DialplanStore

DIALPLAN = Path(__file__).parents[1] / "pipeline" / "dialplans" / "call-fr.yaml"


@pytest.fixture
async def url(postgres_url: str) -> str:
    await db.prepare(postgres_url)
    return postgres_url


def worker_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name / "call-fr.yaml"
    path.parent.mkdir()
    shutil.copy(DIALPLAN, path)
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    stamp = time.time_ns() + 1_000_000_000  # a later mtime, whatever the clock's resolution
    os.utime(path, ns=(stamp, stamp))


async def test_a_reload_on_one_worker_reaches_the_others_and_a_broken_file_none(
    url: str, tmp_path: Path
) -> None:
    file_a, file_b = worker_file(tmp_path, "a"), worker_file(tmp_path, "b")
    store_a, store_b = DialplanStore.load(file_a), DialplanStore.load(file_b)
    prepared: list[str] = []
    sync_a = DialplanSync(url, store_a, "a", interval_s=1.0)
    sync_b = DialplanSync(
        url, store_b, "b", interval_s=1.0, on_reload=lambda d: prepared.append(d.digest)
    )
    try:
        assert await sync_a.sync() == "published"  # the first version the cluster sees
        assert await sync_b.sync() == "same"  # the same file
        greeting = store_a.current().dialplan.greeting
        edit(file_a, greeting, "Bonjour, nouvelle version.")
        assert store_a.reload_if_changed()
        assert await sync_a.sync() == "published"
        assert await sync_b.sync() == "taken"
        assert store_b.current().dialplan.greeting == "Bonjour, nouvelle version."
        assert store_b.current().digest == store_a.current().digest
        assert prepared == [store_a.current().digest]  # its prompts synthesized
        # A broken file: refused where it was edited, so published nowhere.
        edit(file_a, "Bonjour, nouvelle version.", "[not: a, dialplan")
        assert not store_a.reload_if_changed()
        assert await sync_a.sync() == "same"
        assert await sync_b.sync() == "same"
        assert store_b.current().dialplan.greeting == "Bonjour, nouvelle version."
    finally:
        await sync_a.close()
        await sync_b.close()


async def test_a_worker_starting_with_an_older_file_takes_the_published_version(
    url: str, tmp_path: Path
) -> None:
    file_a = worker_file(tmp_path, "a")
    store_a = DialplanStore.load(file_a)
    edit(file_a, store_a.current().dialplan.greeting, "Bonjour, version publiée.")
    # b's file is the old one, loaded before a's new version was accepted.
    store_b = DialplanStore.load(worker_file(tmp_path, "b"))
    assert store_a.reload_if_changed()
    sync_a = DialplanSync(url, store_a, "a", interval_s=1.0)
    sync_b = DialplanSync(url, store_b, "b", interval_s=1.0)
    try:
        assert await sync_a.sync() == "published"
        assert await sync_b.sync() == "taken"
        assert store_b.current().dialplan.greeting == "Bonjour, version publiée."
        assert store_b.current().origin == "cluster"
    finally:
        await sync_a.close()
        await sync_b.close()
