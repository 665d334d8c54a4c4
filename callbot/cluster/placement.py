"""Which worker takes the next call: the least loaded of those ready (pure).

A worker's load is the larger of what it last reported and what this control process
has placed on it and not yet seen end: its report is up to a heartbeat old, and a burst
of callers must not all land on the worker that looked idle a second ago. A worker that
is not ready, draining, silent for ``worker_timeout_s``, full, or without an address for
the call's media transport gets nothing. None: every worker is full or gone, the caller
goes to a human queue (reason ``capacity``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nodes.py needs the postgres extra; placement is pure
    from callbot.cluster.nodes import NodeRow


@dataclass(frozen=True, slots=True)
class MediaTarget:
    """Where Asterisk sends one call's media."""

    node: str
    websocket_connection: str
    """``websocket_client.conf`` section (chan_websocket)."""
    audiosocket_address: str
    """``host:port`` (AudioSocket)."""


def choose(
    nodes: Iterable[NodeRow],
    placed: Mapping[str, int],
    *,
    audiosocket: bool,
    timeout_s: float,
    exclude: Collection[str] = (),
) -> MediaTarget | None:
    """The ready worker with the most room, relative to its capacity (ties: fewest calls,
    then name, so the choice is deterministic)."""
    best: tuple[float, int, str] | None = None
    target = None
    for n in nodes:
        address = n.audiosocket_address if audiosocket else n.websocket_connection
        if (
            n.role != "worker"
            or not n.ready
            or n.draining
            or n.heartbeat_age_s > timeout_s
            or not address
            or n.node in exclude
            or n.capacity <= 0
        ):
            continue
        load = max(n.active_calls, placed.get(n.node, 0))
        if load >= n.capacity:
            continue
        key = (load / n.capacity, load, n.node)
        if best is None or key < best:
            best = key
            target = MediaTarget(n.node, n.websocket_connection, n.audiosocket_address)
    return target
