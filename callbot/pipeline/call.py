"""One call, start to end: builds its pipeline, feeds it the line, keeps its record.

The shared, process-wide parts (Whisper, the voice, the dialplan store) come in
through :class:`CallServices`; everything per call is built here and dropped when
the call ends. A failure anywhere in one call's pipeline ends that call the
polite way (apology, then transfer or hang-up) and never touches another call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.calls.journal import CallJournal
from callbot.dialplan import DialogEngine
from callbot.dialplan.store import DialplanStore
from callbot.logs import bind_call_id
from callbot.media.call_identity import MOVED_VARIABLE
from callbot.media.types import CallEnded, CallInfo, InboundEvent, MarkPlayed, MediaSink
from callbot.pipeline.control import CallControl, CallHandover, NoCallControl
from callbot.pipeline.dialog import DialogProcessor, HookClient
from callbot.pipeline.ending import Apology, CallEnding, refuse_call
from callbot.pipeline.line import LineInput
from callbot.pipeline.output import LineOutput
from callbot.pipeline.settings import CallSettings
from callbot.pipeline.speech import SpeechProcessor
from callbot.pipeline.transcription import TranscriptionProcessor
from callbot.pipeline.turns import TurnProcessor
from callbot.pipeline.watchdog import LineWatch
from callbot.records.callbacks import Callback
from callbot.speech.asr import WhisperAsr
from callbot.speech.settings import VadSettings
from callbot.speech.tts import Synthesizer

logger = logging.getLogger(__name__)

GUARD_TICK_S = 0.2
"""How often a call's guards (maximum duration, no media from the line) are checked."""

CallRecordSink = Callable[[dict[str, Any], CallInfo, Callback | None], None]
"""Gets each finished call's record, its CallInfo and the callback the caller asked for,
if any (the caller's number and the one to call back stay out of the record itself)."""
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
    now: dt.datetime | None = None
    """A fixed instant for every call's dialog (``callbot simulate --now``); None: the
    system clock."""


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
        except asyncio.CancelledError:
            session.cancelled()
            raise
        finally:
            self.active_calls -= 1
            self.sessions.pop(id(session), None)
            if not self.sessions:
                self._idle.set()
            self._report(session.journal, info, session.handover.callback())

    def _progress(self, journal: CallJournal, info: CallInfo) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(journal.snapshot(), info)
        except Exception:  # a record that cannot be written must not touch the call
            logger.exception("in-progress record not handed over")

    def _report(
        self, journal: CallJournal, info: CallInfo, callback: Callback | None = None
    ) -> None:
        journal.on_turn_done = None
        record = journal.snapshot()
        logger.info(
            "ended: %s (%s), %d turns",
            record["outcome"],
            record["outcome_detail"],
            len(record["turns"]),
        )
        if self.on_record is not None:
            self.on_record(record, info, callback)

    async def refuse(self, info: CallInfo, sink: MediaSink) -> None:
        """The admission's busy handler: a call over the concurrent-call limit (or arriving
        while callbot stops) is never answered by the bot (:func:`refuse_call`), and
        leaves a record."""
        bind_call_id(info.call_id)
        journal = await refuse_call(
            info,
            sink,
            dialplans=self.services.dialplans,
            control=self.services.control,
            stopping=self.stopping,
        )
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
        self.engine = DialogEngine(self.dialplan, _call_variables(info), now=services.now)
        self.synthesizer = services.synthesizer_for(self.dialplan.language, self.dialplan.voice)
        self.journal = CallJournal(
            info, dialplan=loaded.name, dialplan_version=loaded.version, voice=self.synthesizer.name
        )
        self.watch = LineWatch(time.monotonic(), mark_grace_s=services.call.mark_grace_s)
        self.handover = CallHandover(
            services.control,
            self.journal,
            language=self.dialplan.language,
            intent_labels={i.id: i.spoken_label for i in self.dialplan.intents},
        )
        self.ending = CallEnding(self.journal, self.handover, sink, self.watch)
        self.finished = self.ending.finished
        self.output = LineOutput(sink, self.journal, self.ending, watch=self.watch)
        self.line = LineInput(
            inbound,
            self.watch,
            on_mark=self.output.mark_played,
            on_end=self._line_ended,
        )

    def _build_worker(self) -> PipelineWorker:
        call = self.services.call
        pipeline = Pipeline(
            [
                self.line,
                TurnProcessor(self.services.vad, barge_in=call.barge_in),
                TranscriptionProcessor(
                    self.services.asr, language=_asr_language(self.dialplan.language)
                ),
                DialogProcessor(
                    self.engine,
                    self.journal,
                    no_input_timeout_s=call.no_input_timeout_s,
                    backoffice=self.services.backoffice,
                    audio_dir=self.dialplan_path.parent,
                    resumed=MOVED_VARIABLE in self.info.variables,
                ),
                SpeechProcessor(self.synthesizer),
                self.output,
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
        self.ending.fail(reason)

    async def run(self) -> None:
        worker = self._build_worker()
        runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
        await runner.add_workers(worker)
        running = asyncio.create_task(runner.run(), name=f"pipeline-{self.info.call_id}")
        try:
            await self._until_over()
        except Exception as exc:
            logger.exception("unexpected error")
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            await _stop(worker, running)
            await self.line.stop()  # from here on the line is read here (the apology)
        call = self.services.call
        await self.ending.close(
            Apology(self.engine.on_error, self._say_directly, call.failure_grace_s)
        )

    @property
    def stalled(self) -> bool:
        """Still running, on a line that never showed life and left a prompt unconfirmed."""
        return self.watch.stalled and not self.finished.is_set()

    def cancelled(self) -> None:
        """The media edge cancelled this call's task (it had not stopped in time after
        the line ended) before :meth:`run` could record the outcome: record what is known
        now, the line's end included if the pipeline never read it, rather than leave the
        record in progress for good (the process is alive: no sweep would close it)."""
        while not self.inbound.empty():
            event = self.inbound.get_nowait()
            if isinstance(event, CallEnded) and not self.ending.caller_gone:
                self._line_ended(event)
        self.ending.cancelled()

    def end_for_no_media(self, detail: str) -> None:
        """The no-media guard: end the call politely (apology, then transfer or hang-up)."""
        self.ending.no_media(detail)

    def shut_down(self) -> None:
        """The process is stopping: end this call now, handing the caller to a human."""
        self.ending.shut_down()

    async def _until_over(self) -> None:
        """While the line feeds the pipeline (:class:`LineInput`), until the line ends or
        the bot is done: the call's guards, maximum duration and no media from the line."""
        call = self.services.call
        deadline = time.monotonic() + call.max_call_s
        over = [
            asyncio.ensure_future(self.finished.wait()),
            asyncio.ensure_future(self.line.ended.wait()),
        ]
        try:
            while not any(waiter.done() for waiter in over):
                now = time.monotonic()
                if now > deadline:
                    self._fail("maximum call duration reached")
                    return
                if self.watch.media_timed_out(now, call.media_timeout_s):
                    self.end_for_no_media(f"no media from the line for {call.media_timeout_s:g} s")
                    return
                await asyncio.wait(over, timeout=GUARD_TICK_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in over:
                waiter.cancel()

    def _line_ended(self, event: CallEnded) -> None:
        logger.info("line ended (%s)", event.reason)
        self.ending.line_ended(event)

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
            logger.info("the line never confirmed the apology")


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
