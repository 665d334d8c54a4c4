"""Where the Stasis app sends each call's media when workers serve the calls.

``callbot serve`` has none: every call's media goes to ``ari.websocket_connection`` /
``ari.audiosocket_host`` (this process). The control role (:mod:`callbot.app.control`)
gives the bridge a :class:`Placement` backed by the cluster's shared state.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from callbot.cluster.placement import MediaTarget
from callbot.protocols import ari

MAX_MOVES = 2
"""A call whose worker failed this many times goes to a human instead of a third one."""


class Placement(Protocol):
    def choose(self, call_id: str, exclude: Collection[str] = ()) -> MediaTarget | None:
        """The worker for this call's media; None when none can take it (all full)."""
        ...

    def placed(self, call_id: str, target: MediaTarget) -> None:
        """The call's media leg was requested on ``target``."""
        ...

    def adopted(self, call_id: str, media: ari.Channel) -> str | None:
        """A call found in progress at takeover: the worker its media leg goes to."""
        ...

    def released(self, call_id: str) -> None:
        """The call no longer has a media leg on the worker it was placed on."""
        ...

    async def bot_ended(self, call_id: str) -> bool:
        """Whether the call's worker said the bot ends the call (else a dropped media leg
        is the worker failing)."""
        ...

    def failed_over(self, call_id: str, caller_number: str, node: str, to: str) -> None:
        """``node`` lost the call; ``to``: ``worker`` (moved), ``fallback`` or ``hangup``."""
        ...
