"""``callbot dialplan check``: everything the loader refuses, plus what only ops can judge.

Errors come from :func:`~callbot.dialplan.find_problems` (schema, unknown fields,
templates, duplicate ids, digits and examples); this module adds the checks that need
the whole file or its test set:

* examples of two intents that say *nearly* the same thing (warning: the matcher
  cannot tell them apart, so callers get asked "Vous voulez parler de ... ?");
* keypad digits the menu announces that no intent takes (error), and intent digits
  the menu never announces (warning: nobody can find them);
* ``then: transfer`` to a queue the dialplan does not declare, when it declares some;
* sentences and transfer reasons of a French dialplan that read as English (warning:
  :func:`~callbot.dialplan.checks.untranslated_issues`);
* answers that run over 15 s spoken (warning: :func:`~callbot.dialplan.spoken.
  long_answer_issues`; the rest belongs in ``details``);
* test-set phrasings that copy or nearly copy an example (error: the measured
  accuracy would be a lie), name an unknown intent (error), or are too few (warning);
* French that does not read right in any sentence the bot says, rendered, and in the
  clarification question for every intent (:mod:`callbot.dialplan.wording`): a label
  that is not a noun phrase, "de le" left uncontracted (warnings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from callbot.dialplan import Dialplan, find_problems
from callbot.dialplan.checks import sentences, untranslated_issues
from callbot.dialplan.model import BUILTIN_CLARIFY
from callbot.dialplan.normalize import base_language, matching_words
from callbot.dialplan.spoken import long_answer_issues
from callbot.dialplan.templates import render
from callbot.dialplan.tooling.testset import TestSet, default_testset_path, load_testset
from callbot.dialplan.wording import clarify_sentence, label_problem, wording_problems
from callbot.dialplan.yamlpos import compose, position
from callbot.errors import DialplanError

NEAR_DUPLICATE_RATIO = 90
"""rapidfuzz ``token_sort_ratio`` (0-100) of two examples' content words from which they
count as saying the same thing."""

MIN_TEST_PHRASES = 10
"""Held-out phrasings wanted per intent."""

_MENU_DIGIT = re.compile(
    r"\b(?:tapez|appuyez sur|faites le|composez|press|dial|enter)\s+(?:la touche\s+)?([0-9*#])",
    re.IGNORECASE,
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    source: str
    line: int
    column: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        tag = "warning: " if self.severity == "warning" else ""
        return f"{self.source}:{self.line}:{self.column}: {tag}{self.message}"


@dataclass(frozen=True, slots=True)
class _Example:
    intent: str
    words: str
    """Content words, sorted and joined: what the matcher sees."""
    line: int
    column: int


def lint_file(path: Path, testset: Path | None = None) -> list[Finding]:
    """Every finding for dialplan ``path`` and its test set (``testsets/<stem>.yaml``
    next to it when ``testset`` is None and that file exists)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(source, 1, 1, f"cannot read dialplan: {exc}")]
    dialplan, problems = find_problems(text, source)
    if dialplan is None:
        return [Finding(p.source, p.line, p.column, p.message) for p in problems]
    root, _ = compose(text, source)
    examples = _examples(dialplan, root)
    findings = [*_near_duplicates(examples, source), *_menu_findings(dialplan, root, source)]
    findings += _queue_findings(dialplan, root, source)
    findings += _wording_findings(dialplan, root, source)
    findings += [
        Finding(source, *position(root, list(issue.path)), issue.message, "warning")
        for issue in (*untranslated_issues(dialplan), *long_answer_issues(dialplan))
    ]
    testset = testset or default_testset_path(path)
    if testset.exists():
        negatives = _examples(dialplan, root, "negative_examples")
        findings += lint_testset(dialplan, [*examples, *negatives], testset)
    return sorted(findings, key=lambda f: (f.source, f.line, f.column))


def lint_testset(dialplan: Dialplan, examples: Sequence[_Example], path: Path) -> list[Finding]:
    try:
        testset = load_testset(path)
    except DialplanError as exc:
        return [_finding_from_text(line) for line in str(exc).splitlines()]
    source = str(path)
    known = {intent.id for intent in dialplan.intents}
    findings = [
        Finding(source, c.line, c.column, f"unknown intent {c.expected!r}")
        for c in testset.in_scope
        if c.expected not in known
    ]
    counts = testset.counts()
    for intent in dialplan.intents:
        if counts.get(intent.id, 0) < MIN_TEST_PHRASES:
            findings.append(
                Finding(
                    source,
                    1,
                    1,
                    f"intent {intent.id!r} has {counts.get(intent.id, 0)} held-out phrasings "
                    f"(want {MIN_TEST_PHRASES})",
                    "warning",
                )
            )
    findings += _copies(dialplan, examples, testset)
    return findings


def _copies(
    dialplan: Dialplan, examples: Sequence[_Example], testset: TestSet
) -> Iterator[Finding]:
    """Test phrasings whose content words (nearly) equal an example's."""
    cases = [c for c in testset.cases if matching_words(c.text, dialplan.language)]
    if not cases or not examples:
        return
    words = [_key(c.text, dialplan.language) for c in cases]
    ratios = cdist(words, [e.words for e in examples], scorer=fuzz.token_sort_ratio, workers=1)
    for row, case in enumerate(cases):
        col = int(np.argmax(ratios[row]))
        if ratios[row, col] >= NEAR_DUPLICATE_RATIO:
            ex = examples[col]
            kind = "copies" if words[row] == ex.words else "nearly copies"
            yield Finding(
                str(testset.source),
                case.line,
                case.column,
                f"held-out phrasing {kind} an example of {ex.intent!r} "
                f"(line {ex.line}): write another one",
            )


def _examples(dialplan: Dialplan, root: yaml.Node, field: str = "examples") -> list[_Example]:
    """The examples (or, with ``field="negative_examples"``, the negative examples)."""
    found = []
    for i, intent in enumerate(dialplan.intents):
        for j, text in enumerate(getattr(intent, field)):
            line, column = position(root, ["intents", i, field, j])
            found.append(_Example(intent.id, _key(text, dialplan.language), line, column))
    return found


def _near_duplicates(examples: Sequence[_Example], source: str) -> Iterator[Finding]:
    """Pairs of examples of different intents that differ by a letter or two."""
    if len(examples) < 2:
        return
    words = [e.words for e in examples]
    ratios = cdist(words, words, scorer=fuzz.token_sort_ratio, workers=1)
    rows, cols = np.nonzero(ratios >= NEAR_DUPLICATE_RATIO)
    for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
        first, second = examples[a], examples[b]
        if a < b and first.intent != second.intent and first.words != second.words:
            yield Finding(
                source,
                second.line,
                second.column,
                f"example nearly says the same as one of intent {first.intent!r} "
                f"(line {first.line}): the matcher cannot tell them apart",
                "warning",
            )


def _menu_findings(dialplan: Dialplan, root: yaml.Node, source: str) -> Iterator[Finding]:
    menu = dialplan.menu
    digits = {i.dtmf: n for n, i in enumerate(dialplan.intents) if i.dtmf is not None}
    if menu is None:
        return
    announced = set(_MENU_DIGIT.findall(menu.prompt))
    line, column = position(root, ["menu", "prompt"])
    for digit in sorted(announced - set(digits)):
        yield Finding(source, line, column, f"menu announces key {digit} but no intent has it")
    for digit in sorted(set(digits) - announced):
        where = position(root, ["intents", digits[digit], "dtmf"])
        yield Finding(source, *where, f"key {digit} is never announced by menu.prompt", "warning")


def _queue_findings(dialplan: Dialplan, root: yaml.Node, source: str) -> Iterator[Finding]:
    """Transfers to undeclared queues, when the dialplan declares its queues."""
    declared = getattr(dialplan, "queues", None)
    if not declared:
        return
    names = set(declared) if not isinstance(declared, dict) else set(declared.keys())
    names = {getattr(q, "name", q) for q in names}
    for i, intent in enumerate(dialplan.intents):
        queue = intent.transfer.queue if intent.transfer else None
        if queue is not None and queue not in names:
            where = position(root, ["intents", i, "transfer", "queue"])
            yield Finding(source, *where, f"queue {queue!r} is not declared in 'queues'")


_NO_LABEL = "no label: the clarification question names the intent by its first example"


def _wording_findings(dialplan: Dialplan, root: yaml.Node, source: str) -> Iterator[Finding]:
    """Every sentence rendered (variables as a neutral word, the clarification question
    with each intent's label) and read for French that does not read right."""
    language = dialplan.language
    for path, text, allowed in sentences(dialplan):
        rendered = render(text, dict.fromkeys(allowed, "X"))
        for issue in wording_problems(rendered, language):
            yield Finding(source, *position(root, list(path)), issue, "warning")
    clarify = dialplan.clarify or BUILTIN_CLARIFY.get(base_language(language))
    for i, intent in enumerate(dialplan.intents):
        where = position(root, ["intents", i, "label" if intent.label else "id"])
        if intent.label is None:
            yield Finding(source, *where, _NO_LABEL, "warning")
        elif (not_a_noun := label_problem(intent.label, language)) is not None:
            yield Finding(source, *where, not_a_noun, "warning")
        if clarify is not None:
            question = clarify_sentence(clarify.prompt, intent.spoken_label, {}, language)
            for issue in wording_problems(question, language):
                yield Finding(source, *where, f"{question!r}: {issue}", "warning")


def _key(text: str, language: str) -> str:
    return " ".join(sorted(matching_words(text, language)))


_POSITION = re.compile(r"^(?P<source>.*?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")


def _finding_from_text(text: str) -> Finding:
    match = _POSITION.match(text)
    if match is None:
        return Finding(text.split(":", 1)[0], 1, 1, text)
    return Finding(match["source"], int(match["line"]), int(match["column"]), match["message"])
