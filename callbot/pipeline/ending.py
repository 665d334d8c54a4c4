"""How a call ends: its outcome, the transfer or hang-up, and the polite end when the
pipeline cannot go on.

:class:`CallEnding` is the one writer of a call's outcome. The reasons a call ends come
to it (the line dropped, a failure, no media, shutdown); the dialog's own transfer or
hang-up reaches it through the line output, once the caller has heard the last words;
when the pipeline has stopped, :meth:`CallEnding.close` ends the call politely if the line
is still up (apology, then transfer or hang-up) and settles the outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from callbot.calls.journal import CallJournal
from callbot.dialplan import Action, Ending, Hangup, Say, Transfer
from callbot.dialplan.routing import choose_target
from callbot.dialplan.store import DialplanStore
from callbot.logs import call_log
from callbot.media.types import CallEnded, CallInfo, MediaSink
from callbot.pipeline.control import CallControl, CallHandover
from callbot.pipeline.watchdog import LineWatch
from callbot.records.outcome import Outcome

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
HANGUP_OUTCOMES: Mapping[Ending, Outcome] = {
    Ending.RESOLVED: Outcome.ANSWERED,
    Ending.NO_INPUT: Outcome.NO_INPUT,
    Ending.CALLBACK: Outcome.CALLBACK_REQUESTED,
    Ending.CLOSED: Outcome.OUT_OF_HOURS,
    Ending.UNRESOLVED: Outcome.UNRESOLVED,
    Ending.ERROR: Outcome.FAILED,
}
"""The outcome of a call the dialog hangs up, by why it does."""
_POLICY_HANGUPS = frozenset(HANGUP_OUTCOMES.values()) - {Outcome.FAILED}


class CallEnding:
    """One call's end: why it ends, how, and the outcome its record keeps."""

    def __init__(
        self,
        journal: CallJournal,
        handover: CallHandover,
        sink: MediaSink,
        watch: LineWatch,
    ) -> None:
        self.journal = journal
        self._handover = handover
        self._sink = sink
        self._watch = watch
        self.finished = asyncio.Event()
        """Set as soon as the call is to end: the line stops feeding the pipeline."""
        self.failure: str | None = None
        self.caller_gone = False
        self._ended_by = "caller"
        self._line_reason = ""
        self._line_outcome = Outcome.HUNG_UP_BY_CALLER
        self._shutting_down = False
        self._no_media: str | None = None
        """Why the no-media guard ended the call (None: it did not)."""

    @property
    def _call_id(self) -> str:
        return self.journal.info.call_id

    def fail(self, reason: str) -> None:
        """Something broke: end the call (the first failure is the one recorded)."""
        if self.failure is None:
            logger.error("%s", reason)
            self.failure = reason
            self.journal.error(reason)
            self.finished.set()

    def line_ended(self, event: CallEnded) -> None:
        """The caller hung up, or the media connection closed."""
        self.caller_gone = True
        self._ended_by, self._line_reason = event.by, event.reason
        if event.protocol_error:
            self._line_outcome = Outcome.PROTOCOL_ERROR
        elif event.by != "caller":
            self._line_outcome = Outcome.FAILED

    def no_media(self, detail: str) -> None:
        """The no-media guard: end the call politely (apology, then transfer or hang-up)."""
        if not self.finished.is_set():
            # Also from another call's task (its slot reclaimed for a new caller).
            call_log(logger, self._call_id).warning("%s: ending the call", detail)
            self._no_media = detail
            self.finished.set()

    def shut_down(self) -> None:
        """The process is stopping: end this call now, handing the caller to a human."""
        if not self.finished.is_set():
            self._shutting_down = True
            self.finished.set()

    async def carry_out(self, action: Action | None) -> None:
        """The dialog's transfer or hang-up, once the caller has heard the last words."""
        if isinstance(action, Transfer):
            self.journal.transfer_to(action.queue)
            # Recorded first and shielded: handing the caller over closes the bot's media
            # leg, which may cancel this pipeline before the ARI requests have returned.
            self.journal.finish(Outcome.TRANSFERRED, action.reason, by="bot")
            if not self._handover.possible:
                # The caller heard the handover sentence; nobody can take the call here.
                self.journal.correct(Outcome.TRANSFER_UNAVAILABLE)  # detail: the reason
                logger.warning(
                    "transfer to queue %r requested but no call control (ARI) is configured: "
                    "hanging up",
                    action.queue,
                )
                await self._sink.hangup()
            elif not await asyncio.shield(self._handover.transfer(action)):
                self.journal.correct(Outcome.TRANSFER_FAILED)
                await self._sink.hangup()
        elif isinstance(action, Hangup):
            self.journal.finish(HANGUP_OUTCOMES[action.ending], action.reason, by="bot")
            await self._sink.hangup()
        self.finished.set()

    def cancelled(self) -> None:
        """The call's task is being cancelled before :meth:`close`: the line's end if
        known, else a failure of the bot's (the first outcome recorded wins)."""
        if self.caller_gone:
            self.journal.finish(self._line_outcome, self._line_reason, by=self._ended_by)
        self.journal.finish(
            Outcome.FAILED, "the call's pipeline did not stop in time (cancelled)", by="bot"
        )

    async def close(self, apology: Apology) -> None:
        """Once the pipeline has stopped: end the call politely if the line is still up,
        and record who ended it and why (the first outcome recorded wins)."""
        if not self.caller_gone:
            if self._shutting_down:
                await self._hand_over(
                    apology,
                    Outcome.TRANSFERRED_ON_SHUTDOWN,
                    "callbot stopping",
                    otherwise=Outcome.ENDED_ON_SHUTDOWN,
                )
            elif self._no_media is not None:
                await self._hand_over(
                    apology, Outcome.MEDIA_TIMEOUT, self._no_media, otherwise=Outcome.MEDIA_TIMEOUT
                )
                self.journal.finish(Outcome.MEDIA_TIMEOUT, self._no_media, by="bot")
            elif self.failure is not None:
                await self._hand_over(
                    apology,
                    Outcome.TRANSFERRED,
                    f"failure: {self.failure}",
                    otherwise=Outcome.FAILED,
                )
        if self.caller_gone:
            self.journal.finish(self._line_outcome, self._line_reason, by=self._ended_by)
        ended = Outcome.FAILED if self.failure else Outcome.ANSWERED
        self.journal.finish(ended, self.failure or "", by="bot")
        if self.journal.outcome in _POLICY_HANGUPS and not self._watch.alive:
            # The bot's own policy (no input...) hung up, but nobody was ever on the line.
            self.journal.correct(Outcome.MEDIA_TIMEOUT, "nothing ever came from the line")

    async def _hand_over(
        self, apology: Apology, outcome: Outcome, detail: str, *, otherwise: Outcome
    ) -> None:
        """Bypassing the (stopped or broken) pipeline: apologise, then hand the caller to a
        human with the call's context (``outcome``), or hang up (``otherwise``); the
        dialplan's ``on_error`` decides."""
        try:
            async with asyncio.timeout(apology.grace_s):
                await self._sink.flush()
                self._watch.flushed(time.monotonic())
                for action in apology.on_error():
                    if isinstance(action, Say):
                        await apology.say(action.text)
                    elif isinstance(action, Transfer):
                        if self.caller_gone:
                            return
                        if self._shutting_down:
                            reason = SHUTDOWN_REASON[_lang(self._handover.language)]
                            action = dataclasses.replace(action, reason=reason)
                        self.journal.transfer_to(action.queue)
                        if await self._handover.transfer(action):
                            self.journal.finish(outcome, detail, by="bot")
                            return
                    elif isinstance(action, Hangup):
                        break
        except TimeoutError:
            logger.warning("apology and hand-over took too long")
        except Exception:
            logger.exception("could not apologise")
        if self.caller_gone:
            return
        self.journal.finish(otherwise, detail, by="bot")
        await self._sink.hangup()


@dataclasses.dataclass(frozen=True, slots=True)
class Apology:
    """What the polite end of a call needs from it, the pipeline being gone."""

    on_error: Callable[[], Iterable[Action]]
    """The dialplan's ``on_error`` actions (say sorry, then transfer or hang up)."""
    say: Callable[[str], Awaitable[None]]
    """Plays a sentence straight to the line and waits until it is heard (or the line
    is gone)."""
    grace_s: float
    """How long the apology and the hand-over may take."""


async def refuse_call(
    info: CallInfo,
    sink: MediaSink,
    *,
    dialplans: DialplanStore,
    control: CallControl,
    stopping: bool,
) -> CallJournal:
    """A call the bot does not answer (over the concurrent-call limit, or while callbot
    stops). With call control (ARI) the caller goes straight to a human: the dialplan's
    transfer queue, reason "at capacity" (the bridge then ends the bot leg without hanging
    the caller up). Without, the line is hung up. Returns the call's journal, finished:
    outcome ``capacity`` (``transferred_on_shutdown`` / ``ended_on_shutdown`` while
    stopping), ``hung_up_by`` bot, ``transfer_queue`` when handed over."""
    loaded = dialplans.current()
    plan = loaded.dialplan
    journal = CallJournal(info, dialplan=loaded.name, dialplan_version=loaded.version)
    reasons = SHUTDOWN_REASON if stopping else CAPACITY_REASON
    why = "callbot stopping" if stopping else "refused at the concurrent-call limit"
    target = choose_target(plan)
    transfer = Transfer(target.queue, reasons[_lang(plan.language)], language=target.language)
    handover = CallHandover(control, journal, language=plan.language)
    handed = False
    if handover.possible:
        try:
            handed = await handover.transfer(transfer)
        except Exception:
            logger.exception("could not hand the refused caller over")
    if handed:
        journal.transfer_to(target.queue)
        outcome = Outcome.TRANSFERRED_ON_SHUTDOWN if stopping else Outcome.CAPACITY
        journal.finish(outcome, f"{why}: handed to queue {target.queue}", by="bot")
    else:
        outcome = Outcome.ENDED_ON_SHUTDOWN if stopping else Outcome.CAPACITY
        journal.finish(outcome, f"{why}: hung up (no call control to hand over)", by="bot")
        await sink.hangup()
    return journal


def _lang(language: str) -> str:
    """The key of the reasons above for a dialplan's language (English or French)."""
    return "en" if language.lower().startswith("en") else "fr"
