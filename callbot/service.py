"""Assembles a running callbot from settings: shared models, call runner, servers.

Models load once, off the event loop, before the first call is accepted; every
call then shares them (see :mod:`callbot.speech`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from callbot.config import Settings
from callbot.dialplan.store import DialplanStore
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.pipeline.call import CallRunner, CallServices
from callbot.pipeline.control import CallControl, NoCallControl
from callbot.speech.asr import WhisperAsr
from callbot.speech.voices import VoiceLibrary
from callbot.web.app import WebContext, create_app

logger = logging.getLogger(__name__)

WS_MAX_MESSAGE_BYTES = 128 * 1024
"""Largest websocket message callbot accepts (Asterisk sends 20 ms frames and short text)."""


@dataclass
class Engines:
    """The process-wide models, loaded once."""

    asr: WhisperAsr
    voices: VoiceLibrary
    dialplans: DialplanStore

    @classmethod
    def load(cls, settings: Settings) -> Engines:
        """Blocking: loads Whisper, the dialplan and its voice, and warms them up."""
        dialplans = DialplanStore.load(settings.dialplan)
        asr = WhisperAsr.load(settings.asr)
        asr.warm_up()
        voices = VoiceLibrary(settings.tts, settings.voices_dir)
        dialplan = dialplans.current().dialplan
        voices.prepare(dialplan.language, dialplan.voice, dialplans.current().fixed_prompts)
        return cls(asr, voices, dialplans)


@dataclass
class Callbot:
    """A running callbot: HTTP (softphone, /media websocket), AudioSocket, optional ARI."""

    settings: Settings
    engines: Engines
    runner: CallRunner
    web: WebContext
    http_server: uvicorn.Server
    http_task: asyncio.Task[None]
    audiosocket: AudioSocketServer | None
    http_port: int
    audiosocket_port: int | None
    records: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    @property
    def http_url(self) -> str:
        return f"http://{_url_host(self.settings.server.host)}:{self.http_port}"

    @property
    def media_url(self) -> str:
        return f"ws://{_url_host(self.settings.server.host)}:{self.http_port}/media"

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        engines: Engines | None = None,
        control: CallControl | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ) -> Callbot:
        if engines is None:
            engines = await asyncio.to_thread(Engines.load, settings)
        records: deque[dict[str, Any]] = deque(maxlen=200)

        def keep(record: dict[str, Any]) -> None:
            records.append(record)
            if on_record is not None:
                on_record(record)

        services = CallServices(
            asr=engines.asr,
            synthesizer_for=engines.voices.synthesizer,
            dialplans=engines.dialplans,
            vad=settings.vad,
            call=settings.call,
            control=control or NoCallControl(),
        )
        runner = CallRunner(services, on_record=keep)
        server = settings.server
        media = ChanWebsocketSettings(
            username=server.media_username, password=server.media_password
        )
        web = WebContext(
            handler=runner,
            media=media,
            softphone=server.softphone,
            active_calls=lambda: runner.active_calls,
            records=records,
            info={
                "dialplan": engines.dialplans.current().name,
                "asr": f"whisper {engines.asr.device}/{engines.asr.compute_type}",
            },
        )
        http_server, http_task, http_port = await _serve_http(web, settings)
        audiosocket = None
        audiosocket_port = None
        if server.audiosocket:
            audiosocket = AudioSocketServer(
                runner, AudioSocketSettings(host=server.host, port=server.audiosocket_port)
            )
            _, audiosocket_port = await audiosocket.start()
        logger.info(
            "callbot ready: http://%s:%d (media /media), audiosocket %s",
            server.host,
            http_port,
            audiosocket_port or "off",
        )
        return cls(
            settings,
            engines,
            runner,
            web,
            http_server,
            http_task,
            audiosocket,
            http_port,
            audiosocket_port,
            records,
        )

    async def stop(self) -> None:
        if self.audiosocket is not None:
            await self.audiosocket.stop()
        self.http_server.should_exit = True
        try:
            await asyncio.wait_for(self.http_task, 10.0)
        except TimeoutError:
            self.http_task.cancel()


async def _serve_http(
    web: WebContext, settings: Settings
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    config = uvicorn.Config(
        create_app(web),
        host=settings.server.host,
        port=settings.server.port,
        ws="websockets-sansio",
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="http")
    while not server.started:
        if task.done():
            await task  # raises the start-up error (port in use...)
            raise RuntimeError("HTTP server stopped during start-up")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
