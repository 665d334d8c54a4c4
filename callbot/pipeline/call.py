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
from callbot.dialplan.routing import choose_target
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
from callbot.pipeline.control import CallControl, NoCallControl, can_transfer
from callbot.pipeline.dialog import DialogProcessor, HookClient
from callbot.pipeline.frames import CallerGoneFrame, MarkPlayedFrame
from callbot.pipeline.journal import CallJournal
from callbot.pipeline.output import LineOutput
from callbot.pipeline.settings import CallSettings
from callbot.pipeline.speech import SpeechProcessor
from callbot.pipeline.transcription import TranscriptionProcessor
from callbot.pipeline.turns import TurnProcessor
from callbot.pipeline.watchdog import LineWatch
from callbot.speech.asr import WhisperAsr
from callbot.speech.tts import Synthesizer
from callbot.speech.vad import VadSettings

logger = logging.getLogger(__name__)

SHUTDOWN_REASON = {
    "fr": "callbot s'est arrêté pendant l'appel, reprendre la demande",
    "en": "callbot stopped during the call, take the request over",
}
"""The transfer reason (``CALLBOT_MOTIF``) of a caller handed over at shutdown."""
CAPACITY_REASON = {
    "fr": "callbot saturé : appel non pris par le robot",
    "en": "callbot at capacity: the bot did not take the call",
}
"""The transfer reason of a caller refused at the concurrent-call limit."""

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
        self.stopping = False
        """Set by :meth:`drain`: calls refused from then on are shutdown, not capacity."""
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
            self._report(session.journal, info)

    def _progress(self, journal: CallJournal, info: CallInfo) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(journal.snapshot(), info)
        except Exception:  # a record that cannot be written must not touch the call
            logger.exception("call %s: in-progress record not handed over", info.call_id)

    def _report(self, journal: CallJournal, info: CallInfo) -> None:
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

    async def refuse(self, info: CallInfo, sink: MediaSink) -> None:
        """The admission's busy handler: a call over the concurrent-call limit (or arriving
        while callbot stops) is never answered by the bot.

        With call control (ARI) the caller goes straight to a human: the dialplan's
        transfer queue, reason "at capacity" (the bridge then ends the bot leg without
        hanging the caller up). Without, the line is hung up. Either way the call leaves a
        record: outcome ``capacity`` (``transferred_on_shutdown`` / ``ended_on_shutdown``
        while stopping), ``hung_up_by`` bot, ``transfer_queue`` when handed over."""
        bind_call_id(info.call_id)
        loaded = self.services.dialplans.current()
        plan = loaded.dialplan
        journal = CallJournal(info, dialplan=loaded.name, dialplan_version=loaded.version)
        english = plan.language.lower().startswith("en")
        reasons = SHUTDOWN_REASON if self.stopping else CAPACITY_REASON
        why = "callbot stopping" if self.stopping else "refused at the concurrent-call limit"
        target = choose_target(plan)
        transfer = Transfer(
            target.queue, reasons["en" if english else "fr"], language=target.language
        )
        handed = False
        if can_transfer(self.services.control):
            context = build_context(journal, transfer, info, language=plan.language)
            try:
                handed = await self.services.control.transfer(info, transfer, context)
            except Exception:
                logger.exception("call %s: could not hand the refused caller over", info.call_id)
        if handed:
            journal.transfer_queue = target.queue
            outcome = "transferred_on_shutdown" if self.stopping else "capacity"
            journal.finish(outcome, f"{why}: handed to queue {target.queue}", by="bot")
        else:
            outcome = "ended_on_shutdown" if self.stopping else "capacity"
            journal.finish(outcome, f"{why}: hung up (no call control to hand over)", by="bot")
            await sink.hangup()
        self._report(journal, info)

    def reclaim_stalled(self) -> bool:
        """At the limit: end the call that has been stalled longest (a line with no sign of
        life whose prompt went unconfirmed past its time: see
        :class:`~callbot.pipeline.watchdog.LineWatch`) so that a new caller gets its slot.
        True when a call was ended; it finishes (outcome ``media_timeout``) on its own."""
        stalled = [s for s in self.sessions.values() if s.stalled]
        if not stalled:
            return False
        victim = min(stalled, key=lambda s: s.watch.started_at_s)
        victim.end_for_no_media("nothing from the line; its slot went to a new caller")
        return True

    async def drain(self, timeout_s: float, *, hurry: asyncio.Event | None = None) -> int:
        """Shutdown: let calls in progress end by themselves for up to ``timeout_s`` (or
        until ``hurry`` is set), then hand each remaining caller to a human with the call's
        context (outcome ``transferred_on_shutdown``; without call control the caller hears
        an apology: ``ended_on_shutdown``). Returns how many calls were handed over."""
        self.stopping = True
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
        self.watch = LineWatch(time.monotonic(), mark_grace_s=services.call.mark_grace_s)
        self._caller_gone = False
        self._ended_by = "caller"
        self._line_reason = ""
        self._line_outcome = "hung_up_by_caller"
        self._shutting_down = False
        self._no_media: str | None = None
        """Why the no-media guard ended the call (None: it did not)."""
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
                    watch=self.watch,
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
        await self._end()

    async def _end(self) -> None:
        """Once the pipeline has stopped: end the call politely if the line is still up,
        and record who ended it and why (the first outcome recorded wins)."""
        if not self._caller_gone:
            if self._shutting_down:
                await self._hand_over(
                    "transferred_on_shutdown", "callbot stopping", otherwise="ended_on_shutdown"
                )
            elif self._no_media is not None:
                await self._hand_over("media_timeout", self._no_media, otherwise="media_timeout")
                self.journal.finish("media_timeout", self._no_media, by="bot")
            elif self.failure is not None:
                await self._hand_over("transferred", f"failure: {self.failure}", otherwise="failed")
        if self._caller_gone:
            self.journal.finish(self._line_outcome, self._line_reason, by=self._ended_by)
        self.journal.finish("failed" if self.failure else "answered", self.failure or "", by="bot")
        if self.journal.outcome == "answered" and not self.watch.alive:
            # The bot's own policy (no input...) hung up, but nobody was ever on the line.
            self.journal.outcome = "media_timeout"
            self.journal.outcome_detail = "nothing ever came from the line"

    @property
    def stalled(self) -> bool:
        """Still running, on a line that never showed life and left a prompt unconfirmed."""
        return self.watch.stalled and not self.finished.is_set()

    def end_for_no_media(self, detail: str) -> None:
        """The no-media guard: end the call politely (apology, then transfer or hang-up)."""
        if not self.finished.is_set():
            logger.warning("call %s: %s: ending the call", self.info.call_id, detail)
            self._no_media = detail
            self.finished.set()

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
        call = self.services.call
        gap_s = call.gap_fill_ms / 1000.0
        deadline = time.monotonic() + call.max_call_s
        last_audio = time.monotonic()
        while not self.finished.is_set():
            now = time.monotonic()
            if now > deadline:
                self._fail("maximum call duration reached")
                return
            if self.watch.media_timed_out(now, call.media_timeout_s):
                self.end_for_no_media(f"no media from the line for {call.media_timeout_s:g} s")
                return
            try:
                event = await asyncio.wait_for(self.inbound.get(), gap_s)
            except TimeoutError:
                # Nothing from the line (silence suppression): time still passes for the VAD.
                missing = int((time.monotonic() - last_audio) * PIPELINE_RATE_HZ)
                last_audio = time.monotonic()
                await worker.queue_frame(_audio_frame(np.zeros(missing, dtype=np.int16)))
                continue
            if _from_line(event):
                self.watch.line_event(time.monotonic())
            if isinstance(event, CallerAudio):
                last_audio = time.monotonic()
                await worker.queue_frame(_audio_frame(event.pcm))
            elif isinstance(event, CallerDtmf):
                await self._on_dtmf(worker, event.digit)
            elif isinstance(event, MarkPlayed):
                await worker.queue_frame(MarkPlayedFrame(mark_id=event.mark_id))
            elif isinstance(event, CallEnded):
                self._line_ended(event)
                await worker.queue_frame(CallerGoneFrame(reason=event.reason))
                return

    def _line_ended(self, event: CallEnded) -> None:
        logger.info("call %s: line ended (%s)", self.info.call_id, event.reason)
        self._caller_gone = True
        self._ended_by, self._line_reason = event.by, event.reason
        if event.protocol_error:
            self._line_outcome = "protocol_error"
        elif event.by != "caller":
            self._line_outcome = "failed"

    async def _on_dtmf(self, worker: PipelineWorker, digit: str) -> None:
        try:
            button = KeypadEntry(digit)
        except ValueError:
            logger.info("call %s: ignoring DTMF %r", self.info.call_id, digit)
            return
        await worker.queue_frame(InputDTMFFrame(button=button))

    async def _hand_over(self, outcome: str, detail: str, *, otherwise: str) -> None:
        """Bypassing the (stopped or broken) pipeline: apologise, then hand the caller to a
        human with the call's context (``outcome``), or hang up (``otherwise``); the
        dialplan's ``on_error`` decides."""
        try:
            async with asyncio.timeout(self.services.call.failure_grace_s):
                await self.sink.flush()
                self.watch.flushed(time.monotonic())
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
        except TimeoutError:
            logger.warning("call %s: apology and hand-over took too long", self.info.call_id)
        except Exception:
            logger.exception("call %s: could not apologise", self.info.call_id)
        if self._caller_gone:
            return
        self.journal.finish(otherwise, detail, by="bot")
        await self.sink.hangup()

    async def _say_directly(self, text: str) -> None:
        async for chunk in self.synthesizer.stream(text):
            self.watch.audio_queued(chunk.pcm.size / chunk.sample_rate_hz, time.monotonic())
            await self.sink.send_audio(chunk.pcm, chunk.sample_rate_hz)
        await self.sink.mark("apology")
        # Until the caller has heard it, the line is gone, or (a line that confirms
        # nothing) its expected end plus the mark grace.
        wait_s = max(0.0, self.watch.mark_sent() - time.monotonic())
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    event = await self.inbound.get()
                    if isinstance(event, MarkPlayed) and event.mark_id == "apology":
                        return
                    if isinstance(event, CallEnded):
                        self._line_ended(event)
                        return
        except TimeoutError:
            logger.info("call %s: the line never confirmed the apology", self.info.call_id)


def _from_line(event: InboundEvent) -> bool:
    """Whether ``event`` is a sign of life from the line: caller audio, a key, a mark the
    line confirmed (not the end of the call, nor a mark the edge counted itself)."""
    if isinstance(event, MarkPlayed):
        return event.by_line
    return isinstance(event, CallerAudio | CallerDtmf)


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
