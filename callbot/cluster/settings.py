"""The ``[cluster]`` settings: callbot as a control role and N workers sharing PostgreSQL.

``callbot serve`` (the embedded default) ignores this section. ``callbot control`` owns
the ARI app of one Asterisk and places each call on a worker; ``callbot worker`` runs
the media endpoint and the pipeline. Both find each other, and the calls, in the
PostgreSQL database of ``records.url`` (or ``database_url``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from callbot.errors import ConfigError


def default_node_name() -> str:
    """The host name (a Kubernetes pod name), plus the pid when not in a container."""
    return os.environ.get("HOSTNAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    database_url: str = ""
    """``postgresql://...`` holding the cluster's shared state (workers, leader, commands,
    hand-over contexts, console events). Empty: ``records.url``, which must then be a
    PostgreSQL URL (a cluster cannot share SQLite)."""
    node_name: str = ""
    """This process's name in the cluster (``/api/cluster``, logs, records). Empty: the
    host name (a pod's name under Kubernetes), else host name and pid. Unique per process."""
    websocket_connection: str = ""
    """Worker, chan_websocket: the ``websocket_client.conf`` section on every Asterisk
    whose ``uri`` is this worker's ``/media`` (the control role dials it for the calls it
    places here). Empty: ``ari.websocket_connection``."""
    audiosocket_address: str = ""
    """Worker, AudioSocket: ``host:port`` at which Asterisk reaches this worker's
    AudioSocket server. Empty: ``ari.audiosocket_host``."""
    heartbeat_s: float = 1.0
    """How often a worker publishes its load and readiness, and the control role reads
    them (placement sees a load this old at most)."""
    worker_timeout_s: float = 3.0
    """A worker silent this long gets no new call (it is dead, hung or cut off)."""
    leader_retry_s: float = 1.0
    """How often a standby control process tries to take the leadership (the advisory lock
    of a dead leader is released when PostgreSQL sees its connection drop: at once for
    ``kill -9``, within the TCP keepalive for a lost host)."""
    command_timeout_s: float = 5.0
    """How long a worker waits for the control role to carry out a transfer or hang-up
    before it treats the request as failed (the caller is then told, never left)."""
    failover: bool = True
    """When a worker's media leg drops while its caller is still up and the bot had not
    ended the call, give the caller to another worker (which apologises and carries on)
    or, if none is ready, to the fallback queue; the record says ``failed_over``."""

    def __post_init__(self) -> None:
        for name in ("heartbeat_s", "worker_timeout_s", "leader_retry_s", "command_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"cluster.{name} must be > 0")
        if self.worker_timeout_s < 2 * self.heartbeat_s:
            raise ConfigError("cluster.worker_timeout_s must be at least 2 × heartbeat_s")

    @property
    def node(self) -> str:
        return self.node_name or default_node_name()

    def database(self, records_url: str) -> str:
        """The PostgreSQL URL the cluster shares; ConfigError when there is none."""
        url = self.database_url or records_url
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "callbot control/worker need PostgreSQL: set records.url (or "
                "cluster.database_url) to postgresql://... (SQLite is single-process)"
            )
        return url
