"""How one call moves through Asterisk: set up, bot leg up or down, transfer, end, release.

Per call::

    StasisStart(caller) -> answer -> POST /bridges -> addChannel(caller)
                        -> externalMedia(channelId=<call>-media-N, variables=CALLBOT_*)
    StasisStart(media)  -> addChannel(media)          (only once its websocket is up)
    caller gone         -> hang up media, destroy bridge
    media gone          -> hang up caller (unless a transfer is in progress)

With a :class:`~callbot.bridge.placing.Placement` (the cluster's control role), the
media leg goes to the worker it chooses (none free: the caller goes to the fallback
queue, reason ``capacity``), and a media leg that drops while its caller is still there
and its worker had not said the bot ends the call is the worker failing: the call moves
to another worker (``CALLBOT_MOVED``: it apologises and carries on), at most
:data:`~callbot.bridge.placing.MAX_MOVES` times, else to the fallback (``failed_over``).

Every step runs in the call's :class:`~callbot.bridge.calls.CallActor`, the media
time-out too, so the steps of one call never interleave. Invariant: no step leaves the
caller stranded; whatever fails, the caller ends with the bot, in a queue, or hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping

from callbot.bridge import recovery
from callbot.bridge.ari_client import AriClient, AriHttpError
from callbot.bridge.calls import CallActor, CallLegs, CallRegistry, Unserved
from callbot.bridge.placing import MAX_MOVES, Placement
from callbot.bridge.settings import AriSettings, MediaTransport
from callbot.bridge.tasks import quietly
from callbot.errors import CallError
from callbot.media.call_identity import MOVED_VARIABLE
from callbot.protocols import ari

logger = logging.getLogger(__name__)


class CallFlow:
    """The steps of every call of one Stasis app (the app routes events and commands)."""

    def __init__(
        self,
        client: AriClient,
        settings: AriSettings,
        registry: CallRegistry,
        actors: Mapping[str, CallActor],
    ) -> None:
        self._client = client
        self._settings = settings
        self._app = client.settings.app
        self._registry = registry
        self._actors = actors
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.on_unserved: Callable[[Unserved], None] | None = None
        """Told of every caller that left without a bot (for its call record)."""
        self.placement: Placement | None = None
        """Workers serve the media (cluster control role); None: this process does."""

    def cancel_media_timeout(self, call_id: str) -> None:
        """The bot leg is up, or the call's actor has ended."""
        timer = self._timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    async def setup(self, legs: CallLegs, state: str) -> None:
        client = self._client
        try:
            if state != "Up":
                await client.answer(legs.caller_channel_id)
            await client.create_bridge(legs.bridge_id, name=f"callbot-{legs.call_id}")
            await client.add_channel(legs.bridge_id, [legs.caller_channel_id])
            await self._start_media(legs)
        except AriHttpError as exc:
            if exc.gone:
                logger.info("caller left during setup")
                legs.caller_up = False
                await self.teardown(legs)
            else:
                logger.error("setup failed: %s", exc)
                await self.end(legs, "setup_failed", fallback=True)

    async def _start_media(self, legs: CallLegs, exclude: frozenset[str] = frozenset()) -> None:
        s = self._settings
        websocket_connection, audiosocket_host = s.websocket_connection, s.audiosocket_host
        if self.placement is not None:
            target = self.placement.choose(legs.call_id, exclude)
            if target is None:
                logger.warning("no worker can take the call: caller to the fallback queue")
                await self.end(legs, "capacity", fallback=True)
                return
            legs.node = target.node
            websocket_connection = target.websocket_connection
            audiosocket_host = target.audiosocket_address
            self.placement.placed(legs.call_id, target)
        legs.media_attempts += 1
        media_id = f"{legs.call_id}-media-{legs.media_attempts}"
        legs.media_channel_id, legs.media_up = media_id, False
        self._registry.bind(media_id, legs.call_id)  # before the request: StasisStart may race
        variables = {"CALLBOT_CALL_ID": legs.call_id, "CALLBOT_CALLER": legs.caller_number}
        if legs.moves:
            variables[MOVED_VARIABLE] = str(legs.moves)
        if s.transport is MediaTransport.WEBSOCKET:
            await self._client.external_media(
                app=self._app,
                external_host=websocket_connection,
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
                external_host=audiosocket_host,
                media_format=s.media_format,
                transport="tcp",
                encapsulation="audiosocket",
                data=legs.call_id,
                channel_id=media_id,
                variables=variables,
            )
        logger.info("media leg %s requested%s", media_id, f" on {legs.node}" if legs.node else "")
        actor = self._actors[legs.call_id]
        self._timers[legs.call_id] = asyncio.get_running_loop().call_later(
            s.media_start_timeout_s,
            actor.post,
            functools.partial(self._media_timeout, legs, media_id),
        )

    async def _media_timeout(self, legs: CallLegs, media_id: str) -> None:
        if legs.finished or legs.media_up or legs.media_channel_id != media_id:
            return
        logger.warning("media leg did not connect in time")
        await self.end(legs, "bot_unavailable", fallback=True)

    async def on_event(self, legs: CallLegs, event: ari.ChannelEvent) -> None:
        if legs.finished:
            return
        channel_id = event.channel.id
        is_caller = channel_id == legs.caller_channel_id
        if isinstance(event, ari.StasisStart) and not is_caller:
            await self._media_started(legs, channel_id)
        elif isinstance(event, ari.StasisEnd | ari.ChannelDestroyed):
            if is_caller:
                logger.info("caller left (%s)", type(event).__name__)
                legs.caller_up = False
                await self.teardown(legs)
            elif channel_id == legs.media_channel_id:
                await self._media_ended(legs)
            else:
                self._registry.unbind(channel_id)
        elif isinstance(event, ari.ChannelDtmfReceived):
            logger.debug("DTMF via ARI ignored (media leg carries it)")

    async def _media_started(self, legs: CallLegs, media_id: str) -> None:
        if media_id != legs.media_channel_id or legs.transferring:
            logger.info("stale media leg %s: hanging up", media_id)
            self._registry.unbind(media_id)
            await quietly(self._client.hangup(media_id), "stale media hangup")
            return
        self.cancel_media_timeout(legs.call_id)
        legs.media_up = legs.served = True
        try:
            await self._client.add_channel(legs.bridge_id, [media_id])
        except AriHttpError as exc:
            if not exc.gone:
                raise
            logger.info("media leg vanished before bridging")
            return
        logger.info("bot leg %s bridged", media_id)

    async def _media_ended(self, legs: CallLegs) -> None:
        was_up = legs.media_up
        if legs.media_channel_id:
            self._registry.unbind(legs.media_channel_id)
        legs.media_channel_id, legs.media_up = None, False
        if self.placement is not None:
            self.placement.released(legs.call_id)
        if legs.transferring or not legs.caller_up:
            return
        if self.placement is not None and not (
            was_up and await self.placement.bot_ended(legs.call_id)
        ):
            await self._fail_over(legs, self.placement)
        elif was_up:
            logger.info("bot leg ended: hanging up the caller")
            await self.end(legs, "bot_ended", fallback=False)
        else:
            logger.warning("bot leg failed to connect")
            await self.end(legs, "bot_unavailable", fallback=True)

    async def _fail_over(self, legs: CallLegs, placement: Placement) -> None:
        """The worker serving the call died (or never connected): another one, or a human."""
        lost = legs.node or "?"
        if legs.finished or not legs.caller_up:
            return
        # The media leg's end may come before the caller's (Asterisk hanging both up, the
        # caller leaving at that moment): ask Asterisk before calling it a failure.
        try:
            await self._client.get_channel(legs.caller_channel_id)
        except AriHttpError as exc:
            if exc.gone:
                logger.info("caller left as the bot leg ended: no fail-over")
                legs.caller_up = False
                await self.teardown(legs)
                return
        legs.moves += 1
        if legs.moves > MAX_MOVES:
            logger.error("worker %s lost the call, moved %d times already", lost, MAX_MOVES)
            await self.end(legs, "failed_over", fallback=True)
            placement.failed_over(legs.call_id, legs.caller_number, lost, "fallback")
            return
        logger.warning("worker %s lost the call: moving it to another worker", lost)
        await self._start_media(legs, exclude=frozenset({lost}))
        if not legs.finished:
            placement.failed_over(legs.call_id, legs.caller_number, lost, "worker")
        elif legs.served:  # no worker free: the caller went to the fallback queue
            placement.failed_over(legs.call_id, legs.caller_number, lost, "fallback")

    async def transfer(
        self, legs: CallLegs, context: str, extension: str, priority: int, names: dict[str, str]
    ) -> None:
        if legs.finished or not legs.caller_up:
            raise CallError(f"call {legs.call_id}: caller already gone, cannot transfer")
        caller = legs.caller_channel_id
        legs.transferring = True
        logger.info("transferring to %s,%s,%d", context, extension, priority)
        try:
            # Variables first: once ``continue`` runs the channel leaves Stasis (then 409).
            for name, value in names.items():
                await self._client.set_variable(caller, name, value)
            await quietly(
                self._client.remove_channel(legs.bridge_id, [caller]),
                "removeChannel",
            )
            await self._hangup_media(legs)
            await self._client.continue_in_dialplan(
                caller, context=context, extension=extension, priority=priority
            )
        except AriHttpError as exc:
            legs.caller_up = not exc.gone
            await self.end(legs, "transfer_failed", fallback=True)
            raise CallError(f"call {legs.call_id}: transfer failed: {exc}") from None
        await self.teardown(legs)

    async def end(self, legs: CallLegs, reason: str, *, fallback: bool) -> None:
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
                        self._client,
                        caller,
                        reason,
                        self._settings,
                        call_id=legs.call_id,
                        language=legs.language,
                    )
                    logger.info(
                        "%s: caller to fallback %s,%s",
                        reason,
                        self._settings.fallback_context,
                        self._settings.fallback_extension,
                    )
                else:
                    logger.info("%s: hanging up the caller", reason)
                    to = "hangup"
                    await self._client.hangup(caller)
            except AriHttpError as exc:
                if not exc.gone:
                    logger.error("ending failed (%s): hanging up", exc)
                    await quietly(self._client.hangup(caller), "caller hangup")
                    to = "hangup"
                else:
                    to = "gone"
            if not legs.served:
                self._report_unserved(legs, reason, to)
        legs.caller_up = False
        await self.teardown(legs)

    def _report_unserved(self, legs: CallLegs, reason: str, to: str) -> None:
        if legs.reported or self.on_unserved is None:
            return
        legs.reported = True
        try:
            self.on_unserved(Unserved(legs.call_id, legs.caller_number, reason, to))
        except Exception:
            logger.exception("could not report the unserved caller")

    async def _hangup_media(self, legs: CallLegs) -> None:
        media_id, legs.media_channel_id, legs.media_up = legs.media_channel_id, None, False
        if self.placement is not None:
            self.placement.released(legs.call_id)
        if media_id:
            self._registry.unbind(media_id)
            await quietly(self._client.hangup(media_id), "media hangup")

    async def teardown(self, legs: CallLegs) -> None:
        """The caller is gone or handed over: release the media leg and the bridge."""
        if legs.finished:
            return
        await self._hangup_media(legs)
        await quietly(self._client.destroy_bridge(legs.bridge_id), "bridge destroy")
        if not legs.served:
            self._report_unserved(legs, "caller_left", "gone")  # hung up before the bot
        legs.finished = True
        logger.info("released")

    async def reconcile(self, legs: CallLegs, channels: Mapping[str, ari.Channel]) -> None:
        """After an events reconnect: the call as Asterisk listed it (events were missed)."""
        if legs.finished or legs.transferring:
            return
        if legs.caller_channel_id not in channels:
            logger.info("caller vanished during the outage")
            legs.caller_up = False
            await self.teardown(legs)
            return
        if legs.media_channel_id in channels:
            return
        if legs.media_channel_id:
            self._registry.unbind(legs.media_channel_id)
        legs.media_channel_id, legs.media_up = None, False
        if not self._settings.reattach_lost_calls:
            await self.end(legs, "bot_unavailable", fallback=True)
            return
        logger.info("bot leg lost during the outage: re-attaching")
        with contextlib.suppress(AriHttpError):
            await self._client.create_bridge(legs.bridge_id, name=f"callbot-{legs.call_id}")
        with contextlib.suppress(AriHttpError):
            await self._client.add_channel(legs.bridge_id, [legs.caller_channel_id])
        try:
            await self._start_media(legs)
        except AriHttpError as exc:
            logger.error("re-attach failed: %s", exc)
            await self.end(legs, "bot_unavailable", fallback=True)
