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

from callbot.config import Settings
from callbot.dialplan.backoffice import BackOffice
from callbot.dialplan.store import DialplanStore, LoadedDialplan
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.chan_websocket_edge import ChanWebsocketSettings
from callbot.pipeline.call import CallRunner, CallServices
from callbot.pipeline.control import CallControl, NoCallControl
from callbot.speech.asr import WhisperAsr
from callbot.speech.voices import VoiceLibrary
from callbot.web.app import WebContext, create_app
from callbot.web.serving import RunningServer, serve_app

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
        engines = cls(asr, VoiceLibrary(settings.tts, settings.voices_dir), dialplans)
        engines.prepare(dialplans.current())
        return engines

    def prepare(self, loaded: LoadedDialplan) -> None:
        """Load the voice of a (new) dialplan and synthesize its fixed prompts (blocking)."""
        plan = loaded.dialplan
        self.voices.prepare(plan.language, plan.voice, loaded.fixed_prompts)


@dataclass
class Callbot:
    """A running callbot: HTTP (softphone, /media websocket), AudioSocket, optional ARI."""

    settings: Settings
    engines: Engines
    runner: CallRunner
    web: WebContext
    http: RunningServer
    audiosocket: AudioSocketServer | None
    audiosocket_port: int | None
    backoffice: BackOffice
    dialplan_watch: asyncio.Task[None] | None
    records: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    @property
    def http_port(self) -> int:
        return self.http.port

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

        authorization = settings.backoffice.authorization
        backoffice = BackOffice(headers={"Authorization": authorization} if authorization else None)
        services = CallServices(
            asr=engines.asr,
            synthesizer_for=engines.voices.synthesizer,
            dialplans=engines.dialplans,
            vad=settings.vad,
            call=settings.call,
            control=control or NoCallControl(),
            backoffice=backoffice,
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
        http = await serve_app(
            create_app(web),
            settings.server.host,
            settings.server.port,
            ws="websockets-sansio",
            ws_max_size=WS_MAX_MESSAGE_BYTES,
        )
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
            http.port,
            audiosocket_port or "off",
        )
        watcher = (
            asyncio.create_task(
                engines.dialplans.watch(settings.dialplan_reload_s, on_reload=engines.prepare),
                name="dialplan-watch",
            )
            if settings.dialplan_reload_s > 0
            else None
        )
        return cls(
            settings,
            engines,
            runner,
            web,
            http,
            audiosocket,
            audiosocket_port,
            backoffice,
            watcher,
            records,
        )

    async def stop(self) -> None:
        if self.dialplan_watch is not None:
            self.dialplan_watch.cancel()
        if self.audiosocket is not None:
            await self.audiosocket.stop()
        await self.http.stop()
        await self.backoffice.aclose()


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
