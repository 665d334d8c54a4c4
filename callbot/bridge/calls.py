"""One call of the Stasis app: its Asterisk objects, the registry routing events to it,
and the actor running its steps one at a time.

Asterisk runs the commands of one channel one at a time; the bridge does the same per
call: every event and command of a call goes through that call's own queue (an "actor"),
so calls never wait on each other and one call's steps never interleave.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from callbot.errors import CallError
from callbot.logs import bind_call_id

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CallLegs:
    """The Asterisk objects of one call (mutated only by that call's actor)."""

    call_id: str
    caller_channel_id: str
    caller_number: str
    bridge_id: str
    media_channel_id: str | None = None
    media_attempts: int = 0
    media_up: bool = False
    caller_up: bool = True
    transferring: bool = False
    finished: bool = False
    served: bool = False
    """A bot leg came up at least once (then the bot's own call record tells the story)."""
    reported: bool = False
    """Reported as unserved (once)."""
    node: str | None = None
    """The worker serving the call (cluster control role; None in ``callbot serve``)."""
    moves: int = 0
    """How many times the call was given to another worker after its worker failed."""
    language: str = ""
    """The caller channel's ``CHANNEL(language)`` (``fr``, ``en``): the words the agent
    reads (``CALLBOT_MOTIF``) if the call falls back to a human."""


@dataclass(frozen=True, slots=True)
class Unserved:
    """A caller the bridge sent on (or hung up) before any bot leg came up: no pipeline
    ever saw it, so the bridge reports it for a call record."""

    call_id: str
    caller_number: str
    reason: str
    """``draining``, ``bot_unavailable``, ``setup_failed``, ``caller_left``..."""
    to: str
    """``fallback`` (the fallback queue), ``hangup`` or ``gone`` (the caller had left)."""


class CallRegistry:
    """call id -> :class:`CallLegs`, and channel id -> call id for routing events."""

    def __init__(self) -> None:
        self._calls: dict[str, CallLegs] = {}
        self._by_channel: dict[str, str] = {}

    def add(self, legs: CallLegs) -> None:
        self._calls[legs.call_id] = legs
        self._by_channel[legs.caller_channel_id] = legs.call_id

    def bind(self, channel_id: str, call_id: str) -> None:
        self._by_channel[channel_id] = call_id

    def unbind(self, channel_id: str) -> None:
        self._by_channel.pop(channel_id, None)

    def get(self, call_id: str) -> CallLegs | None:
        return self._calls.get(call_id)

    def by_channel(self, channel_id: str) -> CallLegs | None:
        call_id = self._by_channel.get(channel_id)
        return self._calls.get(call_id) if call_id is not None else None

    def remove(self, call_id: str) -> None:
        legs = self._calls.pop(call_id, None)
        if legs is not None:
            self._by_channel = {k: v for k, v in self._by_channel.items() if v != call_id}

    def __iter__(self) -> Iterator[CallLegs]:
        return iter(list(self._calls.values()))

    def __len__(self) -> int:
        return len(self._calls)


CallStep = Callable[[], Awaitable[None]]
"""One step of a call (an event to handle, a command to carry out), run by its actor."""


class CallActor:
    """Runs one call's steps in order; ends once the call is finished and idle."""

    def __init__(self, legs: CallLegs, on_exit: Callable[[str], None]) -> None:
        self.legs = legs
        self._queue: asyncio.Queue[tuple[CallStep, asyncio.Future[None] | None]] = asyncio.Queue()
        self._closed = False
        self._on_exit = on_exit
        self.task = asyncio.create_task(self._run(), name=f"call-{legs.call_id}")

    def post(self, step: CallStep) -> None:
        if not self._closed:
            self._queue.put_nowait((step, None))

    def submit(self, step: CallStep) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            fut.set_exception(CallError(f"call {self.legs.call_id} has ended"))
        else:
            self._queue.put_nowait((step, fut))
        return fut

    async def _run(self) -> None:
        bind_call_id(self.legs.call_id)  # the call's steps log under its id
        try:
            while not (self.legs.finished and self._queue.empty()):
                step, fut = await self._queue.get()
                try:
                    await step()
                except Exception as exc:
                    if fut is None:
                        logger.exception("step failed")
                    elif not fut.done():
                        fut.set_exception(exc)
                    continue
                if fut is not None and not fut.done():
                    fut.set_result(None)
        finally:
            self._closed = True
            while not self._queue.empty():
                _, fut = self._queue.get_nowait()
                if fut is not None and not fut.done():
                    fut.set_exception(CallError(f"call {self.legs.call_id} has ended"))
            self._on_exit(self.legs.call_id)
