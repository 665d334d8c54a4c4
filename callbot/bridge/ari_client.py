"""The asyncio edge of ARI: REST over httpx, events over a websocket that reconnects.

Everything about the protocol itself (paths, parameters, event shapes) lives in
:mod:`callbot.protocols.ari_rest` and :mod:`callbot.protocols.ari`; this module only
moves requests and messages.

Secrets: the password goes into the ``Authorization`` header only (or the ``api_key``
query parameter if asked). It is never logged; the websocket library's handshake
debug log, which prints every header, is switched off for this connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from callbot.bridge.settings import AriSettings
from callbot.errors import AriError
from callbot.protocols import ari, ari_rest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EventsConnected:
    """Marker the event stream yields each time the websocket (re)connects."""

    reconnected: bool
    """False on the first connection; True after an outage (events may have been missed)."""


class AriHttpError(AriError):
    """A REST call failed: HTTP status (None when Asterisk was unreachable) and body."""

    def __init__(self, method: str, path: str, status_code: int | None, body: str) -> None:
        super().__init__(f"ARI {method} {path} failed: {status_code or 'unreachable'} {body}")
        self.method = method
        self.path = path
        self.status_code = status_code
        self.body = body

    @property
    def gone(self) -> bool:
        """The channel or bridge no longer exists (or left Stasis): fine during cleanup."""
        return self.status_code in (404, 409, 422) or (
            self.status_code == 400 and "not found" in self.body.lower()
        )


def backoff_delay_s(attempt: int, *, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": in ``[d/2, d]``, ``d = min(max, initial*2^n)``.

    Jitter spreads the reconnects of several callbot instances after an Asterisk restart.
    """
    ceiling = min(max_s, initial_s * (2 ** min(attempt, 30)))
    return rng.uniform(ceiling / 2, ceiling)


class _NoDebugLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hides websockets' DEBUG handshake log, which would print the Authorization header."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


class AriClient:
    """ARI REST calls and the reconnecting event stream of one Stasis application."""

    def __init__(self, settings: AriSettings, *, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            auth=(settings.username, settings.password or ""),
            timeout=settings.request_timeout_s,
        )
        self._connected = False
        self._closed = asyncio.Event()

    @property
    def settings(self) -> AriSettings:
        return self._settings

    @property
    def connected(self) -> bool:
        """True while the events websocket is open."""
        return self._connected

    async def close(self) -> None:
        """Stop the event stream and release HTTP connections."""
        self._closed.set()
        await self._http.aclose()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ REST

    async def request(self, req: ari_rest.AriRequest) -> Any:
        """Send one request; returns the decoded JSON (None for ``204``)."""
        try:
            resp = await self._http.request(
                req.method, req.path, params=dict(req.params), json=req.json_body
            )
        except httpx.HTTPError as exc:
            raise AriHttpError(req.method, req.path, None, type(exc).__name__) from None
        if resp.status_code >= 300:
            raise AriHttpError(req.method, req.path, resp.status_code, resp.text[:500])
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise AriHttpError(req.method, req.path, resp.status_code, "invalid JSON") from None

    async def list_channels(self) -> list[ari.Channel]:
        return ari_rest.parse_channel_list(await self.request(ari_rest.list_channels()))

    async def get_channel(self, channel_id: str) -> ari.Channel:
        return ari.parse_channel(await self.request(ari_rest.get_channel(channel_id)))

    async def answer(self, channel_id: str) -> None:
        await self.request(ari_rest.answer(channel_id))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request(ari_rest.hangup(channel_id, reason))

    async def continue_in_dialplan(
        self, channel_id: str, *, context: str, extension: str = "s", priority: int = 1
    ) -> None:
        req = ari_rest.continue_in_dialplan(
            channel_id, context=context, extension=extension, priority=priority
        )
        await self.request(req)

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.request(ari_rest.set_variable(channel_id, variable, value))

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self.request(ari_rest.start_moh(channel_id, moh_class))

    async def stop_moh(self, channel_id: str) -> None:
        await self.request(ari_rest.stop_moh(channel_id))

    async def create_bridge(self, bridge_id: str, *, name: str = "") -> ari.Bridge:
        return ari.parse_bridge(await self.request(ari_rest.create_bridge(bridge_id, name=name)))

    async def list_bridges(self) -> list[ari.Bridge]:
        return ari_rest.parse_bridge_list(await self.request(ari_rest.list_bridges()))

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request(ari_rest.destroy_bridge(bridge_id))

    async def add_channel(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        await self.request(ari_rest.add_channel(bridge_id, channel_ids))

    async def remove_channel(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        await self.request(ari_rest.remove_channel(bridge_id, channel_ids))

    async def external_media(self, **kwargs: Any) -> ari.Channel:
        """See :func:`callbot.protocols.ari_rest.external_media` for the parameters."""
        return ari.parse_channel(await self.request(ari_rest.external_media(**kwargs)))

    # ------------------------------------------------------------------ events

    def events_url(self) -> str:
        """``ws(s)://host:port/ari/events?app=...`` (with api_key only if configured)."""
        parts = urlsplit(self._settings.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query: dict[str, str] = ari_rest.events_params(self._settings.app)
        if self._settings.api_key_auth:
            query["api_key"] = f"{self._settings.username}:{self._settings.password or ''}"
        return urlunsplit((scheme, parts.netloc, parts.path + "/events", urlencode(query), ""))

    def _auth_headers(self) -> Mapping[str, str]:
        if self._settings.api_key_auth:
            return {}
        token = f"{self._settings.username}:{self._settings.password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode("ascii")}

    async def events(self) -> AsyncGenerator[ari.AriEvent | EventsConnected, None]:
        """Yield events forever, reconnecting with bounded exponential backoff and jitter.

        Yields :class:`EventsConnected` after every successful (re)connection, so the
        consumer can reconcile state after an outage. Malformed messages are logged and
        skipped. Ends only when :meth:`close` is called or the consumer stops iterating.
        """
        attempt = 0
        ever_connected = False
        ws_logger = _NoDebugLogger(logging.getLogger(__name__ + ".events"), {})
        while not self._closed.is_set():
            try:
                async with connect(
                    self.events_url(),
                    additional_headers=self._auth_headers(),
                    open_timeout=self._settings.request_timeout_s,
                    logger=ws_logger,
                    max_size=2**22,
                ) as ws:
                    self._connected = True
                    logger.info("ARI events connected (app=%s)", self._settings.app)
                    attempt = 0
                    yield EventsConnected(reconnected=ever_connected)
                    ever_connected = True
                    async for message in ws:
                        try:
                            yield ari.parse_event(message)
                        except AriError as exc:
                            logger.warning("skipping ARI event: %s", exc)
            except InvalidStatus as exc:
                status = exc.response.status_code
                level = logging.ERROR if status in (401, 403) else logging.WARNING
                logger.log(level, "ARI events refused: HTTP %s", status)
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
                logger.warning("ARI events connection lost: %s", type(exc).__name__)
            finally:
                self._connected = False
            if self._closed.is_set():
                break
            delay_s = backoff_delay_s(
                attempt,
                initial_s=self._settings.reconnect_initial_delay_s,
                max_s=self._settings.reconnect_max_delay_s,
                rng=self._rng,
            )
            attempt += 1
            logger.info("ARI events reconnect in %.2f s (attempt %d)", delay_s, attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay_s)
