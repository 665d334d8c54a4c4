"""The Stasis application: answers callers and bridges each one to a bot media leg.

One call is three Asterisk objects: the **caller** channel (entered ``Stasis(callbot)``
from the dialplan), the **media** channel (ARI ``externalMedia``: chan_websocket dialling
the callbot media server, or AudioSocket on older Asterisk) and a **mixing bridge**
holding both (:class:`~callbot.bridge.calls.CallLegs`). This module routes events and
commands to each call's actor (:mod:`callbot.bridge.calls`); what a call does in
Asterisk is :mod:`callbot.bridge.call_flow`.

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
from collections.abc import Callable, Mapping
from types import MappingProxyType

from callbot.bridge import adoption, recovery
from callbot.bridge.ari_client import AriClient, EventsConnected
from callbot.bridge.call_flow import CallFlow
from callbot.bridge.calls import CallActor, CallLegs, CallRegistry, Unserved
from callbot.bridge.placing import Placement
from callbot.bridge.settings import AriSettings, MediaTransport
from callbot.bridge.tasks import BackgroundTasks, quietly
from callbot.errors import AriError, CallError
from callbot.logs import call_log
from callbot.protocols import ari

logger = logging.getLogger(__name__)

_NO_VARS: Mapping[str, str] = MappingProxyType({})
_VAR_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_AUDIOSOCKET_NS = uuid.UUID("6f1c1e0a-2b7c-4c57-9a43-63616c6c626f")

RECONCILE_ATTEMPTS = 5
RECONCILE_RETRY_S = 1.0
"""A listing that fails (Asterisk busy) is tried again: calls left unknown would be
neither adopted nor released."""

EventTap = Callable[[ari.AriEvent], bool]
"""Sees an event before the call routing; True when it took the event."""


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
        self._actors: dict[str, CallActor] = {}
        self._flow = CallFlow(client, settings, self.registry, self._actors)
        self._tasks = BackgroundTasks("ARI background")
        self._taps: list[EventTap] = []
        self.draining = False
        """Shutting down: new callers go to the fallback instead of the bot."""
        self.recovered: list[recovery.Recovered] = []
        """Stranded callers this bridge released (from a previous process)."""

    # ------------------------------------------------------------------ public API

    @property
    def client(self) -> AriClient:
        return self._client

    @property
    def app(self) -> str:
        return self._app

    @property
    def on_unserved(self) -> Callable[[Unserved], None] | None:
        """Told of every caller that left without a bot (for its call record)."""
        return self._flow.on_unserved

    @on_unserved.setter
    def on_unserved(self, report: Callable[[Unserved], None] | None) -> None:
        self._flow.on_unserved = report

    @property
    def placement(self) -> Placement | None:
        """Workers serve the media (cluster control role); None: this process does."""
        return self._flow.placement

    @placement.setter
    def placement(self, placement: Placement | None) -> None:
        self._flow.placement = placement

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
        step = functools.partial(
            self._flow.transfer, actor.legs, context, extension, priority, names
        )
        await asyncio.shield(actor.submit(step))

    async def hangup(self, call_id: str) -> None:
        """Hang the caller up (bot side); no-op if the call has already ended."""
        try:
            actor = self._actor_for(call_id)
        except CallError:
            return
        step = functools.partial(self._flow.end, actor.legs, "bot_hangup", fallback=False)
        with contextlib.suppress(CallError):
            await asyncio.shield(actor.submit(step))

    def begin_drain(self) -> None:
        """Stop taking calls: from now on a new caller goes straight to the fallback queue
        (calls in progress go on)."""
        self.draining = True

    async def stop(self) -> None:
        """Shutdown: send every caller to the fallback context (or hang up), bounded."""
        futures = [
            self._actors[legs.call_id].submit(
                functools.partial(self._flow.end, legs, "shutdown", fallback=True)
            )
            for legs in self.registry
            if legs.call_id in self._actors
        ]
        if futures:
            await asyncio.wait(futures, timeout=self._settings.shutdown_timeout_s)
        for actor in list(self._actors.values()):
            actor.task.cancel()
        self._tasks.cancel()

    # ------------------------------------------------------------------ routing

    def _dispatch(self, item: ari.AriEvent | EventsConnected) -> None:
        if isinstance(item, EventsConnected):
            # First connection too: a previous process may have left callers in Stasis.
            self._tasks.spawn(self._reconcile())
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
            actor.post(functools.partial(self._flow.on_event, legs, item))

    def _on_unknown_channel(self, channel: ari.Channel) -> None:
        if recovery.is_media_leg(channel, (self._settings.websocket_connection,)):
            logger.warning("orphan media channel %s in Stasis: hanging up", channel.id)
            hangup = self._client.hangup(channel.id)
            self._tasks.spawn(quietly(hangup, f"orphan media channel {channel.id}: hangup"))
            return
        legs = self._new_call(channel)
        actor = self._actors[legs.call_id]
        if not self.draining:
            actor.post(functools.partial(self._flow.setup, legs, channel.state))
        else:
            actor.post(functools.partial(self._flow.end, legs, "draining", fallback=True))

    def _new_call(self, channel: ari.Channel) -> CallLegs:
        call_id = channel.id
        if self._settings.transport is MediaTransport.AUDIOSOCKET:
            # AudioSocket only carries a UUID: make it the call id the media edge will see.
            call_id = audiosocket_call_id(channel.id)
        legs = CallLegs(
            call_id,
            channel.id,
            channel.caller_number,
            f"{call_id}-bridge",
            language=channel.language,
        )
        self.registry.add(legs)
        self._actors[call_id] = CallActor(legs, self._forget)
        call_log(logger, call_id).info("caller %s entered Stasis", channel.id)
        return legs

    def _adopt(self, live: adoption.LiveCall) -> None:
        """A call in progress that another control process started (it died): go on."""
        legs = CallLegs(
            live.call_id,
            live.caller.id,
            live.caller.caller_number,
            live.bridge_id,
            media_channel_id=live.media.id,
            media_attempts=live.attempts,
            media_up=True,
            served=True,
            language=live.caller.language,
        )
        placement = self._flow.placement
        if placement is not None:
            legs.node = placement.adopted(live.call_id, live.media)
        self.registry.add(legs)
        self.registry.bind(live.media.id, live.call_id)
        self._actors[live.call_id] = CallActor(legs, self._forget)
        call_log(logger, live.call_id).warning(
            "adopted a call in progress (its worker: %s)", legs.node or "this process"
        )

    def _actor_for(self, call_id: str) -> CallActor:
        actor = self._actors.get(call_id)
        if actor is None:
            raise CallError(f"unknown or ended call {call_id}")
        return actor

    def _forget(self, call_id: str) -> None:
        self._actors.pop(call_id, None)
        self.registry.remove(call_id)
        self._flow.cancel_media_timeout(call_id)

    # ------------------------------------------------------------------ reconnect

    async def _reconcile(self) -> None:
        """On every connect: nothing may be left stranded (events were possibly missed, or
        a previous process died with callers in Stasis: see :mod:`callbot.bridge.recovery`)."""
        before = {legs.call_id for legs in self.registry}
        for attempt in range(1, RECONCILE_ATTEMPTS + 1):
            try:
                listed = await self._client.list_channels()
                bridges = await self._client.list_bridges()
                break
            except AriError as exc:
                logger.error(
                    "reconcile: cannot list channels and bridges (try %d of %d): %s",
                    attempt,
                    RECONCILE_ATTEMPTS,
                    exc,
                )
                if attempt == RECONCILE_ATTEMPTS:
                    return
                await asyncio.sleep(RECONCILE_RETRY_S)
        channels = {c.id: c for c in listed}
        for live in adoption.live_calls(listed, bridges, self._app):
            if self.registry.get(live.call_id) is None:
                self._adopt(live)
        known: set[str] = set()
        for legs in self.registry:
            known.update(c for c in (legs.caller_channel_id, legs.media_channel_id) if c)
            actor = self._actors.get(legs.call_id)
            # Only calls older than the listing can be judged by it.
            if actor is not None and legs.call_id in before:
                actor.post(functools.partial(self._flow.reconcile, legs, channels))
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


def _inheritable(name: str) -> str:
    """``SUMMARY`` -> ``__SUMMARY`` (inherited by every channel the caller dials)."""
    bare = name.lstrip("_")
    if not _VAR_NAME.match(bare):
        raise ValueError(f"invalid channel variable name {name!r}")
    return "__" + bare


def audiosocket_call_id(channel_id: str) -> str:
    """The call id of a caller's channel when the media goes over AudioSocket (a UUID)."""
    return str(uuid.uuid5(_AUDIOSOCKET_NS, channel_id))
