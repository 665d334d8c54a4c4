"""Warm transfer, the queue side: agent screening, callback offer, abandon tracking.

:class:`~callbot.bridge.control.AriCallControl` publishes the context and continues the
caller into the queue; from then on this module follows the caller (the context is never
lost: it is stored before the caller leaves; its words are data in :mod:`.prompts`)::

    hub.publish(context)                    (a failure is logged; the transfer goes on)
    POST /applications/callbot/subscription?eventSource=channel:<caller>
    set __CALLBOT_* variables, continue -> [callbot-queues] <queue>,1 -> Queue() + MOH
    agent answers -> Dial U() subroutine -> Stasis(callbot,agent,<context id>)
        play sound:callbot/<context id> (the summary in the bot's voice)
        DTMF 1 -> continue (Dial bridges: "answered"); 2 / timeout -> hang the agent up
        (Queue() rings the next agent)
    Queue() times out -> Stasis(callbot,noanswer,<context id>,<QUEUESTATUS>)
        "no_answer"; prompt; DTMF 1 -> "callback_requested"; hang up
    caller hangs up while queued -> ChannelDestroyed (via the subscription) -> "abandoned"

Why the subscription: once continued, the caller has left Stasis and the application
gets no more of its events unless it subscribed to the channel explicitly.

Why Dial's ``U()`` and not Queue()'s ``gosub`` argument: app_queue runs its gosub after
the caller has left the queue and ignores the result (``apps/app_queue.c``,
``try_calling``), so an agent who declines could not give the caller back to the queue.
Queue members are ``Local/...@callbot-agents`` channels whose ``Dial(PJSIP/...)`` runs
``U()`` on the agent's phone before answering the Local channel: a declined agent makes
the member look unanswered, and app_queue tries the next one (``apps/app_dial.c``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from callbot.bridge.ari_client import AriClient, AriHttpError
from callbot.bridge.prompts import PromptTable, prompts_for, transfer_prompts
from callbot.bridge.recovery import AGENT_ARG, NOANSWER_ARG, agent_return
from callbot.bridge.settings import AriSettings
from callbot.bridge.stasis import StasisBridge
from callbot.bridge.tasks import BackgroundTasks, quietly
from callbot.errors import AriError
from callbot.handover.context import HandoverContext
from callbot.logs import bind_call_id, call_log
from callbot.protocols import ari, ari_rest
from callbot.protocols.ari_rest import path_segment

logger = logging.getLogger(__name__)

RenderWav = Callable[[str, str, Path], None]
"""``render(text, language, wav_path)``: writes the text in the bot's voice as a WAV
Asterisk can play (8 kHz mono 16-bit for ``.wav``). Blocking: run in a thread."""


class HandoverPublisher(Protocol):
    """What the transfer needs of the hand-over hub (``callbot.handover.hub.HandoverHub``)."""

    async def publish(self, ctx: HandoverContext) -> None: ...

    async def update(
        self, context_id: str, status: str, detail: str = ""
    ) -> HandoverContext | None: ...


PLAYBACK_WAIT_S = 15.0
"""Longest wait for a prompt played to a caller to finish."""


@dataclass(slots=True)
class _Handover:
    """One transferred caller, from the queue to its outcome."""

    ctx: HandoverContext
    caller_id: str
    status: str = "queued"
    summary_media: asyncio.Task[str | None] | None = None
    wav: Path | None = None
    digits: dict[str, asyncio.Queue[str | None]] = field(default_factory=dict)
    """Channel id (agent or caller in Stasis) -> its DTMF digits; None: it hung up."""


class WarmTransfers:
    """The queue side of transfers: agent screening, no-answer offer, abandon tracking."""

    def __init__(
        self,
        bridge: StasisBridge,
        settings: AriSettings,
        hub: HandoverPublisher | None,
        synthesize: RenderWav | None,
        prompts: PromptTable | None = None,
    ) -> None:
        self._bridge = bridge
        self._s = settings
        self._hub = hub
        self._synthesize = synthesize
        self._prompts = prompts if prompts is not None else transfer_prompts()
        self._by_id: dict[str, _Handover] = {}
        self._by_channel: dict[str, _Handover] = {}
        self._playbacks: dict[str, asyncio.Future[None]] = {}
        self._screening: dict[str, ari.Channel] = {}
        """Agent legs in Stasis hearing a summary (released at stop)."""
        self._offering: set[str] = set()
        """Callers in Stasis hearing the callback offer (released at stop)."""
        self._playing: dict[str, str] = {}
        """Channel id -> the playback it hears (until PlaybackFinished)."""
        self._tasks = BackgroundTasks("warm-transfer")

    @property
    def _client(self) -> AriClient:
        return self._bridge.client

    def status(self, context_id: str) -> str | None:
        h = self._by_id.get(context_id)
        return h.status if h is not None else None

    async def watch(self, ctx: HandoverContext, caller_id: str) -> None:
        """Before ``continue``: subscribe to the caller and start voicing the summary (in
        the call's task: its lines carry the call id from there)."""
        h = _Handover(ctx, caller_id)
        self._by_id[ctx.context_id] = h
        self._by_channel[caller_id] = h
        if self._synthesize is not None and self._s.sounds_dir is not None:
            h.wav = self._s.sounds_dir / f"{ctx.context_id}.wav"
            h.summary_media = asyncio.create_task(self._voice(h.ctx, h.ctx.summary, h.wav))
        req = _subscribe(self._bridge.app, f"channel:{caller_id}")
        try:
            await self._client.request(req)
        except AriError as exc:
            logger.warning("no subscription to the queued caller: %s", exc)

    async def failed(self, context_id: str, detail: str) -> None:
        h = self._by_id.get(context_id)
        if h is not None:
            await self._set_status(h, "transfer_failed", detail)
            self._forget(h)

    async def aclose(self) -> None:
        """Stopping: nobody is left waiting in Stasis for this process. An agent hearing a
        summary is bridged with the caller; a caller hearing the callback offer goes on in
        the dialplan (goodbye)."""
        agents, callers = list(self._screening.values()), list(self._offering)
        waiting = {c.id for c in agents} | set(callers)
        self._tasks.cancel()
        for channel_id, playback_id in list(self._playing.items()):
            if channel_id in waiting:
                with contextlib.suppress(AriError):  # commands wait for a playback's end
                    await self._client.request(ari_rest.stop_playback(playback_id))
        for channel in agents:
            logger.info("stopping: agent leg %s bridged without waiting for a key", channel.id)
            with contextlib.suppress(AriError):
                await self._return_agent(channel)
        for caller_id in callers:
            with contextlib.suppress(AriError):
                await self._client.request(ari_rest.continue_next(caller_id))
        self._screening.clear()
        self._offering.clear()

    # ------------------------------------------------------------------ events

    def on_event(self, event: ari.AriEvent) -> bool:
        """The bridge's event tap: True for the events of hand-over channels."""
        if isinstance(event, ari.PlaybackFinished):
            for channel_id, playback_id in list(self._playing.items()):
                if playback_id == event.playback_id:
                    del self._playing[channel_id]
            fut = self._playbacks.pop(event.playback_id, None)
            if fut is not None and not fut.done():
                fut.set_result(None)
            return fut is not None
        if isinstance(event, ari.StasisStart) and event.args[:1] in ((AGENT_ARG,), (NOANSWER_ARG,)):
            self._tasks.spawn(self._on_side_leg(event))
            return True
        if not isinstance(event, ari.ChannelEvent):
            return False
        channel_id = event.channel.id
        h = self._by_channel.get(channel_id)
        if h is None:
            return False
        if isinstance(event, ari.ChannelDtmfReceived):
            queue = h.digits.get(channel_id)
            if queue is not None:
                queue.put_nowait(event.digit)
        elif isinstance(event, ari.ChannelDestroyed):
            self._on_destroyed(h, channel_id)
        return True

    def _on_destroyed(self, h: _Handover, channel_id: str) -> None:
        queue = h.digits.pop(channel_id, None)
        if queue is not None:
            queue.put_nowait(None)
        if channel_id != h.caller_id:
            self._by_channel.pop(channel_id, None)
            return
        if h.status == "queued":
            call_log(logger, h.ctx.call_id).info("caller hung up while queued")
            self._tasks.spawn(self._set_status(h, "abandoned", "caller hung up in the queue"))
        self._forget(h)

    async def _on_side_leg(self, event: ari.StasisStart) -> None:
        channel = event.channel
        context_id = event.args[1] if len(event.args) > 1 else ""
        h = self._by_id.get(context_id)
        if h is not None:
            bind_call_id(h.ctx.call_id)  # this task is the call's, in the queue
        if event.args[0] == AGENT_ARG:
            await self._screen_agent(h, channel)
        else:
            await self._offer_callback(h, channel.id, ",".join(event.args[2:3]))

    # ------------------------------------------------------------------ agent leg

    async def _screen_agent(self, h: _Handover | None, agent: ari.Channel) -> None:
        """Summary to the agent, then 1: bridge, 2 or silence: next agent.

        Accepting stops the summary (Asterisk runs a channel's commands after its playback)
        and continues the agent's subroutine once, to its ``accept`` label
        (:func:`~callbot.bridge.recovery.agent_return`).
        """
        agent_id = agent.id
        if h is None or h.status != "queued":
            # Unknown context (callbot restarted, fallback queue): never block an agent.
            logger.info("agent leg %s without a queued hand-over: bridging", agent_id)
            await self._return_agent(agent)
            return
        digits: asyncio.Queue[str | None] = asyncio.Queue()
        h.digits[agent_id] = digits
        self._by_channel[agent_id] = h
        self._screening[agent_id] = agent
        try:
            await self._screen(h, agent, digits)
        finally:
            self._screening.pop(agent_id, None)

    async def _screen(
        self, h: _Handover, agent: ari.Channel, digits: asyncio.Queue[str | None]
    ) -> None:
        agent_id = agent.id
        logger.info("agent leg %s screening", agent_id)
        media = await h.summary_media if h.summary_media is not None else None
        summary = await self._play(agent_id, media, wait=False) if media is not None else None
        digit = await _first_digit(digits, ("1", "2"), self._s.agent_accept_timeout_s)
        if digit == "1" and h.status == "queued":
            if summary is not None:
                await quietly(
                    self._client.request(ari_rest.stop_playback(summary)),
                    "summary stop",
                )
            try:
                await self._return_agent(agent)
            except AriHttpError as exc:
                logger.info("agent leg gone before bridging: %s", exc)
                return
            logger.info("agent accepted")
            await self._set_status(h, "answered", agent_id)
            return
        logger.info("agent declined (%s): next agent", digit or "no answer")
        h.digits.pop(agent_id, None)
        self._by_channel.pop(agent_id, None)
        await quietly(self._client.hangup(agent_id), "agent hangup")

    async def _return_agent(self, agent: ari.Channel) -> None:
        """Out of the screening subroutine: to ``accept``; a dialplan without that label
        (older ``extensions.conf``) gets the next priority, which works but makes Asterisk
        run ``Stasis()`` a second time (logged)."""
        try:
            await self._client.request(agent_return(agent))
        except AriHttpError as exc:
            if exc.status_code != 404 or "label" not in exc.body.lower():
                raise
            logger.warning(
                "agent leg %s: no 'accept' label in [%s] (update extensions.conf): "
                "continuing to the next priority",
                agent.id,
                agent.context,
            )
            await self._client.request(ari_rest.continue_next(agent.id))

    # ------------------------------------------------------------------ no answer

    async def _offer_callback(self, h: _Handover | None, caller_id: str, why: str) -> None:
        if h is None or h.status != "queued":
            logger.info("caller %s back from the queue without a hand-over", caller_id)
            await quietly(
                self._client.request(ari_rest.continue_next(caller_id)),
                f"caller {caller_id}: continue",
            )
            return
        digits: asyncio.Queue[str | None] = asyncio.Queue()
        h.digits[caller_id] = digits
        self._offering.add(caller_id)
        try:
            await self._offer(h, caller_id, why, digits)
        finally:
            self._offering.discard(caller_id)

    async def _offer(
        self, h: _Handover, caller_id: str, why: str, digits: asyncio.Queue[str | None]
    ) -> None:
        await self._set_status(h, "no_answer", why or "TIMEOUT")
        words = prompts_for(self._prompts, h.ctx.language)
        prompt = await self._prompt(h, "noanswer", words.noanswer)
        if prompt is not None:
            await self._play(caller_id, prompt, wait=False)
        digit = await _first_digit(digits, ("1",), self._s.callback_wait_s)
        if digit == "1":
            await self._set_status(h, "callback_requested", h.ctx.queue)
            confirm = await self._prompt(h, "callback", words.callback)
            if confirm is not None:
                await self._play(caller_id, confirm, wait=True)
        if digit is not None or caller_id in h.digits:
            await quietly(self._client.hangup(caller_id), "caller hangup")

    async def _prompt(self, h: _Handover, name: str, text: str) -> str | None:
        if self._synthesize is None or self._s.sounds_dir is None:
            return None
        path = self._s.sounds_dir / f"{h.ctx.context_id}-{name}.wav"
        return await self._voice(h.ctx, text, path)

    # ------------------------------------------------------------------ plumbing

    async def _voice(self, ctx: HandoverContext, text: str, path: Path) -> str | None:
        """Synthesize ``text`` to ``path``; the ``sound:`` media, or None on failure."""
        assert self._synthesize is not None
        try:
            await asyncio.to_thread(self._synthesize, text, ctx.language, path)
        except Exception:
            logger.exception("cannot voice the hand-over text")
            return None
        return f"sound:{self._s.sounds_prefix}/{path.stem}"

    async def _play(self, channel_id: str, media: str, *, wait: bool) -> str:
        """Play ``media``; returns the playback id (to stop it)."""
        playback_id = uuid.uuid4().hex
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._playbacks[playback_id] = done
        self._playing[channel_id] = playback_id  # before the request: aclose() may stop it
        try:
            await self._client.request(_play(channel_id, playback_id, media))
            if wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done, PLAYBACK_WAIT_S)
        except AriHttpError as exc:
            logger.info("playback on %s failed: %s", channel_id, exc)
            self._playing.pop(channel_id, None)
        finally:
            if wait or done.done():
                self._playbacks.pop(playback_id, None)
        return playback_id

    async def _set_status(self, h: _Handover, status: str, detail: str = "") -> None:
        """Also run for the event router (an abandon): the line names its call."""
        h.status = status
        if self._hub is None:
            return
        try:
            await self._hub.update(h.ctx.context_id, status, detail)
        except Exception as exc:
            call_log(logger, h.ctx.call_id).warning(
                "hand-over status %s not recorded: %r", status, exc
            )

    def _forget(self, h: _Handover) -> None:
        self._by_id.pop(h.ctx.context_id, None)
        for channel_id in [c for c, v in self._by_channel.items() if v is h]:
            del self._by_channel[channel_id]
        if h.wav is not None and self._s.sounds_dir is not None:
            for path in self._s.sounds_dir.glob(f"{h.ctx.context_id}*.wav"):
                path.unlink(missing_ok=True)


async def _first_digit(
    digits: asyncio.Queue[str | None], wanted: tuple[str, ...], timeout_s: float
) -> str | None:
    """The first wanted digit; None on timeout or hang-up (other digits are ignored)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                digit = await digits.get()
                if digit is None or digit in wanted:
                    return digit
    except TimeoutError:
        return None


def _play(channel_id: str, playback_id: str, media: str) -> ari_rest.AriRequest:
    """``POST /channels/{id}/play/{playbackId}?media=``: the id is ours, known in advance."""
    path = f"/channels/{path_segment(channel_id)}/play/{path_segment(playback_id)}"
    return ari_rest.AriRequest("POST", path, {"media": media})


def _subscribe(app: str, source: str) -> ari_rest.AriRequest:
    """``POST /applications/{app}/subscription?eventSource=channel:<id>``."""
    return ari_rest.AriRequest(
        "POST", f"/applications/{path_segment(app)}/subscription", {"eventSource": source}
    )
