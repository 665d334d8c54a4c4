"""``callbot control``, ``callbot worker`` and ``callbot cluster status|drain``.

The two roles of a cluster (``deploy/README.md``): a control process drives Asterisk and
places calls, workers run the pipeline; both share the PostgreSQL of ``records.url``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from callbot.cli.startup import configured
from callbot.config import Settings, load_settings
from callbot.errors import CallbotError
from callbot.web.exposure import check_exposure
from callbot.web.ports import check_ports


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    control = subparsers.add_parser(
        "control", help="drive Asterisk for the workers (run two: one leads, one stands by)"
    )
    control.set_defaults(run=cmd_control)
    worker = subparsers.add_parser("worker", help="serve calls' media and pipeline for a control")
    worker.set_defaults(run=cmd_worker)
    cluster = subparsers.add_parser("cluster", help="the cluster's nodes: status, drain")
    commands = cluster.add_subparsers(dest="cluster_command", required=True)
    status = commands.add_parser("status", help="every node: role, ready, calls, heartbeat")
    status.add_argument("--json", action="store_true", help="JSON instead of a table")
    status.set_defaults(func=cmd_status)
    drain = commands.add_parser("drain", help="a worker takes no new call (preStop hook)")
    drain.add_argument("node", help="the node's name (callbot cluster status)")
    drain.add_argument("--wait", action="store_true", help="until its calls have ended")
    drain.add_argument("--timeout", type=float, default=25.0, help="seconds to wait at most")
    drain.set_defaults(func=cmd_drain)


def cmd_control(args: argparse.Namespace) -> int:
    from callbot.app.control import run_control

    return _run(args, run_control, media=False)


def cmd_worker(args: argparse.Namespace) -> int:
    from callbot.app.worker import run_worker

    return _run(args, run_worker, media=True)


def _run(
    args: argparse.Namespace,
    role: Callable[[Settings], Coroutine[Any, Any, None]],
    *,
    media: bool,
) -> int:
    settings = configured(args.config)
    check_exposure(settings, media=media)  # these two before the role's imports and models
    check_ports(settings.server)
    asyncio.run(role(settings))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from callbot.cluster import db
    from callbot.cluster.nodes import list_nodes

    settings = load_settings(args.config)

    async def read() -> list[Any]:
        conn = await _connect(db, settings)
        async with conn:
            return await list_nodes(conn)

    nodes = asyncio.run(read())
    if args.json:
        json.dump([dataclasses.asdict(n) for n in nodes], sys.stdout)
        print()
        return 0
    print(f"{'node':28} {'role':8} {'state':10} {'calls':>9} {'heartbeat':>10}")
    for n in nodes:
        state = (
            "leader"
            if n.leader
            else "draining"
            if n.draining
            else ("ready" if n.ready else "not ready")
        )
        if n.role == "control" and not n.leader:
            state = "standby"
        calls = f"{n.active_calls}/{n.capacity}" if n.role == "worker" else str(n.active_calls)
        print(f"{n.node:28} {n.role:8} {state:10} {calls:>9} {n.heartbeat_age_s:9.1f}s")
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    from callbot.cluster import db
    from callbot.cluster.nodes import list_nodes, mark_draining

    settings = load_settings(args.config)

    async def drain() -> int:
        conn = await _connect(db, settings)
        async with conn:
            if not await mark_draining(conn, args.node):
                raise CallbotError(f"no node {args.node!r} in the cluster (callbot cluster status)")
            print(f"{args.node}: draining (no new call)", flush=True)
            if not args.wait:
                return 0
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                rows = {n.node: n for n in await list_nodes(conn)}
                row = rows.get(args.node)
                if row is None or row.active_calls == 0:
                    print(f"{args.node}: no call in progress", flush=True)
                    return 0
                await asyncio.sleep(1.0)
            print(f"{args.node}: calls still in progress after {args.timeout:.0f} s", flush=True)
            return 1

    return asyncio.run(drain())


async def _connect(db: Any, settings: Any) -> Any:
    url = settings.cluster.database(settings.records.url)
    try:
        return await db.connect(url)
    except db.UNAVAILABLE as exc:
        raise CallbotError(f"cluster database unavailable: {exc}") from None
