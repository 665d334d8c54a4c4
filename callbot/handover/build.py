"""Gather the hand-over context from what the call journaled and the engine decided.

Called once, by call control, when the engine's :class:`~callbot.dialplan.actions.Transfer`
is carried out.
Caller text is redacted here (the journal keeps it raw for the call's own processing);
slot values are passed as the engine gives them: the agent needs them (a checked NIR).
The engine's reason code is worded in the call's language for the agent
(:mod:`callbot.handover.reasons`) and kept as ``reason_code``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

from callbot.calls.journal import CallJournal
from callbot.dialplan import Transfer, TurnOutcome
from callbot.handover.context import HandoverContext, HandoverTurn
from callbot.handover.reasons import reason_text
from callbot.handover.summary import SummaryFacts, identity_checks, summarize
from callbot.media.types import CallInfo
from callbot.privacy.redact import redact

DEFAULT_LANGUAGE = "fr-FR"


def build_context(
    journal: CallJournal | None,
    transfer: Transfer,
    info: CallInfo,
    *,
    intent_labels: Mapping[str, str] | None = None,
    language: str | None = None,
    now_unix: float | None = None,
    now_monotonic: float | None = None,
) -> HandoverContext:
    """The context of ``info``'s call handed to ``transfer.queue``.

    ``intent_labels`` (intent id -> spoken label) makes the summary readable; ``language``
    is the dialplan's, used when the transfer names none. Without a journal (a call
    control used outside the pipeline) the context has no turns but is still complete.
    """
    created = time.time() if now_unix is None else now_unix
    turns = _turns(journal)
    intents = _intents(journal)
    slot_names = [name for name, _ in transfer.slots]
    if journal is not None:
        slot_names += [name for turn in journal.turns for name in turn.slots]
    lang = transfer.language or language or DEFAULT_LANGUAGE
    checks = identity_checks(slot_names)
    labels = intent_labels or {}
    reason = reason_text(transfer.reason, lang, labels)
    facts = SummaryFacts(
        language=lang,
        topics=tuple(labels.get(i, i.replace("_", " ")) for i in intents),
        identity_checks=checks,
        last_request=_last_request(turns),
        reason=reason,
    )
    bot_time_s = 0.0
    if journal is not None:
        now = time.monotonic() if now_monotonic is None else now_monotonic
        bot_time_s = round(max(0.0, now - journal.started_at_s), 3)
    return HandoverContext(
        context_id=uuid.uuid4().hex,
        call_id=info.call_id,
        created_at=created,
        caller_number=info.caller_number or None,
        queue=transfer.queue,
        skill=transfer.skill,
        language=lang,
        reason=reason,
        summary=summarize(facts),
        intents=intents,
        slots=tuple(transfer.slots),
        identity_checked=bool(checks),
        turns=turns,
        bot_time_s=bot_time_s,
        reason_code=transfer.reason,
    )


def _turns(journal: CallJournal | None) -> tuple[HandoverTurn, ...]:
    if journal is None:
        return ()
    out: list[HandoverTurn] = []
    for turn in journal.turns:
        if turn.caller_text:
            out.append(HandoverTurn("caller", redact(turn.caller_text), turn.intent))
        elif turn.dtmf:
            out.append(HandoverTurn("caller", _key(turn.dtmf, turn.outcome), turn.intent))
        # Bot sentences can echo what the caller said (a read-back): redact them too.
        out.extend(HandoverTurn("bot", redact(text)) for text in turn.bot_text if text)
    return tuple(out)


def _key(key: str, outcome: str | None) -> str:
    """A key the caller pressed; a digit typed into a slot is part of a value (a NIR
    keyed one digit a turn), which the agent reads in ``slots`` while it is theirs."""
    if outcome == TurnOutcome.SLOT and key.isdigit():
        return "[DTMF]"
    return f"[DTMF {redact(key)}]"


def _intents(journal: CallJournal | None) -> tuple[str, ...]:
    if journal is None:
        return ()
    seen: list[str] = []
    for turn in journal.turns:
        if turn.intent and turn.intent not in seen:
            seen.append(turn.intent)
    return tuple(seen)


def _last_request(turns: tuple[HandoverTurn, ...]) -> str | None:
    for turn in reversed(turns):
        if turn.speaker == "caller" and not turn.text.startswith("[DTMF"):
            return turn.text
    return None
