"""The control plane: the ``callbot`` Stasis application driving Asterisk over ARI.

:class:`~callbot.bridge.ari_client.AriClient` talks ARI (REST + reconnecting events);
:class:`~callbot.bridge.stasis.StasisBridge` answers callers, attaches a bot media leg
(chan_websocket or AudioSocket externalMedia), bridges them, transfers to human queues and
never leaves a channel stranded. Not needed in the ``Dial(WebSocket/...)`` mode, where the
dialplan alone connects calls to the media server.
"""

from callbot.bridge.ari_client import AriClient, AriHttpError, EventsConnected
from callbot.bridge.calls import CallLegs, CallRegistry
from callbot.bridge.settings import AriSettings, MediaTransport
from callbot.bridge.stasis import StasisBridge

__all__ = [
    "AriClient",
    "AriHttpError",
    "AriSettings",
    "CallLegs",
    "CallRegistry",
    "EventsConnected",
    "MediaTransport",
    "StasisBridge",
]
