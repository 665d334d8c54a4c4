"""A cluster of real processes: two ``callbot control`` (leader + standby) and two
``callbot worker``, on a real PostgreSQL, in front of the simulated Asterisk (ARI +
chan_websocket through one websocket_client connection per worker).

One story, in order, because each step starts from what the previous one left:
placement by load, drain, kill -9 of the control leader (the standby adopts the calls
and carries out the next transfer), kill -9 of a worker mid-call (the call moves to the
other worker, which apologises), capacity overflow to the fallback queue, and the
records: none lost, none duplicated, the moved call's says ``failed_over``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from callbot.cluster import db
from callbot.cluster.nodes import list_nodes
from callbot.loadtest.asterisk_side import AsteriskSide
from callbot.loadtest.postgres import free_port
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.websocket_client import WebsocketClientConnection

pytestmark = pytest.mark.models

DIALPLAN = Path(__file__).parents[1] / "pipeline" / "dialplans" / "call-fr.yaml"
REPO = Path(__file__).parents[2]
PASSWORD = "s3cret"


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    sim: SimulatedAri
    dialer: ExternalMediaDialer
    url: str
    nodes: dict[str, Node] = field(default_factory=dict)
    restart: dict[str, object] = field(default_factory=dict)
    """name -> a function starting that node again (as systemd or Kubernetes would)."""

    async def rows(self) -> dict[str, object]:
        conn = await db.connect(self.url)
        async with conn:
            return {n.node: n for n in await list_nodes(conn)}

    async def wait_rows(self, predicate: object, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(await self.rows()):  # type: ignore[operator]
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"cluster never reached the state; rows: {await self.rows()}")

    async def call(self) -> str:
        """A caller into the Stasis app, once the control bridged a worker's media leg."""
        return (await AsteriskSide(self.sim, self.dialer).place("0612345678")).caller_channel

    def media_of(self, caller_id: str) -> str | None:
        return AsteriskSide(self.sim, self.dialer).media_of(caller_id)

    def worker_of(self, caller_id: str) -> str:
        media = self.media_of(caller_id)
        assert media is not None
        return self.sim.channels[media].external_media_params["external_host"]


def start(role: str, name: str, env: dict[str, str], tmp: Path) -> Node:
    port = free_port()
    log = tmp / f"{name}.log"
    full = {
        **os.environ,
        **env,
        "CALLBOT_CLUSTER_NODE_NAME": name,
        "CALLBOT_SERVER_PORT": str(port),
        "CALLBOT_DATA_DIR": str(tmp / name),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "callbot", role],
        env=full,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Node(name, port, process, log)


@pytest.fixture
async def cluster(postgres_url: str, models_dir: Path, tmp_path: Path) -> AsyncIterator[Cluster]:
    sim = SimulatedAri(password=PASSWORD, websocket_connections=("callbot-w1", "callbot-w2"))
    await sim.start()
    common = {
        "CALLBOT_RECORDS_URL": postgres_url,
        "CALLBOT_MODELS_DIR": str(models_dir),
        "CALLBOT_DIALPLAN": str(DIALPLAN),
        "CALLBOT_SERVER_AUDIOSOCKET": "false",
        "CALLBOT_SERVER_SOFTPHONE": "false",
        "CALLBOT_SECURITY_MAX_CONCURRENT_CALLS": "2",
        "CALLBOT_DIALPLAN_RELOAD_S": "0",
        "CALLBOT_ARI_URL": f"http://127.0.0.1:{sim.port}",
        "CALLBOT_ARI_PASSWORD": PASSWORD,
        "CALLBOT_CLUSTER_HEARTBEAT_S": "0.5",
        "CALLBOT_CLUSTER_WORKER_TIMEOUT_S": "2",
        "CALLBOT_CLUSTER_LEADER_RETRY_S": "0.5",
        "OMP_NUM_THREADS": "1",
        # The callers here stay silent between steps: no reprompt may end their calls.
        "CALLBOT_CALL_NO_INPUT_TIMEOUT_S": "300",
        "CALLBOT_CALL_MEDIA_TIMEOUT_S": "600",
    }
    connections: dict[str, WebsocketClientConnection] = {}
    dialer = ExternalMediaDialer(sim, connections)
    sim.on_external_media = dialer
    rig = Cluster(sim, dialer, postgres_url)
    await db.prepare(postgres_url)
    try:
        rig.nodes["c1"] = start("control", "c1", common, tmp_path)
        await rig.wait_rows(lambda rows: getattr(rows.get("c1"), "leader", False), 60)
        await sim.wait_for(lambda: "callbot" in sim.registered_apps, 10)
        rig.nodes["c2"] = start("control", "c2", common, tmp_path)
        for name in ("w1", "w2"):
            env = {**common, "CALLBOT_CLUSTER_WEBSOCKET_CONNECTION": f"callbot-{name}"}

            def up(name: str = name, env: dict[str, str] = env) -> None:
                node = rig.nodes[name] = start("worker", name, env, tmp_path)
                connections[f"callbot-{name}"] = WebsocketClientConnection(
                    f"callbot-{name}", f"ws://127.0.0.1:{node.port}/media"
                )

            up()
            rig.restart[name] = up
        await rig.wait_rows(
            lambda rows: all(getattr(rows.get(n), "ready", False) for n in ("w1", "w2", "c2")),
            120,
        )
        await asyncio.sleep(1.0)  # the control's view of the workers is a heartbeat old
        yield rig
    finally:
        for node in rig.nodes.values():
            node.stop()
        await dialer.aclose()
        await sim.stop()
        for node in rig.nodes.values():
            print(f"----- {node.name} -----\n{node.log.read_text(errors='replace')[-4000:]}")


async def test_placement_drain_takeover_failover_and_capacity(cluster: Cluster) -> None:
    sim, dialer = cluster.sim, cluster.dialer
    # 1. Placement by load: two callers, one on each worker.
    a = await cluster.call()
    b = await cluster.call()
    assert {cluster.worker_of(a), cluster.worker_of(b)} == {"callbot-w1", "callbot-w2"}
    for caller in (a, b):
        peer = dialer.peers[cluster.media_of(caller) or ""]
        assert await peer.wait_for_bot_silence(0.8, 30), "no greeting heard"

    # 2. Drain: ops take b's worker out; the next caller goes to the other one although
    #    both carry one call.
    drained = cluster.worker_of(b).removeprefix("callbot-")
    other = "callbot-w1" if drained == "w2" else "callbot-w2"
    drain = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "callbot", "cluster", "drain", drained],
        env={**os.environ, "CALLBOT_RECORDS_URL": cluster.url},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert drain.returncode == 0, drain.stderr
    await cluster.wait_rows(lambda rows: getattr(rows.get(drained), "draining", False), 10)
    await asyncio.sleep(1.0)  # the control's view is a heartbeat old
    c = await cluster.call()
    assert cluster.worker_of(c) == other
    sim.hangup_channel(c)
    await sim.wait_for(lambda: cluster.media_of(c) is None, 10)

    # 3. kill -9 of the control leader: the standby leads within 5 s, adopts the calls
    #    in progress (their media legs stay up) and carries out the next transfer.
    media_a = cluster.media_of(a)
    killed = time.monotonic()
    cluster.nodes["c1"].kill()
    await cluster.wait_rows(lambda rows: getattr(rows.get("c2"), "leader", False), 10)
    took_over_s = time.monotonic() - killed
    print(f"takeover: {took_over_s:.2f} s")
    assert took_over_s < 5, took_over_s
    await sim.wait_for(lambda: "callbot" in sim.registered_apps, 5)
    assert cluster.media_of(a) == media_a and media_a not in sim.hung_up
    await dialer.peers[media_a or ""].send_dtmf("0")
    caller_a = sim.channels[a]
    await sim.wait_for(lambda: caller_a.continued_to is not None, 20)
    assert caller_a.continued_to == ("callbot-queues", "conseillers", 1)

    # 4. kill -9 of b's (draining) worker mid-call: within 3 s the call is on the other
    #    worker, which apologises instead of greeting again.
    media_b = cluster.media_of(b)
    killed = time.monotonic()
    cluster.nodes[drained].kill()
    await sim.wait_for(lambda: (m := cluster.media_of(b)) is not None and m != media_b, 10)
    moved_s = time.monotonic() - killed
    print(f"fail-over: {moved_s:.2f} s")
    assert moved_s < 3, moved_s
    new_media = cluster.media_of(b) or ""
    assert cluster.worker_of(b) == other
    assert sim.channels[new_media].variables.get("CALLBOT_MOVED") == "1"
    peer = dialer.peers[new_media]
    assert await peer.wait_for_bot_silence(0.8, 30), "no apology heard"
    assert peer.recording.audio().size > 16_000  # about a second of speech at least

    # 5. Capacity: the survivor takes one more caller (2 calls), the next one goes to a
    #    human queue with reason capacity: never silence.
    d = await cluster.call()
    assert cluster.worker_of(d) == other
    e = sim.place_call("0698765432", ["3949"])
    await sim.wait_for(lambda: sim.channels[e].continued_to is not None, 10)
    assert sim.channels[e].continued_to == ("callbot-queues", "accueil", 1)
    assert sim.channels[e].variables["__CALLBOT_FALLBACK_REASON"] == "capacity"
    sim.hangup_channel(b)

    # 6. Rolling restart: the drained worker, killed, comes back (as its supervisor starts
    #    it again): not draining any more, it gets the next caller (the other has d).
    cluster.restart[drained]()  # type: ignore[operator]
    await cluster.wait_rows(
        lambda rows: (row := rows.get(drained)) is not None and row.ready and not row.draining,
        120,
    )
    await asyncio.sleep(1.0)
    f = await cluster.call()
    assert cluster.worker_of(f) == f"callbot-{drained}"
    sim.hangup_channel(d)
    # Asterisk hanging up a call may end its media leg before its caller (seen on a real
    # Asterisk 23 with "channel request hangup all"): no worker failed, nothing to move.
    sim.hangup_channel(cluster.media_of(f) or "")
    sim.hangup_channel(f)

    # 7. Records: every call once; the moved call's first record says failed_over.
    import psycopg

    await asyncio.sleep(3)
    with psycopg.connect(cluster.url) as conn:
        rows = conn.execute("SELECT call_id, outcome FROM calls ORDER BY started_at").fetchall()
    outcomes = dict(rows)
    assert outcomes[b] == "failed_over", rows
    assert outcomes[f"{b}#2"] == "hung_up_by_caller", rows
    assert outcomes[a] == "transferred", rows
    assert outcomes[e] == "sent_to_fallback", rows
    for caller in (c, d, f):
        assert outcomes[caller] == "hung_up_by_caller", rows
    assert len(rows) == len(set(r[0] for r in rows)) == 7, rows
