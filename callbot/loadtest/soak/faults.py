"""Faults on a schedule, each an endless task the soak cancels at the end: ``kill -9``
of the server (back after the restart delay, as systemd's ``Restart=always``), and the
database stopped for a while."""

from __future__ import annotations

import asyncio
import time

from callbot.loadtest.postgres import ThrowawayPostgres
from callbot.loadtest.soak.plan import Event, SoakPlan
from callbot.loadtest.soak.server import ServerProcess


async def crash_server(
    server: ServerProcess, plan: SoakPlan, zero: float, events: list[Event]
) -> None:
    """Every ``plan.kill_server_every_s``: ``kill -9``, then start again."""
    assert plan.kill_server_every_s is not None
    while True:
        await asyncio.sleep(plan.kill_server_every_s)
        pid = server.pid
        await server.kill9()
        events.append(Event(round(time.monotonic() - zero, 1), f"kill -9 server (pid {pid})"))
        await asyncio.sleep(plan.restart_delay_s)
        await server.start()
        events.append(Event(round(time.monotonic() - zero, 1), f"server ready (pid {server.pid})"))


async def stop_database(
    database: ThrowawayPostgres, plan: SoakPlan, zero: float, events: list[Event]
) -> None:
    """Every ``plan.stop_db_every_s``: the database down for ``plan.db_down_s``."""
    assert plan.stop_db_every_s is not None
    while True:
        await asyncio.sleep(plan.stop_db_every_s)
        await asyncio.to_thread(database.stop)
        events.append(Event(round(time.monotonic() - zero, 1), "database stopped"))
        try:
            await asyncio.sleep(plan.db_down_s)
        finally:  # even when the soak ends during the outage
            await asyncio.shield(asyncio.to_thread(database.start))
            events.append(Event(round(time.monotonic() - zero, 1), "database started"))
