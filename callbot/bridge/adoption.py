"""Calls a new control leader finds in progress: adopted as they are, not restarted.

When the control leader dies, its calls go on: the caller and the worker's media leg
stay in the ``callbot-<call id>`` mixing bridge and keep talking. The standby that takes
the lead lists channels and bridges and adopts every such call (caller + one live media
leg of ours in the bridge) before the stranded-channel plan of
:mod:`callbot.bridge.recovery` runs, so nobody is sent to a queue or greeted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from callbot.bridge.recovery import BRIDGE_PREFIX, MEDIA_ID
from callbot.protocols import ari


@dataclass(frozen=True, slots=True)
class LiveCall:
    call_id: str
    bridge_id: str
    caller: ari.Channel
    media: ari.Channel
    attempts: int
    """The media leg's number (the next one gets a higher one)."""


def live_calls(
    channels: Iterable[ari.Channel], bridges: Iterable[ari.Bridge], app: str
) -> Iterator[LiveCall]:
    """Calls with their caller and exactly one media leg of ours in their bridge."""
    by_id = {c.id: c for c in channels if c.in_stasis_app(app)}
    for bridge in bridges:
        if not bridge.name.startswith(BRIDGE_PREFIX):
            continue
        call_id = bridge.name[len(BRIDGE_PREFIX) :]
        members = [by_id[c] for c in bridge.channel_ids if c in by_id]
        media = [
            (c, m)
            for c in members
            if (m := MEDIA_ID.match(c.id)) is not None and m["call"] == call_id
        ]
        callers = [c for c in members if MEDIA_ID.match(c.id) is None]
        if len(media) == 1 and len(callers) == 1:
            channel, match = media[0]
            yield LiveCall(call_id, bridge.id, callers[0], channel, int(match["n"]))
