"""One call, start to end: builds its pipeline, feeds it the line, keeps its record.

The shared, process-wide parts (Whisper, the voice, the dialplan store) come in
through :class:`CallServices`; everything per call is built here and dropped when
the call ends. A failure anywhere in one call's pipeline ends that call the
polite way (apology, then transfer or hang-up) and never touches another call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import InputAudioRawFrame, InputDTMFFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.dialplan import DialogEngine, Hangup, Say, Transfer
from callbot.dialplan.store import DialplanStore
from callbot.handover.build import build_context
from callbot.logs import bind_call_id
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallInfo,
    InboundEvent,
    MarkPlayed,
    MediaSink,
)
from callbot.pipeline.control import CallControl, NoCallControl
from callbot.pipeline.dialog import DialogProcessor, HookClient
from callbot.pipeline.frames import CallerGoneFrame, MarkPlayedFrame
from callbot.pipeline.journal import CallJournal
from callbot.pipeline.output import LineOutput
from callbot.pipeline.settings import CallSettings
from callbot.pipeline.speech import SpeechProcessor
from callbot.pipeline.transcription import TranscriptionProcessor
from callbot.pipeline.turns import TurnProcessor
from callbot.speech.asr import WhisperAsr
from callbot.speech.tts import Synthesizer
from callbot.speech.vad import VadSettings

logger = logging.getLogger(__name__)

SHUTDOWN_REASON = {
    "fr": "callbot s'est arrêté pendant l'appel, reprendre la demande",
    "en": "callbot stopped during the call, take the request over",
}
"""The transfer reason (``CALLBOT_MOTIF``) of a caller handed over at shutdown."""

CallRecordSink = Callable[[dict[str, Any], CallInfo], None]
"""Gets each finished call's record (and its CallInfo: the caller number stays out of
the record itself)."""
CallProgressSink = Callable[[dict[str, Any], CallInfo], None]
"""Gets a call's record while it goes on (outcome ``in_progress``): as it starts, then
each time a turn is complete, so that a crash loses at most the turn in progress."""


@dataclass(frozen=True, slots=True)
class CallServices:
    """Everything shared by all calls of a process."""

    asr: WhisperAsr
    synthesizer_for: Callable[[str, str | None], Synthesizer]
    """(language, voice name) -> the shared synthesizer for it."""
    dialplans: DialplanStore
    vad: VadSettings
    call: CallSettings
    control: CallControl = field(default_factory=NoCallControl)
    backoffice: HookClient | None = None
    """Client for the dialplans' back-office look-ups (None: their fallback is said)."""


class CallRunner:
    """The :data:`~callbot.media.types.CallHandler` every media edge calls."""

    def __init__(
        self,
        services: CallServices,
        on_record: CallRecordSink | None = None,
        on_progress: CallProgressSink | None = None,
    ):
        self.services = services
        self.on_record = on_record
        self.on_progress = on_progress
        self.active_calls = 0
        self.sessions: dict[int, CallSession] = {}
        """Calls in progress (keyed by object id: a call id may repeat on bad input)."""
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self, info: CallInfo, inbound: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        bind_call_id(info.call_id)
        self.active_calls += 1
        session = CallSession(self.services, info, inbound, sink)
        self.sessions[id(session)] = session
        self._idle.clear()
        journal = session.journal
        journal.on_turn_done = lambda: self._progress(journal, info)
        self._progress(journal, info)  # the record exists from the call's first second
        try:
            await session.run()
        finally:
            self.active_calls -= 1
            self.sessions.pop(id(session), None)
            if not self.sessions:
                self._idle.set()
            journal.on_turn_done = None
            record = journal.snapshot()
            logger.info(
                "call %s ended: %s (%s), %d turns",
                info.call_id,
                record["outcome"],
                record["outcome_detail"],
                len(record["turns"]),
            )
            if self.on_record is not None:
                self.on_record(record, info)

    def _progress(self, journal: CallJournal, info: CallInfo) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(journal.snapshot(), info)
        except Exception:  # a record that cannot be written must not touch the call
            logger.exception("call %s: in-progress record not handed over", info.call_id)

    async def drain(self, timeout_s: float, *, hurry: asyncio.Event | None = None) -> int:
        """Shutdown: let calls in progress end by themselves for up to ``timeout_s`` (or
        until ``hurry`` is set), then hand each remaining caller to a human with the call's
        context (outcome ``transferred_on_shutdown``; without call control the caller hears
        an apology: ``ended_on_shutdown``). Returns how many calls were handed over."""
        waits = [asyncio.create_task(self._idle.wait())]
        if hurry is not None:
            waits.append(asyncio.create_task(hurry.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        remaining = list(self.sessions.values())
        if not remaining:
            return 0
        logger.warning("shutdown: handing %d call(s) in progress to a human", len(remaining))
        for session in remaining:
            session.shut_down()
        await self._idle.wait()
        return len(remaining)


class CallSession:
    def __init__(
        self,
        services: CallServices,
        info: CallInfo,
        inbound: asyncio.Queue[InboundEvent],
        sink: MediaSink,
    ) -> None:
        self.services = services
        self.info = info
        self.inbound = inbound
        self.sink = sink
        loaded = services.dialplans.current()
        self.dialplan = loaded.dialplan
        self.dialplan_path = loaded.path
        self.engine = DialogEngine(self.dialplan, _call_variables(info))
        self.synthesizer = services.synthesizer_for(self.dialplan.language, self.dialplan.voice)
        self.journal = CallJournal(
            info, dialplan=loaded.name, dialplan_version=loaded.version, voice=self.synthesizer.name
        )
        self.finished = asyncio.Event()
        self.failure: str | None = None
        self._caller_gone = False
        self._ended_by = "caller"
        self._line_reason = ""
        self._shutting_down = False
        self._mark_waiters: dict[str, asyncio.Event] = {}

    def _build_worker(self) -> PipelineWorker:
        call = self.services.call
        pipeline = Pipeline(
            [
                TurnProcessor(self.services.vad, barge_in=call.barge_in),
                TranscriptionProcessor(
                    self.services.asr,
                    language=_asr_language(self.dialplan.language),
                    call_id=self.info.call_id,
                ),
                DialogProcessor(
                    self.engine,
                    self.journal,
                    no_input_timeout_s=call.no_input_timeout_s,
                    backoffice=self.services.backoffice,
                    audio_dir=self.dialplan_path.parent,
                ),
                SpeechProcessor(self.synthesizer),
                LineOutput(
                    self.sink,
                    self.services.control,
                    self.journal,
                    self.finished,
                    language=self.dialplan.language,
                    intent_labels={i.id: i.spoken_label for i in self.dialplan.intents},
                ),
            ]
        )
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=PIPELINE_RATE_HZ,
                audio_out_sample_rate=self.info.media_format.sample_rate_hz,
            ),
            enable_rtvi=False,
            enable_turn_tracking=False,
            idle_timeout_secs=None,
            cancel_on_idle_timeout=False,
            check_dangling_tasks=False,
            name=f"call-{self.info.call_id}",
        )

        @worker.event_handler("on_pipeline_error")  # type: ignore[untyped-decorator]
        async def _on_error(_worker: PipelineWorker, frame: Any) -> None:
            self._fail(f"pipeline error: {frame.error}")

        return worker

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            logger.error("call %s: %s", self.info.call_id, reason)
            self.failure = reason
            self.journal.errors.append(reason)
            self.finished.set()

    async def run(self) -> None:
        worker = self._build_worker()
        runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
        await runner.add_workers(worker)
        running = asyncio.create_task(runner.run(), name=f"pipeline-{self.info.call_id}")
        try:
            await self._pump(worker)
        except Exception as exc:
            logger.exception("call %s: unexpected error", self.info.call_id)
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            await _stop(worker, running)
        if self._shutting_down and not self._caller_gone:
            await self._hand_over("transferred_on_shutdown", "callbot stopping")
        elif self.failure is not None and not self._caller_gone:
            await self._hand_over("transferred", f"failure: {self.failure}")
        if self._caller_gone:
            line = self._ended_by
            outcome = "hung_up_by_caller" if line == "caller" else "failed"
            self.journal.finish(outcome, self._line_reason, by=line)
        self.journal.finish("failed" if self.failure else "answered", self.failure or "", by="bot")

    @property
    def _english(self) -> bool:
        return self.dialplan.language.lower().startswith("en")

    def shut_down(self) -> None:
        """The process is stopping: end this call now, handing the caller to a human."""
        if not self.finished.is_set():
            self._shutting_down = True
            self.finished.set()

    async def _pump(self, worker: PipelineWorker) -> None:
        """Feed the line's events into the pipeline until the call is over."""
        gap_s = self.services.call.gap_fill_ms / 1000.0
        deadline = time.monotonic() + self.services.call.max_call_s
        last_audio = time.monotonic()
        while not self.finished.is_set():
            if time.monotonic() > deadline:
                self._fail("maximum call duration reached")
                return
            try:
                event = await asyncio.wait_for(self.inbound.get(), gap_s)
            except TimeoutError:
                # Nothing from the line (silence suppression): time still passes for the VAD.
                missing = int((time.monotonic() - last_audio) * PIPELINE_RATE_HZ)
                last_audio = time.monotonic()
                await worker.queue_frame(_audio_frame(np.zeros(missing, dtype=np.int16)))
                continue
            if isinstance(event, CallerAudio):
                last_audio = time.monotonic()
                await worker.queue_frame(_audio_frame(event.pcm))
            elif isinstance(event, CallerDtmf):
                await self._on_dtmf(worker, event.digit)
            elif isinstance(event, MarkPlayed):
                await worker.queue_frame(MarkPlayedFrame(mark_id=event.mark_id))
            elif isinstance(event, CallEnded):
                logger.info("call %s: line ended (%s)", self.info.call_id, event.reason)
                self._caller_gone = True
                self._ended_by, self._line_reason = event.by, event.reason
                await worker.queue_frame(CallerGoneFrame(reason=event.reason))
                return

    async def _on_dtmf(self, worker: PipelineWorker, digit: str) -> None:
        try:
            button = KeypadEntry(digit)
        except ValueError:
            logger.info("call %s: ignoring DTMF %r", self.info.call_id, digit)
            return
        await worker.queue_frame(InputDTMFFrame(button=button))

    async def _hand_over(self, outcome: str, detail: str) -> None:
        """Bypassing the (stopped or broken) pipeline: apologise, then hand the caller to a
        human with the call's context, or hang up (the dialplan's ``on_error`` decides)."""
        try:
            async with asyncio.timeout(self.services.call.failure_grace_s):
                await self.sink.flush()
                for action in self.engine.on_error():
                    if isinstance(action, Say):
                        await self._say_directly(action.text)
                    elif isinstance(action, Transfer):
                        if self._caller_gone:
                            return
                        if self._shutting_down:
                            reason = SHUTDOWN_REASON["en" if self._english else "fr"]
                            action = dataclasses.replace(action, reason=reason)
                        self.journal.transfer_queue = action.queue
                        context = build_context(
                            self.journal,
                            action,
                            self.info,
                            intent_labels={i.id: i.spoken_label for i in self.dialplan.intents},
                            language=self.dialplan.language,
                        )
                        if await self.services.control.transfer(self.info, action, context):
                            self.journal.finish(outcome, detail, by="bot")
                            return
                    elif isinstance(action, Hangup):
                        break
        except Exception:
            logger.exception("call %s: could not apologise", self.info.call_id)
        if self._shutting_down:
            self.journal.finish("ended_on_shutdown", detail, by="bot")
        await self.sink.hangup()

    async def _say_directly(self, text: str) -> None:
        async for chunk in self.synthesizer.stream(text):
            await self.sink.send_audio(chunk.pcm, chunk.sample_rate_hz)
        await self.sink.mark("apology")
        while True:  # wait until the caller has heard it (or the line is gone)
            event = await self.inbound.get()
            if isinstance(event, MarkPlayed) and event.mark_id == "apology":
                return
            if isinstance(event, CallEnded):
                self._caller_gone = True
                return


def _audio_frame(pcm: np.ndarray) -> InputAudioRawFrame:
    return InputAudioRawFrame(audio=pcm.tobytes(), sample_rate=PIPELINE_RATE_HZ, num_channels=1)


def _call_variables(info: CallInfo) -> dict[str, str]:
    return {"caller_number": info.caller_number or "", "call_id": info.call_id}


async def _stop(worker: PipelineWorker, running: asyncio.Task[None]) -> None:
    try:
        await worker.cancel(reason="call over")
        await asyncio.wait_for(running, 5.0)
    except Exception:
        logger.debug("pipeline did not stop cleanly", exc_info=True)
        running.cancel()


def _asr_language(language: str) -> str:
    """Whisper's language code from a dialplan's locale (``fr-FR`` -> ``fr``)."""
    return language.replace("_", "-").split("-")[0].lower()
