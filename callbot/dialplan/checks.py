"""Rules of a dialplan that span several fields, each reported at the field concerned.

The model (:mod:`callbot.dialplan.model`) checks shapes and types; these checks
run on a well-typed :class:`Dialplan` and return every :class:`Issue` at once, so
ops fix a file in one go. The loader turns each path into ``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from callbot.dialplan.model import BUILTIN_CLARIFY, Dialplan
from callbot.dialplan.normalize import base_language, content_words
from callbot.dialplan.templates import CALL_VARIABLES, CLARIFY_VARIABLES, template_problem

FieldPath = tuple[str | int, ...]
"""Where a value sits in the file: ``("intents", 3, "answer")``."""


@dataclass(frozen=True, slots=True)
class Issue:
    path: FieldPath
    message: str


def check_dialplan(dialplan: Dialplan) -> list[Issue]:
    """Every cross-field problem of ``dialplan``; empty when it is usable."""
    issues = [*_intent_issues(dialplan), *_example_issues(dialplan)]
    for path, text, allowed in _sentences(dialplan):
        problem = template_problem(text, allowed)
        if problem:
            issues.append(Issue(path, problem))
    if dialplan.matching.low > dialplan.matching.high:
        issues.append(Issue(("matching", "low"), "low must not be above high"))
    if dialplan.clarify is None and base_language(dialplan.language) not in BUILTIN_CLARIFY:
        issues.append(
            Issue(("language",), "no built-in clarification wording: add a 'clarify' section")
        )
    return issues


def _intent_issues(dialplan: Dialplan) -> Iterator[Issue]:
    first_id: dict[str, int] = {}
    first_digit: dict[str, int] = {}
    for i, intent in enumerate(dialplan.intents):
        if intent.id in first_id:
            yield Issue(("intents", i, "id"), f"duplicate intent id {intent.id!r}")
        first_id.setdefault(intent.id, i)
        if intent.dtmf is not None:
            if intent.dtmf in first_digit:
                other = dialplan.intents[first_digit[intent.dtmf]].id
                yield Issue(("intents", i, "dtmf"), f"digit {intent.dtmf} is already {other!r}")
            first_digit.setdefault(intent.dtmf, i)
        if intent.answer is None and intent.then == "continue":
            yield Issue(("intents", i), "missing field 'answer' (required with then: continue)")
        if intent.transfer is not None and intent.then != "transfer":
            yield Issue(("intents", i, "transfer"), "'transfer' needs 'then: transfer'")


def _example_issues(dialplan: Dialplan) -> Iterator[Issue]:
    """Examples must keep a meaningful word, and two intents may not share one."""
    owner: dict[tuple[str, ...], str] = {}
    for i, intent in enumerate(dialplan.intents):
        for j, example in enumerate(intent.examples):
            words = content_words(example, dialplan.language)
            path: FieldPath = ("intents", i, "examples", j)
            if not words:
                yield Issue(path, "example has no meaningful word once filler words are removed")
                continue
            key = tuple(sorted(words))
            other = owner.setdefault(key, intent.id)
            if other != intent.id:
                yield Issue(path, f"example says the same as one of intent {other!r}")


def _sentences(dialplan: Dialplan) -> Iterator[tuple[FieldPath, str, frozenset[str]]]:
    """Every sentence template of ``dialplan`` with the variables it may use."""
    call = CALL_VARIABLES
    yield ("greeting",), dialplan.greeting, call
    yield ("goodbye",), dialplan.goodbye, call
    yield ("error_apology",), dialplan.error_apology, call
    yield ("transfer", "handover"), dialplan.transfer.handover, call
    for k, prompt in enumerate(dialplan.no_input.prompts):
        yield ("no_input", "prompts", k), prompt, call
    if dialplan.no_input.end is not None:
        yield ("no_input", "end"), dialplan.no_input.end, call
    for k, prompt in enumerate(dialplan.no_match.prompts):
        yield ("no_match", "prompts", k), prompt, call
    if dialplan.menu is not None:
        yield ("menu", "prompt"), dialplan.menu.prompt, call
        yield ("menu", "invalid"), dialplan.menu.invalid, call
    if dialplan.clarify is not None:
        yield ("clarify", "prompt"), dialplan.clarify.prompt, CLARIFY_VARIABLES
        yield ("clarify", "on_no"), dialplan.clarify.on_no, call
    if dialplan.follow_up is not None:
        yield ("follow_up", "prompt"), dialplan.follow_up.prompt, call
        yield ("follow_up", "on_yes"), dialplan.follow_up.on_yes, call
    for i, intent in enumerate(dialplan.intents):
        if intent.answer is not None:
            yield ("intents", i, "answer"), intent.answer, call
