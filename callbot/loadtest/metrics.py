"""Per-turn and aggregate measures of a load test.

The simulated caller knows what it heard and when (voice-to-voice latency, greeting,
barge-in reaction, late or dropped frames); the server's call record knows what it
recognised and decided (transcript, intent, outcome). Both are joined turn by turn
against what the manifest expects.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from num2words import num2words

from callbot.errors import MissingExtra
from callbot.loadtest.corpus import CallSpec
from callbot.simulator.run import caller_turns
from callbot.simulator.script import CallerPeer, CallTrace

OUTCOME_ALIASES = {"transfer_failed": "transferred", "transfer_unavailable": "transferred"}
"""For outcome accuracy: the bot decided to transfer (whether or not it could)."""

FAILURE_KINDS = {
    "no_record": "the server kept no record of the call",
    "caller_error": "the simulated caller could not place or finish the call "
    "(connection refused, time-out...)",
    "no_greeting": "the caller never heard the greeting",
    "unanswered": "a caller turn got no answer",
    "ended_early": "the call ended before the script's last turn",
    "failed": "the call's pipeline failed on the server",
    "protocol_error": "the media connection broke the protocol (malformed or oversize message)",
    "media_timeout": "nothing came from the line any more: the server ended the call",
    "capacity": "refused at the server's concurrent-call limit",
    "transfer_failed": "the bot asked for a transfer and call control could not carry it out",
    "interrupted": "the server died during the call",
    "ended_on_shutdown": "the server stopped during the call",
}
"""Why a call counts as failed, by kind (``CallResult.failure_kind``), with what it means."""
SERVER_FAILURES = frozenset(
    {
        "failed",
        "protocol_error",
        "media_timeout",
        "capacity",
        "transfer_failed",
        "interrupted",
        "ended_on_shutdown",
    }
)
"""Server outcomes that make the call a failed one; each is its own failure kind."""
NOT_FAILURES = {
    "transfer_unavailable": "the bot asked for a transfer but the server has no call control "
    "(ARI): the caller heard the handover sentence, then the call ended. Not a failure of the "
    "bot; test against a server with ARI (or the embedded one) to measure transfers.",
}
"""Outcomes reported by kind with an explanation, never counted as failed calls."""

NO_INTENT = "(none)"
"""Label of turns where the bot should recognise no intent (not understood, yes/no)."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    turn: int
    kind: str
    reference: str | None
    heard: str | None
    """What the server recognised (None: DTMF or no record)."""
    expected_intent: str | None
    intent: str | None
    latency_ms: float | None
    """End of caller speech (or key press) to the first bot audio frame received."""
    barge_in: bool = False
    barge_in_ms: float | None = None
    """Barge-in turns: caller starts speaking to the interrupted prompt's last frame."""

    @property
    def intent_ok(self) -> bool:
        return self.intent == self.expected_intent


@dataclass(frozen=True, slots=True)
class CallResult:
    call_id: str
    corpus_call: str
    concurrency: int
    started_s: float
    """Seconds since the start of the run."""
    duration_s: float
    expected_outcome: str
    outcome: str
    failure: str = ""
    """Why the call counts as failed ("" when it did not fail)."""
    greeting_ms: float | None = None
    dropped_frames: int = 0
    underruns: int = 0
    turns: tuple[TurnResult, ...] = ()
    failure_kind: str = ""
    """The kind of failure, a key of :data:`FAILURE_KINDS` ("" when the call did not fail)."""
    worker: str = ""
    """The cluster worker that served the call (``--asterisk`` runs; "" otherwise)."""

    @property
    def failed(self) -> bool:
        return bool(self.failure)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = self.failed
        return data


def call_result(
    spec: CallSpec,
    trace: CallTrace,
    record: dict[str, Any] | None,
    peer: CallerPeer,
    *,
    concurrency: int,
    started_s: float,
    duration_s: float,
) -> CallResult:
    """Join the caller's trace, the server's record and the manifest for one call."""
    server = caller_turns(trace, record)  # a keypad entry's keys joined into one turn
    turns = []
    for index, (sim, expected, heard) in enumerate(
        zip(trace.turns, spec.turns, server, strict=False)
    ):
        turns.append(
            TurnResult(
                turn=index + 1,
                kind=sim.kind,
                reference=expected.text,
                heard=heard.get("caller_text"),
                expected_intent=expected.intent,
                intent=heard.get("intent"),
                latency_ms=sim.latency_ms,
                barge_in=expected.barge_in_s is not None,
                barge_in_ms=sim.barge_in_ms,
            )
        )
    outcome = (record or {}).get("outcome", "no record")
    kind, failure = _failure(trace, record, len(spec.turns))
    return CallResult(
        call_id=trace.call_id,
        corpus_call=spec.id,
        concurrency=concurrency,
        started_s=round(started_s, 3),
        duration_s=round(duration_s, 3),
        expected_outcome=spec.outcome,
        outcome=outcome,
        failure=failure,
        greeting_ms=trace.greeting_ms,
        dropped_frames=peer.recording.dropped_frames,
        underruns=peer.recording.underruns,
        turns=tuple(turns),
        failure_kind=kind,
    )


def _failure(
    trace: CallTrace, record: dict[str, Any] | None, planned_turns: int
) -> tuple[str, str]:
    """(kind, description) of why the call failed; ("", "") when it did not."""
    if record is None:
        return "no_record", "no call record on the server"
    outcome = str(record.get("outcome"))
    if outcome in SERVER_FAILURES:
        detail = record.get("outcome_detail") or outcome
        return outcome, f"server: {outcome}: {detail}"
    if trace.greeting_ms is None:
        return "no_greeting", "no greeting heard"
    unanswered = [t.label for t in trace.turns if t.kind != "silence" and not t.answered]
    if unanswered:
        return "unanswered", f"no answer to {', '.join(unanswered)}"
    ended_by_bot = outcome in NOT_FAILURES  # the transfer it could not make ended the call
    if (
        len(trace.turns) < planned_turns
        and trace.hung_up_by != "caller-mid-prompt"
        and not ended_by_bot
    ):
        return "ended_early", f"call ended after {len(trace.turns)} of {planned_turns} turns"
    return "", ""


def failed_call(
    spec: CallSpec,
    call_id: str,
    error: str,
    *,
    concurrency: int,
    started_s: float,
    duration_s: float,
) -> CallResult:
    """A call that broke on the caller's side (connection refused, timeout...)."""
    return CallResult(
        call_id=call_id,
        corpus_call=spec.id,
        concurrency=concurrency,
        started_s=round(started_s, 3),
        duration_s=round(duration_s, 3),
        expected_outcome=spec.outcome,
        outcome="error",
        failure=error or "error",
        failure_kind="caller_error",
    )


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, mean, max (None when there are no values)."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    data = np.asarray(values, dtype=np.float64)
    return {
        "count": int(data.size),
        **{f"p{q}": round(float(np.percentile(data, q)), 1) for q in (50, 95, 99)},
        "mean": round(float(data.mean()), 1),
        "max": round(float(data.max()), 1),
    }


def normalize_text(text: str, language: str = "fr") -> str:
    """Lower case, no punctuation, numbers in words: "06 12." and "zéro six douze" agree."""
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    text = re.sub(r"\d+", lambda m: " ".join(_number_words(m.group(), language)), text)
    text = re.sub(r"[-'’]", " ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _number_words(digits: str, language: str) -> list[str]:
    if len(digits) > 1 and digits.startswith("0"):
        return [num2words(int(d), lang=language) for d in digits]
    return [str(num2words(int(digits), lang=language))]


def word_error_rate(pairs: Sequence[tuple[str, str]], language: str = "fr") -> float | None:
    """Corpus-level WER (jiwer) over (reference, hypothesis) pairs; None without pairs."""
    try:  # here, not at the top: the command line imports this module for every command
        import jiwer
    except ModuleNotFoundError as exc:
        raise MissingExtra("jiwer", "loadtest") from exc
    refs, hyps = [], []
    for reference, hypothesis in pairs:
        ref = normalize_text(reference, language)
        if ref:
            refs.append(ref)
            hyps.append(normalize_text(hypothesis, language))
    if not refs:
        return None
    return round(float(jiwer.wer(refs, hyps)), 4)


def summarize(calls: Sequence[CallResult], language: str = "fr") -> dict[str, Any]:
    """The aggregate figures of one run (or one concurrency level)."""
    turns = [t for c in calls for t in c.turns]
    replied = [t for t in turns if t.kind in ("speech", "dtmf")]
    latencies = [t.latency_ms for t in replied if t.latency_ms is not None]
    barge = [t for t in turns if t.barge_in]
    wer_pairs = [(t.reference, t.heard or "") for t in turns if t.kind == "speech" and t.reference]
    judged = [t for c in calls if not c.failed for t in c.turns if t.kind != "silence"]
    failed = [c for c in calls if c.failed]
    return {
        "calls": len(calls),
        "failed_calls": len(failed),
        "error_rate": round(len(failed) / len(calls), 4) if calls else 0.0,
        "failures": sorted({c.failure for c in failed}),
        "failures_by_kind": _counts(c.failure_kind or "unspecified" for c in failed),
        "outcomes": _counts(c.outcome for c in calls),
        "notes": {
            o: NOT_FAILURES[o] for o in sorted({c.outcome for c in calls}) if o in NOT_FAILURES
        },
        "turns": len(replied),
        "unanswered_turns": sum(1 for t in replied if t.latency_ms is None),
        "voice_to_voice_ms": percentiles(latencies),
        "greeting_ms": percentiles([c.greeting_ms for c in calls if c.greeting_ms is not None]),
        "barge_in_ms": percentiles([t.barge_in_ms for t in barge if t.barge_in_ms is not None]),
        "barge_in_turns": len(barge),
        "wer": word_error_rate(wer_pairs, language),
        "intent_accuracy": _ratio(sum(t.intent_ok for t in judged), len(judged)),
        "per_intent": per_intent(judged),
        "outcome_accuracy": _ratio(
            sum(OUTCOME_ALIASES.get(c.outcome, c.outcome) == c.expected_outcome for c in calls),
            len(calls),
        ),
        "dropped_frames": sum(c.dropped_frames for c in calls),
        "underruns": sum(c.underruns for c in calls),
        "per_worker": per_worker(calls),
    }


def per_worker(calls: Sequence[CallResult]) -> dict[str, dict[str, Any]]:
    """Calls, failures and voice-to-voice latency by cluster worker (empty off a cluster)."""
    groups: dict[str, list[CallResult]] = {}
    for call in calls:
        if call.worker:
            groups.setdefault(call.worker, []).append(call)
    return {
        worker: {
            "calls": len(served),
            "failed_calls": sum(c.failed for c in served),
            "voice_to_voice_ms": percentiles(
                [t.latency_ms for c in served for t in c.turns if t.latency_ms is not None]
            ),
        }
        for worker, served in sorted(groups.items())
    }


def per_intent(turns: Sequence[TurnResult]) -> dict[str, dict[str, float | int | None]]:
    """Accuracy by expected intent (``(none)``: the bot should recognise nothing)."""
    groups: dict[str, list[TurnResult]] = {}
    for turn in turns:
        groups.setdefault(turn.expected_intent or NO_INTENT, []).append(turn)
    return {
        intent: {
            "turns": len(group),
            "correct": sum(t.intent_ok for t in group),
            "accuracy": _ratio(sum(t.intent_ok for t in group), len(group)),
        }
        for intent, group in sorted(groups.items())
    }


def _counts(values: Iterable[str]) -> dict[str, int]:
    """How many of each value, most frequent first."""
    return dict(Counter(values).most_common())


def explain(kind: str) -> str:
    """What a failure kind or a reported outcome means, for reports."""
    return FAILURE_KINDS.get(kind) or NOT_FAILURES.get(kind) or ""


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
