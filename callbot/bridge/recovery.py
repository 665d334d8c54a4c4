"""No caller stranded: what to do with the Stasis channels and bridges nobody owns.

After ``kill -9`` (or any crash) of callbot, Asterisk keeps every channel that was in
``Stasis(callbot,...)``: the caller hears silence, an agent's phone waits in its screening
subroutine, and the ``callbot-*`` mixing bridges stay. The Stasis app is then inactive, so
new callers fail ``Stasis()`` at once and the dialplan sends them to a human; the stranded
ones are only freed by whoever owns the app next.

So a starting callbot, before it loads its models (seconds that a caller would spend in
silence), lists channels and bridges over ARI REST (no events websocket needed: a channel
in Stasis stays controllable while its app is inactive) and releases each one:

* a caller -> the fallback queue (``[ari] fallback_context``/``fallback_extension``) with
  inheritable variables saying why (``__CALLBOT_MOTIF`` in the call's language, from its
  ``CHANNEL(language)``; ``__CALLBOT_FALLBACK_REASON``, a code), so the agent knows the
  bot was interrupted;
* a bot media leg (chan_websocket or AudioSocket) -> hung up;
* an agent's phone in ``Stasis(callbot,agent,<id>)`` -> continued (``Return()``: bridged
  with its caller, without the summary);
* a caller back from a queue in ``Stasis(callbot,noanswer,...)`` -> continued (the
  dialplan says goodbye);
* a ``callbot-*`` bridge -> destroyed.

The same plan serves the running bridge after an events reconnect
(:meth:`callbot.bridge.stasis.StasisBridge`): there, a caller in Stasis who was never
bridged (its ``StasisStart`` was lost) is adopted instead, as a new call.

:func:`plan` is pure (snapshots in, steps out); :func:`carry_out` does the requests.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from callbot.bridge.ari_client import AriClient, AriHttpError
from callbot.bridge.settings import AriSettings
from callbot.protocols import ari, ari_rest

logger = logging.getLogger(__name__)

BRIDGE_PREFIX = "callbot-"
"""Name prefix of the bridges the Stasis app creates (``callbot-<call id>``)."""
AGENT_ARG = "agent"
"""``Stasis(callbot,agent,<context id>)``: an agent's phone before it is bridged."""
NOANSWER_ARG = "noanswer"
"""``Stasis(callbot,noanswer,<context id>,<QUEUESTATUS>)``: the queue gave up."""

MEDIA_ID = re.compile(r"^(?P<call>.+)-media-(?P<n>\d+)$")
"""The ids the bridge gives media legs (:meth:`~callbot.bridge.call_flow.CallFlow._start_media`)."""

MOTIFS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "restart": "callbot a redémarré pendant l'appel : reprendre la demande depuis le début",
        "shutdown": "callbot s'est arrêté pendant l'appel",
        "bot_unavailable": "callbot indisponible",
        "draining": "callbot en cours d'arrêt : appel non traité par le robot",
        "setup_failed": "callbot n'a pas pu prendre l'appel",
        "transfer_failed": "le transfert prévu par callbot a échoué",
        "capacity": "tous les robots sont occupés : appel non traité par le robot",
        "failed_over": "le robot qui traitait l'appel est tombé : reprendre la demande",
    },
    "en": {
        "restart": "callbot restarted during the call: take the request from the start",
        "shutdown": "callbot stopped during the call",
        "bot_unavailable": "callbot unavailable",
        "draining": "callbot shutting down: the bot did not take the call",
        "setup_failed": "callbot could not take the call",
        "transfer_failed": "the transfer callbot planned failed",
        "capacity": "every bot is busy: the bot did not take the call",
        "failed_over": "the bot handling the call went down: take the request over",
    },
}
"""What the agent reads (``CALLBOT_MOTIF``) for each fallback reason, per language."""
DEFAULT_LANGUAGE = "fr"
"""Whose words a call in another language (or none: ``CHANNEL(language)`` unset) gets."""


class Action(enum.Enum):
    TO_FALLBACK = "to_fallback"
    """A caller: to the fallback queue with the reason (or hung up without a fallback)."""
    ADOPT = "adopt"
    """A caller never bridged to the bot: give it a bot (only once the bot can serve)."""
    HANG_UP_MEDIA = "hang_up_media"
    RELEASE_AGENT = "release_agent"
    RELEASE_NOANSWER = "release_noanswer"
    DESTROY_BRIDGE = "destroy_bridge"


@dataclass(frozen=True, slots=True)
class RecoveryStep:
    """One thing to do about a channel or bridge nobody owns (see :func:`plan`)."""

    action: Action
    target: str
    """Channel or bridge id."""
    channel: ari.Channel | None = None
    mid_call: bool = False
    """The caller was in a ``callbot-*`` bridge: it had been talking to the bot."""


@dataclass(frozen=True, slots=True)
class Recovered:
    """One released caller, for its call record (outcome ``interrupted``)."""

    channel_id: str
    caller_number: str
    to: str
    """``fallback`` (the queue), ``hangup``, or ``failed`` (the request failed)."""
    mid_call: bool


def is_media_leg(channel: ari.Channel, websocket_connections: Iterable[str]) -> bool:
    """A bot leg: ``WebSocket/<connection>/...`` (externalMedia, Dial) or AudioSocket."""
    prefixes = tuple(f"WebSocket/{name}/" for name in websocket_connections)
    # Or a leg the bridge named (``<call id>-media-<n>``), whichever worker it dials.
    return channel.name.startswith((*prefixes, "AudioSocket/")) or bool(MEDIA_ID.match(channel.id))


def plan(
    channels: Sequence[ari.Channel],
    bridges: Sequence[ari.Bridge],
    settings: AriSettings,
    *,
    known: frozenset[str] = frozenset(),
    live_bridges: frozenset[str] = frozenset(),
    serving: bool = False,
) -> list[RecoveryStep]:
    """What to do with every channel of our app and every bridge nobody owns.

    ``known``: channel ids a running bridge owns (left alone); ``live_bridges`` likewise.
    ``serving``: the bot can take calls now (never-bridged callers are adopted, not sent
    to a human).
    """
    app = settings.app
    in_callbot_bridge = {
        channel_id
        for bridge in bridges
        if bridge.name.startswith(BRIDGE_PREFIX)
        for channel_id in bridge.channel_ids
    }
    connections = {settings.websocket_connection, "callbot-direct"}
    steps: list[RecoveryStep] = []
    for channel in channels:
        if channel.id in known or not channel.in_stasis_app(app):
            continue
        role = channel.app_data.split(",")[1:2]
        if is_media_leg(channel, connections):
            steps.append(RecoveryStep(Action.HANG_UP_MEDIA, channel.id, channel))
        elif role == [AGENT_ARG]:
            steps.append(RecoveryStep(Action.RELEASE_AGENT, channel.id, channel))
        elif role == [NOANSWER_ARG]:
            steps.append(RecoveryStep(Action.RELEASE_NOANSWER, channel.id, channel))
        else:
            mid_call = channel.id in in_callbot_bridge
            action = Action.ADOPT if serving and not mid_call else Action.TO_FALLBACK
            steps.append(RecoveryStep(action, channel.id, channel, mid_call=mid_call))
    for bridge in bridges:
        if bridge.name.startswith(BRIDGE_PREFIX) and bridge.id not in live_bridges:
            steps.append(RecoveryStep(Action.DESTROY_BRIDGE, bridge.id))
    return steps


def motif(reason: str, language: str = "") -> str:
    """The agent's words for the fallback ``reason`` in the caller channel's ``language``
    (``fr``, ``en-GB``...); an unknown reason as it is.

    >>> motif("restart", "en")
    'callbot restarted during the call: take the request from the start'
    """
    primary = language.lower().replace("_", "-").split("-")[0]
    return MOTIFS.get(primary, MOTIFS[DEFAULT_LANGUAGE]).get(reason, reason)


def fallback_variables(
    reason: str, settings: AriSettings, call_id: str = "", language: str = ""
) -> dict[str, str]:
    """Inheritable variables a caller sent to the fallback carries to the agent."""
    out = {
        "__CALLBOT_FALLBACK_REASON": reason,
        "__CALLBOT_MOTIF": motif(reason, language),
        "__CALLBOT_QUEUE": settings.fallback_extension,
    }
    if call_id:
        out["__CALLBOT_CALL_ID"] = call_id
    return out


async def send_to_fallback(
    client: AriClient,
    channel_id: str,
    reason: str,
    settings: AriSettings,
    call_id: str = "",
    language: str = "",
) -> str:
    """Continue a caller into the fallback queue with its reason in ``language`` (the
    caller channel's), or hang it up.

    Returns ``fallback`` or ``hangup``; raises :class:`AriHttpError` when the channel is
    gone or the request failed.
    """
    if not settings.fallback_context:
        await client.hangup(channel_id)
        return "hangup"
    for name, value in fallback_variables(reason, settings, call_id, language).items():
        await client.set_variable(channel_id, name, value)
    await client.continue_in_dialplan(
        channel_id,
        context=settings.fallback_context,
        extension=settings.fallback_extension,
        priority=1,
    )
    return "fallback"


ACCEPT_LABEL = "accept"
"""``exten => s,10(accept),Return()`` in ``[callbot-agent-screen]`` (asterisk/extensions.conf)."""


def agent_return(channel: ari.Channel) -> ari_rest.AriRequest:
    """``continue`` an agent's screening subroutine so that it returns (Dial bridges).

    To the ``accept`` label, after a gap in the priorities, never to the next priority:
    the subroutine runs from Dial's ``U()`` on the agent's phone, a channel with no PBX of
    its own, so ``stasis_app_exec`` runs a nested PBX from the priority *before* the
    target. ``continue`` to priority 2 (what an empty ``continue`` does) runs ``Stasis()``
    again; to 3, ``Return()`` inside the nested PBX (``Abnormal 'Gosub(...)' exit``). After
    the gap the nested PBX falls through at once and the subroutine's own loop runs
    ``Return()`` (checked on Asterisk 23, see asterisk/README.md).
    """
    return ari_rest.continue_to_label(
        channel.id,
        context=channel.context or "callbot-agent-screen",
        extension=channel.exten or "s",
        label=ACCEPT_LABEL,
    )


async def carry_out(
    client: AriClient, steps: Sequence[RecoveryStep], settings: AriSettings, reason: str
) -> list[Recovered]:
    """Do the steps (callers first, bridges last); every failure is logged, none raised."""
    recovered: list[Recovered] = []
    for step in sorted(steps, key=lambda s: s.action is Action.DESTROY_BRIDGE):
        try:
            recovered.extend(await _carry_out_one(client, step, settings, reason))
        except AriHttpError as exc:
            if not exc.gone:
                logger.error("recovery: %s %s failed: %s", step.action.value, step.target, exc)
                if step.action is Action.TO_FALLBACK:
                    recovered.append(_recovered(step, "failed"))
    return recovered


async def _carry_out_one(
    client: AriClient, step: RecoveryStep, settings: AriSettings, reason: str
) -> list[Recovered]:
    channel = step.channel
    if step.action is Action.TO_FALLBACK:
        assert channel is not None
        to = await send_to_fallback(
            client, channel.id, reason, settings, call_id=channel.id, language=channel.language
        )
        where = f"{settings.fallback_context},{settings.fallback_extension}"
        logger.warning(
            "recovery: stranded caller %s (%s) sent to %s",
            channel.id,
            "mid-call" if step.mid_call else "not yet served",
            where if to == "fallback" else to,
        )
        return [_recovered(step, to)]
    if step.action is Action.HANG_UP_MEDIA:
        logger.info("recovery: orphan bot leg %s hung up", step.target)
        await client.hangup(step.target)
    elif step.action is Action.RELEASE_AGENT:
        assert channel is not None
        logger.info("recovery: agent leg %s bridged without screening", step.target)
        await client.request(agent_return(channel))
    elif step.action is Action.RELEASE_NOANSWER:
        logger.info("recovery: caller %s back from a queue released", step.target)
        await client.request(ari_rest.continue_next(step.target))
    elif step.action is Action.DESTROY_BRIDGE:
        logger.info("recovery: orphan bridge %s destroyed", step.target)
        await client.destroy_bridge(step.target)
    return []


def _recovered(step: RecoveryStep, to: str) -> Recovered:
    channel = step.channel
    assert channel is not None
    return Recovered(channel.id, channel.caller_number, to, step.mid_call)


async def recover_stranded(client: AriClient, settings: AriSettings) -> list[Recovered]:
    """Start-up sweep over REST (before the Stasis app is registered again).

    Raises :class:`~callbot.errors.AriError` when ARI cannot be reached.
    """
    channels = await client.list_channels()
    bridges = await client.list_bridges()
    steps = plan(channels, bridges, settings)
    if not steps:
        logger.info("recovery: no stranded channel or bridge in Asterisk")
        return []
    return await carry_out(client, steps, settings, "restart")
