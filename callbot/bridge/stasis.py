"""The Stasis application: answers callers and bridges each one to a bot media leg.

One call is three Asterisk objects: the **caller** channel (entered ``Stasis(callbot)``
from the dialplan), the **media** channel (ARI ``externalMedia``: chan_websocket dialling
the callbot media server, or AudioSocket on older Asterisk) and a **mixing bridge**
holding both. Per call::

    StasisStart(caller) -> answer -> POST /bridges -> addChannel(caller)
                        -> externalMedia(channelId=<call>-media-N, variables=CALLBOT_*)
    StasisStart(media)  -> addChannel(media)          (only once its websocket is up)
    caller gone         -> hang up media, destroy bridge
    media gone          -> hang up caller (unless a transfer is in progress)

Asterisk runs the commands of one channel one at a time; this module does the same per
call: every event and command of a call goes through that call's own queue (an "actor"),
so calls never wait on each other and one call's steps never interleave.

DTMF: with chan_websocket the media edge receives ``DTMF_END`` on the media socket (and
AudioSocket sends DTMF frames), so ``ChannelDtmfReceived`` here is only logged.

Invariant: no channel is left stranded. After an events reconnect (events may have been
missed) the bridge lists channels and reconciles; at shutdown every call is hung up or
sent to the fallback context.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from callbot.bridge import recovery
from callbot.bridge.ari_client import AriClient, AriHttpError, EventsConnected
from callbot.bridge.settings import AriSettings, MediaTransport
from callbot.errors import AriError, CallError
from callbot.protocols import ari

logger = logging.getLogger(__name__)

_NO_VARS: Mapping[str, str] = MappingProxyType({})
_VAR_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_AUDIOSOCKET_NS = uuid.UUID("6f1c1e0a-2b7c-4c57-9a43-63616c6c626f")


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


Step = Callable[[], Awaitable[None]]
EventTap = Callable[[ari.AriEvent], bool]
"""Sees an event before the call routing; True when it took the event."""


class _CallActor:
    """Runs one call's steps in order; ends once the call is finished and idle."""

    def __init__(self, legs: CallLegs, on_exit: Callable[[str], None]) -> None:
        self.legs = legs
        self._queue: asyncio.Queue[tuple[Step, asyncio.Future[None] | None]] = asyncio.Queue()
        self._closed = False
        self._on_exit = on_exit
        self.task = asyncio.create_task(self._run(), name=f"call-{legs.call_id}")

    def post(self, step: Step) -> None:
        if not self._closed:
            self._queue.put_nowait((step, None))

    def submit(self, step: Step) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            fut.set_exception(CallError(f"call {self.legs.call_id} has ended"))
        else:
            self._queue.put_nowait((step, fut))
        return fut

    async def _run(self) -> None:
        try:
            while not (self.legs.finished and self._queue.empty()):
                step, fut = await self._queue.get()
                try:
                    await step()
                except Exception as exc:
                    if fut is None:
                        logger.exception("call %s: step failed", self.legs.call_id)
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


async def _quietly(call_id: str, what: str, action: Awaitable[None]) -> None:
    """Run a cleanup request; a channel or bridge already gone is not an error."""
    try:
        await action
    except AriHttpError as exc:
        if not exc.gone:
            logger.warning("call %s: %s failed: %s", call_id, what, exc.status_code)


class StasisBridge:
    """The ``callbot`` Stasis application. :meth:`run` consumes events; the call runner
    uses :meth:`transfer` and :meth:`hangup`; :meth:`stop` ends every call."""

    def __init__(
        self, client: AriClient, settings: AriSettings, registry: CallRegistry | None = None
    ) -> None:
        self._client = client
        self._settings = settings
        self._app = client.settings.app
        self.registry = registry if registry is not None else CallRegistry()
        self._actors: dict[str, _CallActor] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._taps: list[EventTap] = []
        self.draining = False
        """Shutting down: new callers go to the fallback instead of the bot."""
        self.recovered: list[recovery.Recovered] = []
        """Stranded callers this bridge released (from a previous process)."""
        self.on_unserved: Callable[[Unserved], None] | None = None
        """Told of every caller that left without a bot (for its call record)."""

    # ------------------------------------------------------------------ public API

    @property
    def client(self) -> AriClient:
        return self._client

    @property
    def app(self) -> str:
        return self._app

    def add_event_tap(self, tap: EventTap) -> None:
        """Let ``tap`` see every event first; it returns True for those it takes.

        The warm transfer uses it for channels that are no calls of this bridge: agent
        legs (``Stasis(callbot,agent,<id>)``), callers back from a queue
        (``Stasis(callbot,noanswer,<id>)``) and queued callers it subscribed to.
        """
        self._taps.append(tap)

    def caller_channel_id(self, call_id: str) -> str | None:
        legs = self.registry.get(call_id)
        return legs.caller_channel_id if legs is not None else None

    async def run(self) -> None:
        """Consume the event stream until cancelled (reconnects are the client's job)."""
        async for item in self._client.events():
            self._dispatch(item)

    async def transfer(
        self,
        call_id: str,
        *,
        context: str,
        extension: str = "s",
        priority: int = 1,
        variables: Mapping[str, str] = _NO_VARS,
    ) -> None:
        """Hand the caller to the dialplan (a human queue) with inheritable variables.

        Variables are set as ``__NAME`` so app_queue copies them onto the agent's leg.
        Runs in the call's actor and is shielded: cancelling the caller of this method
        (e.g. the bot's task ending when its media leg is hung up) cannot strand the call.
        """
        names = {_inheritable(name): value for name, value in variables.items()}
        actor = self._actor_for(call_id)
        step = functools.partial(self._do_transfer, actor.legs, context, extension, priority, names)
        await asyncio.shield(actor.submit(step))

    async def hangup(self, call_id: str) -> None:
        """Hang the caller up (bot side); no-op if the call has already ended."""
        try:
            actor = self._actor_for(call_id)
        except CallError:
            return
        step = functools.partial(self._end_call, actor.legs, "bot_hangup", fallback=False)
        with contextlib.suppress(CallError):
            await asyncio.shield(actor.submit(step))

    async def stop(self) -> None:
        """Shutdown: send every caller to the fallback context (or hang up), bounded."""
        futures = [
            self._actors[legs.call_id].submit(
                functools.partial(self._end_call, legs, "shutdown", fallback=True)
            )
            for legs in self.registry
            if legs.call_id in self._actors
        ]
        if futures:
            await asyncio.wait(futures, timeout=self._settings.shutdown_timeout_s)
        for actor in list(self._actors.values()):
            actor.task.cancel()
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------ routing

    def _dispatch(self, item: ari.AriEvent | EventsConnected) -> None:
        if isinstance(item, EventsConnected):
            # First connection too: a previous process may have left callers in Stasis.
            self._spawn(self._reconcile())
            return
        if isinstance(item, ari.ApplicationReplaced):
            logger.error("another client registered Stasis app %s: no more events", self._app)
            return
        if any(tap(item) for tap in self._taps):
            return
        if not isinstance(
            item,
            ari.StasisStart
            | ari.StasisEnd
            | ari.ChannelDestroyed
            | ari.ChannelHangupRequest
            | ari.ChannelDtmfReceived,
        ):
            return
        legs = self.registry.by_channel(item.channel.id)
        if legs is None:
            if isinstance(item, ari.StasisStart):
                self._on_unknown_channel(item.channel)
            return
        actor = self._actors.get(legs.call_id)
        if actor is not None:
            actor.post(functools.partial(self._on_call_event, legs, item))

    def _on_unknown_channel(self, channel: ari.Channel) -> None:
        if self._is_media_leg(channel):
            logger.warning("orphan media channel %s in Stasis: hanging up", channel.id)
            self._spawn(_quietly(channel.id, "orphan hangup", self._client.hangup(channel.id)))
            return
        legs = self._new_call(channel)
        actor = self._actors[legs.call_id]
        if not self.draining:
            actor.post(functools.partial(self._setup_call, legs, channel.state))
        else:
            actor.post(functools.partial(self._end_call, legs, "draining", fallback=True))

    def _is_media_leg(self, channel: ari.Channel) -> bool:
        return recovery.is_media_leg(channel, (self._settings.websocket_connection,))

    def begin_drain(self) -> None:
        """Stop taking calls: from now on a new caller goes straight to the fallback queue
        (calls in progress go on)."""
        self.draining = True

    def _new_call(self, channel: ari.Channel) -> CallLegs:
        call_id = channel.id
        if self._settings.transport is MediaTransport.AUDIOSOCKET:
            # AudioSocket only carries a UUID: make it the call id the media edge will see.
            call_id = audiosocket_call_id(channel.id)
        legs = CallLegs(call_id, channel.id, channel.caller_number, f"{call_id}-bridge")
        self.registry.add(legs)
        self._actors[call_id] = _CallActor(legs, self._forget)
        logger.info("call %s: caller %s entered Stasis", call_id, channel.id)
        return legs

    def _actor_for(self, call_id: str) -> _CallActor:
        actor = self._actors.get(call_id)
        if actor is None:
            raise CallError(f"unknown or ended call {call_id}")
        return actor

    def _forget(self, call_id: str) -> None:
        self._actors.pop(call_id, None)
        self.registry.remove(call_id)
        timer = self._timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def wrapper() -> None:
            try:
                await coro
            except Exception:
                logger.exception("ARI background task failed")

        task = asyncio.create_task(wrapper())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ call steps

    async def _setup_call(self, legs: CallLegs, state: str) -> None:
        client = self._client
        try:
            if state != "Up":
                await client.answer(legs.caller_channel_id)
            await client.create_bridge(legs.bridge_id, name=f"callbot-{legs.call_id}")
            await client.add_channel(legs.bridge_id, [legs.caller_channel_id])
            await self._start_media(legs)
        except AriHttpError as exc:
            if exc.gone:
                logger.info("call %s: caller left during setup", legs.call_id)
                legs.caller_up = False
                await self._teardown(legs)
            else:
                logger.error("call %s: setup failed: %s", legs.call_id, exc)
                await self._end_call(legs, "setup_failed", fallback=True)

    async def _start_media(self, legs: CallLegs) -> None:
        legs.media_attempts += 1
        media_id = f"{legs.call_id}-media-{legs.media_attempts}"
        legs.media_channel_id, legs.media_up = media_id, False
        self.registry.bind(media_id, legs.call_id)  # before the request: StasisStart may race
        variables = {"CALLBOT_CALL_ID": legs.call_id, "CALLBOT_CALLER": legs.caller_number}
        s = self._settings
        if s.transport is MediaTransport.WEBSOCKET:
            await self._client.external_media(
                app=self._app,
                external_host=s.websocket_connection,
                media_format=s.media_format,
                transport="websocket",
                encapsulation="none",
                connection_type="client",
                transport_data=s.transport_data or None,
                channel_id=media_id,
                variables=variables,
            )
        else:
            await self._client.external_media(
                app=self._app,
                external_host=s.audiosocket_host,
                media_format=s.media_format,
                transport="tcp",
                encapsulation="audiosocket",
                data=legs.call_id,
                channel_id=media_id,
                variables=variables,
            )
        logger.info("call %s: media leg %s requested", legs.call_id, media_id)
        actor = self._actors[legs.call_id]
        self._timers[legs.call_id] = asyncio.get_running_loop().call_later(
            s.media_start_timeout_s,
            actor.post,
            functools.partial(self._media_timeout, legs, media_id),
        )

    async def _media_timeout(self, legs: CallLegs, media_id: str) -> None:
        if legs.finished or legs.media_up or legs.media_channel_id != media_id:
            return
        logger.warning("call %s: media leg did not connect in time", legs.call_id)
        await self._end_call(legs, "bot_unavailable", fallback=True)

    async def _on_call_event(self, legs: CallLegs, event: ari.ChannelEvent) -> None:
        if legs.finished:
            return
        channel_id = event.channel.id
        is_caller = channel_id == legs.caller_channel_id
        if isinstance(event, ari.StasisStart) and not is_caller:
            await self._media_started(legs, channel_id)
        elif isinstance(event, ari.StasisEnd | ari.ChannelDestroyed):
            if is_caller:
                logger.info("call %s: caller left (%s)", legs.call_id, type(event).__name__)
                legs.caller_up = False
                await self._teardown(legs)
            elif channel_id == legs.media_channel_id:
                await self._media_ended(legs)
            else:
                self.registry.unbind(channel_id)
        elif isinstance(event, ari.ChannelDtmfReceived):
            logger.debug("call %s: DTMF via ARI ignored (media leg carries it)", legs.call_id)

    async def _media_started(self, legs: CallLegs, media_id: str) -> None:
        if media_id != legs.media_channel_id or legs.transferring:
            logger.info("call %s: stale media leg %s: hanging up", legs.call_id, media_id)
            self.registry.unbind(media_id)
            await _quietly(legs.call_id, "stale media hangup", self._client.hangup(media_id))
            return
        timer = self._timers.pop(legs.call_id, None)
        if timer is not None:
            timer.cancel()
        legs.media_up = legs.served = True
        try:
            await self._client.add_channel(legs.bridge_id, [media_id])
        except AriHttpError as exc:
            if not exc.gone:
                raise
            logger.info("call %s: media leg vanished before bridging", legs.call_id)
            return
        logger.info("call %s: bot leg %s bridged", legs.call_id, media_id)

    async def _media_ended(self, legs: CallLegs) -> None:
        was_up = legs.media_up
        if legs.media_channel_id:
            self.registry.unbind(legs.media_channel_id)
        legs.media_channel_id, legs.media_up = None, False
        if legs.transferring or not legs.caller_up:
            return
        if was_up:
            logger.info("call %s: bot leg ended: hanging up the caller", legs.call_id)
            await self._end_call(legs, "bot_ended", fallback=False)
        else:
            logger.warning("call %s: bot leg failed to connect", legs.call_id)
            await self._end_call(legs, "bot_unavailable", fallback=True)

    async def _do_transfer(
        self, legs: CallLegs, context: str, extension: str, priority: int, names: dict[str, str]
    ) -> None:
        if legs.finished or not legs.caller_up:
            raise CallError(f"call {legs.call_id}: caller already gone, cannot transfer")
        caller = legs.caller_channel_id
        legs.transferring = True
        logger.info("call %s: transferring to %s,%s,%d", legs.call_id, context, extension, priority)
        try:
            # Variables first: once ``continue`` runs the channel leaves Stasis (then 409).
            for name, value in names.items():
                await self._client.set_variable(caller, name, value)
            await _quietly(
                legs.call_id, "removeChannel", self._client.remove_channel(legs.bridge_id, [caller])
            )
            await self._hangup_media(legs)
            await self._client.continue_in_dialplan(
                caller, context=context, extension=extension, priority=priority
            )
        except AriHttpError as exc:
            legs.caller_up = not exc.gone
            await self._end_call(legs, "transfer_failed", fallback=True)
            raise CallError(f"call {legs.call_id}: transfer failed: {exc}") from None
        await self._teardown(legs)

    async def _end_call(self, legs: CallLegs, reason: str, *, fallback: bool) -> None:
        """Send the caller to the fallback context (if asked and configured) or hang up.

        ``reason`` is a code (``shutdown``, ``bot_unavailable``...) the agent sees in
        ``CALLBOT_FALLBACK_REASON`` / ``CALLBOT_MOTIF``.
        """
        if legs.finished:
            return
        if legs.caller_up:
            caller, to = legs.caller_channel_id, "fallback"
            try:
                if fallback and self._settings.fallback_context:
                    await self._hangup_media(legs)
                    to = await recovery.send_to_fallback(
                        self._client, caller, reason, self._settings, call_id=legs.call_id
                    )
                    logger.info(
                        "call %s: %s: caller to fallback %s,%s",
                        legs.call_id,
                        reason,
                        self._settings.fallback_context,
                        self._settings.fallback_extension,
                    )
                else:
                    logger.info("call %s: %s: hanging up the caller", legs.call_id, reason)
                    to = "hangup"
                    await self._client.hangup(caller)
            except AriHttpError as exc:
                if not exc.gone:
                    logger.error("call %s: ending failed (%s): hanging up", legs.call_id, exc)
                    await _quietly(legs.call_id, "caller hangup", self._client.hangup(caller))
                    to = "hangup"
                else:
                    to = "gone"
            if not legs.served:
                self._report_unserved(legs, reason, to)
        legs.caller_up = False
        await self._teardown(legs)

    def _report_unserved(self, legs: CallLegs, reason: str, to: str) -> None:
        if legs.reported or self.on_unserved is None:
            return
        legs.reported = True
        try:
            self.on_unserved(Unserved(legs.call_id, legs.caller_number, reason, to))
        except Exception:
            logger.exception("call %s: could not report the unserved caller", legs.call_id)

    async def _hangup_media(self, legs: CallLegs) -> None:
        media_id, legs.media_channel_id, legs.media_up = legs.media_channel_id, None, False
        if media_id:
            self.registry.unbind(media_id)
            await _quietly(legs.call_id, "media hangup", self._client.hangup(media_id))

    async def _teardown(self, legs: CallLegs) -> None:
        """The caller is gone or handed over: release the media leg and the bridge."""
        if legs.finished:
            return
        await self._hangup_media(legs)
        await _quietly(legs.call_id, "bridge destroy", self._client.destroy_bridge(legs.bridge_id))
        if not legs.served:
            self._report_unserved(legs, "caller_left", "gone")  # hung up before the bot
        legs.finished = True
        logger.info("call %s: released", legs.call_id)

    # ------------------------------------------------------------------ reconnect

    async def _reconcile(self) -> None:
        """On every connect: nothing may be left stranded (events were possibly missed, or
        a previous process died with callers in Stasis: see :mod:`callbot.bridge.recovery`)."""
        before = {legs.call_id for legs in self.registry}
        try:
            listed = await self._client.list_channels()
            bridges = await self._client.list_bridges()
        except AriError as exc:
            logger.error("reconcile: cannot list channels and bridges: %s", exc)
            return
        channels = {c.id: c for c in listed}
        known: set[str] = set()
        for legs in self.registry:
            known.update(c for c in (legs.caller_channel_id, legs.media_channel_id) if c)
            actor = self._actors.get(legs.call_id)
            # Only calls older than the listing can be judged by it.
            if actor is not None and legs.call_id in before:
                actor.post(functools.partial(self._reconcile_call, legs, channels))
        steps = recovery.plan(
            listed,
            bridges,
            self._settings,
            known=frozenset(known),
            live_bridges=frozenset(legs.bridge_id for legs in self.registry),
            serving=not self.draining,
        )
        for step in steps:
            if step.action is recovery.Action.ADOPT and step.channel is not None:
                logger.info("reconcile: caller %s in Stasis without a call", step.target)
                self._on_unknown_channel(step.channel)
        others = [s for s in steps if s.action is not recovery.Action.ADOPT]
        for lost in await recovery.carry_out(self._client, others, self._settings, "restart"):
            self.recovered.append(lost)

    async def _reconcile_call(self, legs: CallLegs, channels: Mapping[str, ari.Channel]) -> None:
        if legs.finished or legs.transferring:
            return
        if legs.caller_channel_id not in channels:
            logger.info("call %s: caller vanished during the outage", legs.call_id)
            legs.caller_up = False
            await self._teardown(legs)
            return
        if legs.media_channel_id in channels:
            return
        if legs.media_channel_id:
            self.registry.unbind(legs.media_channel_id)
        legs.media_channel_id, legs.media_up = None, False
        if not self._settings.reattach_lost_calls:
            await self._end_call(legs, "bot_unavailable", fallback=True)
            return
        logger.info("call %s: bot leg lost during the outage: re-attaching", legs.call_id)
        with contextlib.suppress(AriHttpError):
            await self._client.create_bridge(legs.bridge_id, name=f"callbot-{legs.call_id}")
        with contextlib.suppress(AriHttpError):
            await self._client.add_channel(legs.bridge_id, [legs.caller_channel_id])
        try:
            await self._start_media(legs)
        except AriHttpError as exc:
            logger.error("call %s: re-attach failed: %s", legs.call_id, exc)
            await self._end_call(legs, "bot_unavailable", fallback=True)


def _inheritable(name: str) -> str:
    """``SUMMARY`` -> ``__SUMMARY`` (inherited by every channel the caller dials)."""
    bare = name.lstrip("_")
    if not _VAR_NAME.match(bare):
        raise ValueError(f"invalid channel variable name {name!r}")
    return "__" + bare


def audiosocket_call_id(channel_id: str) -> str:
    """The call id of a caller's channel when the media goes over AudioSocket (a UUID)."""
    return str(uuid.uuid5(_AUDIOSOCKET_NS, channel_id))
