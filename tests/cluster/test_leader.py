"""Leader election on a real PostgreSQL: one leader, a standby that takes over."""

from __future__ import annotations

import asyncio

import pytest

from callbot.cluster import db
from callbot.cluster.leader import LeaderLock, LostLeadership, lock_key


def test_each_asterisk_app_has_its_own_lock() -> None:
    a = lock_key("02:42:ac:11:00:02", "callbot")
    assert a == lock_key("02:42:ac:11:00:02", "callbot")
    assert a != lock_key("02:42:ac:11:00:03", "callbot")
    assert a != lock_key("02:42:ac:11:00:02", "other")


async def test_one_leader_and_a_standby_that_takes_over_when_it_dies(postgres_url: str) -> None:
    key = lock_key("02:42:ac:11:00:02", "callbot")
    first = LeaderLock(postgres_url, key, retry_s=0.1)
    second = LeaderLock(postgres_url, key, retry_s=0.1)
    await asyncio.wait_for(first.acquire(), 5)
    standby = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.5)
    assert not standby.done()  # only one leader
    # The leader's connection dies (what kill -9 of its process does).
    admin = await db.connect(postgres_url)
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
        "AND objid = (%s::bigint & 4294967295) AND granted",
        (key,),
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(standby, 5)
    assert loop.time() - started < 2
    with pytest.raises(LostLeadership):
        await asyncio.wait_for(first.watch(), 5)  # the old leader learns it must stop
    await second.release()
    await first.release()
    await admin.close()
