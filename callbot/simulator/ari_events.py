"""The simulated ARI events websocket, ``GET /ari/events?app=a[,b]`` (``res/ari/ari_websockets.c``).

One websocket registers one or more Stasis applications; a second websocket registering
the same application takes it over, and the first gets ``ApplicationReplaced``. Each event
is one text message, ``{"type", "timestamp", ..., "asterisk_id", "application"}``, sent
in the order it happened; an event for an application no websocket registered is dropped,
as Asterisk drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from callbot.simulator.ari_model import AriFailure, now_iso


class EventStream:
    """The registered applications and their websockets (an
    :class:`~callbot.simulator.ari_model.EventSink`)."""

    def __init__(self, asterisk_id: str = "02:42:ac:11:00:02") -> None:
        self.asterisk_id = asterisk_id
        self.log: list[dict[str, Any]] = []
        """Every event sent to an application, in order."""
        self._sessions: dict[str, WebSocket] = {}
        self._outboxes: dict[int, asyncio.Queue[str | None]] = {}

    @property
    def apps(self) -> tuple[str, ...]:
        return tuple(self._sessions)

    def emit(self, app: str | None, kind: str, **fields: Any) -> None:
        ws = self._sessions.get(app) if app else None
        if ws is None:
            return  # no websocket for the app: Asterisk drops the event
        message = {"type": kind, "timestamp": now_iso(), **fields}
        message.update(asterisk_id=self.asterisk_id, application=app)
        self.log.append(message)
        self._outboxes[id(ws)].put_nowait(json.dumps(message))

    def send_raw(self, app: str, text: str) -> None:
        """Send ``text`` as it is to ``app``'s websocket (a malformed event, for tests)."""
        self._outboxes[id(self._sessions[app])].put_nowait(text)

    async def endpoint(self, ws: WebSocket) -> None:
        """``/ari/events``: 400 without ``app``; then events until either side closes."""
        apps = [a for a in ws.query_params.get("app", "").split(",") if a]
        if not apps:
            raise AriFailure(400, "HTTP request is missing param: [app]")
        await ws.accept()
        outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._outboxes[id(ws)] = outbox
        for app in apps:
            if app in self._sessions:
                self.emit(app, "ApplicationReplaced")
            self._sessions[app] = ws
        writer = asyncio.create_task(_write(ws, outbox))
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass  # the app sends nothing Asterisk acts on
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._outboxes.pop(id(ws), None)
            for app in apps:
                if self._sessions.get(app) is ws:
                    del self._sessions[app]

    async def close(self) -> None:
        """Close every events websocket (1001); events not yet sent are dropped."""
        for outbox in self._outboxes.values():
            outbox.put_nowait(None)
        for ws in dict.fromkeys(self._sessions.values()):  # one socket may hold several apps
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await ws.close(code=1001, reason="shutdown")
        self._sessions.clear()


async def _write(ws: WebSocket, outbox: asyncio.Queue[str | None]) -> None:
    while (text := await outbox.get()) is not None:
        try:
            await ws.send_text(text)
        except (RuntimeError, WebSocketDisconnect):
            return  # closed under us: the reader ends the session
