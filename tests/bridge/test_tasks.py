"""Background tasks and cleanup requests: failures are logged, never raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from callbot.bridge.ari_client import AriHttpError
from callbot.bridge.tasks import BackgroundTasks, quietly


async def test_failed_task_is_logged_and_the_others_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = BackgroundTasks("test")
    forever = asyncio.Event()
    failed = asyncio.Event()

    async def fail() -> None:
        failed.set()
        raise RuntimeError("boom")

    tasks.spawn(fail())
    tasks.spawn(forever.wait())
    await failed.wait()
    await asyncio.sleep(0)
    assert "test task failed" in caplog.text
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    tasks.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    assert all(t.cancelled() for t in pending)


async def test_quietly_ignores_gone_and_logs_other_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails(status: int) -> None:
        raise AriHttpError("DELETE", "/channels/c1", status, "Channel not found")

    with caplog.at_level(logging.WARNING, logger="callbot.bridge.tasks"):
        await quietly(fails(404), "media hangup")
        assert caplog.records == []
        await quietly(fails(500), "media hangup")
    [record] = caplog.records
    assert record.getMessage().startswith("media hangup failed: ARI DELETE")
