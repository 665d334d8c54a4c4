"""Hearing the other nodes' hand-over changes: ``LISTEN`` on the shared database.

One asyncio task on one connection (psycopg ``AsyncConnection``, autocommit, TCP
keepalives). When the connection drops (server restart, backend terminated, network
gone), it reconnects with backoff, and each time it is ``LISTEN``ing again it calls
``on_resync`` before taking any notification: the hub reads the table again, so a change
made while nobody listened is not missed, and one made during the read comes after.

A notification names a change (:func:`payload`); the changes of
this node's own store are skipped (its hub pushed them already), and so is a payload
that is not one (anyone who may connect may ``NOTIFY``). Payloads are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callbot.errors import MissingExtra
from callbot.records.postgres import connection_options

try:
    import psycopg
except ModuleNotFoundError as exc:  # imported only for a postgresql:// URL
    raise MissingExtra("psycopg", "postgres") from exc

logger = logging.getLogger(__name__)

CHANNEL = "callbot_handover"
"""``NOTIFY`` channel of the hand-over changes (and of the callbacks' events)."""
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 15.0
KINDS = frozenset({"handover", "status", "erased", "callback"})
MAX_ID = 200
"""Longest id taken from a payload (ours are 32 hex digits)."""


def payload(origin: str, kind: str, ref: str, event: str = "") -> str:
    """A change as ``NOTIFY`` carries it: which store made it, what kind, which context
    (or callback) id, and a callback's ``event``. Ids and names only, never caller data:
    PostgreSQL may log payloads (and keeps them under 8,000 bytes)."""
    message = {"origin": origin, "kind": kind, "id": ref}
    if event:
        message["event"] = event
    return json.dumps(message, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Change:
    """A change another node made: ``kind`` (``handover``, ``status``, ``erased``,
    ``callback``), the context or callback id, and a callback's ``event``."""

    kind: str
    ref: str
    event: str = ""


def parse(payload: str, own_origin: str) -> Change | None:
    """The change ``payload`` names; None for one of ``own_origin``'s or a stranger."""
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("origin") == own_origin:
        return None
    kind, ref, event = message.get("kind"), message.get("id"), message.get("event", "")
    if kind not in KINDS or not isinstance(ref, str) or not 0 < len(ref) <= MAX_ID:
        return None
    return Change(kind, ref, event if isinstance(event, str) else "")


class ChangeListener:
    """Calls ``on_change`` for each change other nodes make, in commit order, and
    ``on_resync`` whenever it starts listening (again)."""

    def __init__(
        self,
        url: str,
        origin: str,
        on_change: Callable[[Change], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
        *,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self._url = url
        self._origin = origin
        self._on_change = on_change
        self._on_resync = on_resync
        self._retry = (retry_first_s, retry_max_s)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.backend_pid: int | None = None
        """The server process of the listening connection (None while there is none)."""
        self.resyncs = 0
        """How many times the table was read again (the first listen included)."""

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="handover-listen")

    async def wait_listening(self) -> None:
        """Until the listener is (again) listening and resynchronised."""
        await self._listening.wait()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        delay_s = self._retry[0]
        while True:
            try:
                await self._listen()
                why = "closed by the server"
            except Exception as exc:  # any failure (hub's reads included): listen, resync
                why = type(exc).__name__
            if self.listening:  # it had worked: back to short waits
                delay_s = self._retry[0]
            self._listening.clear()
            self.backend_pid = None
            logger.warning(
                "hand-over changes: listening stopped (%s); again in %.1f s", why, delay_s
            )
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, self._retry[1])

    async def _listen(self) -> None:
        options = connection_options(self._url)
        async with await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, **options
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            await self._on_resync()  # after LISTEN: a change made during the read follows
            self.resyncs += 1
            self._listening.set()
            logger.info("hand-over changes: listening to the other nodes")
            async for notify in conn.notifies():
                change = parse(notify.payload, self._origin)
                if change is not None:
                    await self._on_change(change)
