"""The ``[ari]`` settings: the one model for the ARI client, the Stasis app and transfers.

Read once at start-up (``callbot.config``) and passed as is to
:class:`~callbot.bridge.ari_client.AriClient`,
:class:`~callbot.bridge.stasis.StasisBridge` and
:class:`~callbot.bridge.control.AriCallControl`: no copies, no drifting defaults.
The defaults match the shipped ``asterisk/*.conf`` files.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from callbot.errors import ConfigError


class MediaTransport(enum.Enum):
    WEBSOCKET = "websocket"
    """chan_websocket (Asterisk 20.16+/22.6+/23): Asterisk dials the media server."""
    AUDIOSOCKET = "audiosocket"
    """AudioSocket channel driver (Asterisk 18+): Asterisk connects over TCP."""


@dataclass(frozen=True, slots=True)
class AriSettings:
    """The ARI bridge (Stasis app); defaults match ``asterisk/*.conf``."""

    url: str | None = None
    """ARI base URL, e.g. ``http://127.0.0.1:8088/ari`` (``/ari`` is added if missing).
    None: no ARI (embedded mode)."""
    username: str = "callbot"
    """An ari.conf user (``type = user``)."""
    password: str | None = field(default=None, repr=False)
    app: str = "callbot"
    """Stasis application name, as in ``Stasis(callbot,...)``."""
    media_transport: str = "websocket"
    """``websocket`` (chan_websocket, Asterisk 20.16+/22.6+/23) or ``audiosocket``."""
    websocket_connection: str = "callbot"
    """Section of ``websocket_client.conf`` pointing at callbot's ``/media`` (ARI mode only;
    the ``Dial(WebSocket/...)`` mode has its own connection, ``callbot-direct``)."""
    media_format: str = "slin16"
    """Media leg format: ``slin16`` or ``ulaw``."""
    transport_data: str = "f(json)"
    """chan_websocket dial options (``f(json)`` needs 20.18+/22.8+/23.2+; else empty)."""
    audiosocket_host: str = "127.0.0.1:9092"
    """Where Asterisk reaches callbot's AudioSocket server (audiosocket transport)."""
    queue_context: str = "callbot-queues"
    """Dialplan context of the human queues; the extension is the queue name."""
    fallback_context: str | None = "callbot-queues"
    """Where callers go when the bot cannot take them (shutdown, bot down, crash recovery).
    None: hang up."""
    fallback_extension: str = "accueil"
    """Extension in the fallback context (``CALLBOT_FALLBACK_QUEUE`` in extensions.conf)."""
    reattach_lost_calls: bool = True
    """After an ARI outage, give a new bot leg to callers whose leg vanished (else send them
    to the fallback)."""
    media_start_timeout_s: float = 10.0
    """How long the bot leg may take to connect before the caller goes to the fallback."""
    request_timeout_s: float = 5.0
    reconnect_initial_delay_s: float = 0.5
    reconnect_max_delay_s: float = 30.0
    """Upper bound of the reconnect backoff (jitter included)."""
    api_key_auth: bool = False
    """Authenticate the events websocket with ``?api_key=user:pass`` instead of Basic auth."""
    shutdown_timeout_s: float = 5.0
    """At stop, how long sending the remaining callers to the fallback may take."""
    startup_timeout_s: float = 10.0
    """At start-up, how long to wait for ARI to recover stranded callers before going on
    (the recovery keeps retrying in the background)."""
    context_url_base: str | None = None
    """Public base URL of the agent console's context pages, put in ``__CALLBOT_CONTEXT_URL``
    (e.g. ``http://callbot.example:8080/agent/context``)."""
    sounds_dir: Path | None = None
    """A directory Asterisk reads sounds from (e.g. /var/lib/asterisk/sounds/callbot): the
    summary the agent hears before taking the call is written there. None: no screening."""
    sounds_prefix: str = "callbot"
    """``sounds_dir`` as Asterisk names it under its sounds directory."""
    queue_timeout_s: int = 120
    """A caller still unanswered in the queue after this gets the callback offer."""
    agent_accept_timeout_s: float = 20.0
    """How long an agent has to press 1 after the summary starts."""
    callback_wait_s: float = 10.0
    """How long the caller has to press 1 (callback) after the no-answer prompt starts."""

    @property
    def base_url(self) -> str:
        """The ARI URL ending in ``/ari``."""
        if not self.url:
            raise ConfigError("ari.url is not set")
        url = self.url.rstrip("/")
        return url if url.endswith("/ari") else url + "/ari"

    @property
    def transport(self) -> MediaTransport:
        try:
            return MediaTransport(self.media_transport)
        except ValueError:
            raise ConfigError(
                "ari.media_transport: expected websocket or audiosocket, "
                f"got {self.media_transport!r}"
            ) from None
