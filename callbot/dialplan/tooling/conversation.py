"""``callbot dialplan test``: scripted conversations with expectations, for ops and CI.

A test file names its dialplan and lists conversations; each turn is something the
caller does (says, presses, stays silent, or the call breaks) and what must follow::

    dialplan: ../assurance-maladie.yaml      # relative to this file
    now: 2026-05-14T10:00                    # optional: the calls' clock (local time)
    tests:
      - name: carte Vitale perdue, puis au revoir
        vars: {caller_number: "0612345678"}  # optional call variables
        now: 2025-03-12T10:00:00+01:00       # optional instant of the call (business hours)
        greeting: {says: assistant vocal}    # optional checks on the greeting
        turns:
          - say: j'ai perdu ma carte vitale
            intent: carte_vitale_perdue      # null: no intent
            outcome: matched                 # a TurnOutcome value
            says: ameli                      # a spoken sentence contains it (or a list)
          - dtmf: 0
            transfer: conseillers            # a Transfer to this queue
          - silence: true
            hangup: true                     # ends with (true) / without (false) a hang-up

Other checks: ``not_says``, ``ended``, ``min_confidence``, ``slots`` (slot values, once
the engine exposes them as ``TurnResult.slots``), ``details`` (on the reply to "more
details?": true, the bot said the intent's details; false, it did not). Text checks
ignore case and accents.

A call's clock is its own ``now``, else the file's, else ``callbot dialplan test --now``,
else the system clock: a test of opening hours sets it, or it passes by day and fails by
night. Without an offset, an instant is the dialplan's local time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    model_validator,
)

from callbot.dialplan import (
    DialogEngine,
    Hangup,
    Say,
    Transfer,
    TurnOutcome,
    TurnResult,
    load_dialplan,
)
from callbot.dialplan.clock import parse_instant
from callbot.dialplan.model import Dialplan
from callbot.dialplan.normalize import strip_accents
from callbot.dialplan.states import OfferingDetails
from callbot.dialplan.yamlpos import load_validated, position


def _text_from_yaml(value: object) -> object:
    """``dtmf: 1`` and ``vars: {n: 0612}`` are YAML ints; ops mean the text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Texty = Annotated[str, BeforeValidator(_text_from_yaml)]


def _instant_from_yaml(value: object) -> dt.datetime:
    """``2026-05-14T10:00`` is text in YAML, ``2026-05-14T10:00:00`` a timestamp."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return parse_instant(value)
    raise ValueError("expected a date and time such as 2026-05-14T10:00")


Instant = Annotated[dt.datetime, PlainValidator(_instant_from_yaml)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Model):
    intent: str | None = None
    outcome: TurnOutcome | None = None
    says: str | tuple[str, ...] | None = None
    not_says: str | tuple[str, ...] | None = None
    transfer: str | None = None
    hangup: bool | None = None
    ended: bool | None = None
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    slots: dict[str, Texty] | None = None


class Turn(Expect):
    details: bool | None = None
    """The turn answers "more details?" and the bot says the details (true) or not."""
    say: str | None = None
    dtmf: Texty | None = None
    silence: bool | None = None
    error: bool | None = None

    @model_validator(mode="after")
    def _one_event(self) -> Turn:
        given = [k for k in ("say", "dtmf", "silence", "error") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("each turn needs exactly one of say, dtmf, silence, error")
        return self


class Conversation(_Model):
    name: str
    vars: dict[str, Texty] = {}
    now: Instant | None = None
    """When the call happens (opening hours, "hier"); the file's ``now`` when absent."""
    greeting: Expect | None = None
    turns: tuple[Turn, ...] = Field(min_length=1)


class _TestFile(_Model):
    dialplan: str
    now: Instant | None = None
    tests: tuple[Conversation, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class ConversationResult:
    name: str
    source: str
    line: int
    failures: tuple[str, ...]
    """``file:line:column: message`` for every failed expectation."""

    @property
    def passed(self) -> bool:
        return not self.failures


def is_dialplan_file(path: Path) -> bool:
    """A dialplan (rather than a test file): it has a greeting at top level."""
    try:
        head = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.startswith("greeting:") for line in head.splitlines())


def tests_for(dialplan_path: Path) -> Path:
    """``dialplans/x.yaml`` -> ``dialplans/tests/x.yaml``."""
    return dialplan_path.parent / "tests" / f"{dialplan_path.stem}.yaml"


def run_test_file(path: Path, now: dt.datetime | None = None) -> list[ConversationResult]:
    """Run every conversation of ``path`` (at ``now`` when neither it nor the file sets
    its own clock); :class:`DialplanError` if the file is invalid."""
    root, parsed = load_validated(path, _TestFile, "test file")
    source = str(path)
    dialplan = load_dialplan(path.parent / parsed.dialplan)
    results = []
    for n, conversation in enumerate(parsed.tests):
        where = position(root, ["tests", n])
        turn_at = [position(root, ["tests", n, "turns", k]) for k in range(len(conversation.turns))]
        clock = conversation.now or parsed.now or now
        failures = [
            f"{source}:{line}:{col}: {msg}"
            for (line, col), msg in _run(dialplan, conversation, where, turn_at, clock)
        ]
        results.append(ConversationResult(conversation.name, source, where[0], tuple(failures)))
    return results


def _run(
    dialplan: Dialplan,
    conversation: Conversation,
    where: tuple[int, int],
    turn_at: list[tuple[int, int]],
    now: dt.datetime | None,
) -> Iterator[tuple[tuple[int, int], str]]:
    call_vars = {"call_id": f"test-{where[0]}", **conversation.vars}
    engine = DialogEngine(dialplan, call_vars, now=now)
    label = f"{conversation.name!r}"
    try:
        greeting = engine.start()
    except Exception as exc:  # a test reports a crash, never raises it
        yield where, f"{label}: greeting raised {type(exc).__name__}: {exc}"
        return
    if conversation.greeting is not None:
        for msg in check(conversation.greeting, greeting):
            yield where, f"{label}, greeting: {msg}"
    for k, turn in enumerate(conversation.turns):
        event = _describe(turn)
        offered = engine.state.phase
        try:
            result = _play(engine, turn)
        except Exception as exc:
            yield turn_at[k], f"{label}, turn {k + 1} ({event}): raised {type(exc).__name__}: {exc}"
            return
        failures = check(turn, result)
        if turn.details is not None:
            failures += _details_failures(turn.details, offered, result)
        for msg in failures:
            yield turn_at[k], f"{label}, turn {k + 1} ({event}): {msg}"


def _play(engine: DialogEngine, turn: Turn) -> TurnResult:
    if turn.say is not None:
        return engine.on_utterance(turn.say)
    if turn.dtmf is not None:
        return engine.on_dtmf(turn.dtmf)
    if turn.silence:
        return engine.on_no_input()
    return engine.on_error()


def _describe(turn: Turn) -> str:
    if turn.say is not None:
        return f"say {turn.say!r}"
    if turn.dtmf is not None:
        return f"dtmf {turn.dtmf}"
    return "silence" if turn.silence else "error"


def check(expect: Expect, result: TurnResult) -> list[str]:
    """What ``result`` got wrong against ``expect``; empty when it meets it."""
    out: list[str] = []
    got_conf = "-" if result.confidence is None else f"{result.confidence:.2f}"
    if "intent" in expect.model_fields_set and result.intent != expect.intent:
        out.append(f"expected intent {expect.intent}, got {result.intent} ({got_conf})")
    if expect.outcome is not None and result.outcome != expect.outcome:
        out.append(f"expected outcome {expect.outcome}, got {result.outcome}")
    spoken = [a.text for a in result.actions if isinstance(a, Say)]
    heard = _fold(" | ".join(spoken))
    for text in _texts(expect.says):
        if _fold(text) not in heard:
            out.append(f"expected the bot to say {text!r}, it said {spoken}")
    for text in _texts(expect.not_says):
        if _fold(text) in heard:
            out.append(f"the bot said {text!r}: {spoken}")
    queues = [a.queue for a in result.actions if isinstance(a, Transfer)]
    if expect.transfer is not None and expect.transfer not in queues:
        out.append(f"expected a transfer to {expect.transfer!r}, got {queues or 'none'}")
    hung_up = any(isinstance(a, Hangup) for a in result.actions)
    if expect.hangup is not None and hung_up != expect.hangup:
        out.append("expected a hang-up" if expect.hangup else "unexpected hang-up")
    if expect.ended is not None and result.ended != expect.ended:
        out.append("expected the call to end" if expect.ended else "the call ended")
    if expect.min_confidence is not None and (result.confidence or 0.0) < expect.min_confidence:
        out.append(f"expected confidence >= {expect.min_confidence}, got {got_conf}")
    if expect.slots is not None:
        out += _slot_failures(expect.slots, getattr(result, "slots", None))
    return out


def _details_failures(wanted: bool, offered: object, result: TurnResult) -> list[str]:
    """Whether the turn, played while ``offered`` was the engine's phase, said the details."""
    if not isinstance(offered, OfferingDetails):
        return ["expected a reply to 'more details?', but none was asked"]
    said = any(isinstance(a, Say) and a.text == offered.details for a in result.actions)
    if said == wanted:
        return []
    return ["expected the details" if wanted else f"the bot said the details: {offered.details!r}"]


def _slot_failures(wanted: dict[str, str], got: Any) -> list[str]:
    values = dict(got or {})
    return [
        f"expected slot {name} = {value!r}, got {values.get(name)!r}"
        for name, value in wanted.items()
        if str(values.get(name)) != value
    ]


def _texts(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def _fold(text: str) -> str:
    return strip_accents(text.casefold()).replace("’", "'")
