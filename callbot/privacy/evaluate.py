"""Recall and precision of :mod:`callbot.privacy.redact` on an annotated test set.

A test set is one utterance a line (``#`` starts a comment) with each identifier marked
``[KIND:text]``, e.g. ``mon numéro c'est le [TEL:06 12 34 56 78]``. An identifier is
*recalled* when predicted spans (of any kind: masked is masked) cover all its
characters; a prediction is *correct* when it overlaps an identifier. Recall is per
identifier, precision per prediction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.privacy.redact import Finding, find

_MARK = re.compile(r"\[([A-Z_]+):([^\]]+)\]")


@dataclass(frozen=True, slots=True)
class Annotated:
    text: str
    gold: tuple[tuple[str, int, int], ...]
    """(kind, start, end) of each identifier in ``text``."""


def parse_line(line: str) -> Annotated:
    text, gold, pos = [], [], 0
    length = 0
    for match in _MARK.finditer(line):
        before = line[pos : match.start()]
        text.append(before)
        length += len(before)
        gold.append((match.group(1), length, length + len(match.group(2))))
        text.append(match.group(2))
        length += len(match.group(2))
        pos = match.end()
    text.append(line[pos:])
    return Annotated("".join(text), tuple(gold))


def load(paths: list[Path]) -> list[Annotated]:
    items = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                items.append(parse_line(line.rstrip("\n")))
    return items


@dataclass
class Score:
    utterances: int = 0
    identifiers: Counter[str] = field(default_factory=Counter)
    recalled: Counter[str] = field(default_factory=Counter)
    predictions: int = 0
    correct_predictions: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = sum(self.identifiers.values())
        return sum(self.recalled.values()) / total if total else 1.0

    @property
    def precision(self) -> float:
        return self.correct_predictions / self.predictions if self.predictions else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "utterances": self.utterances,
            "identifiers": sum(self.identifiers.values()),
            "predictions": self.predictions,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "recall_by_kind": {
                kind: round(self.recalled[kind] / n, 4)
                for kind, n in sorted(self.identifiers.items())
            },
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def score(items: list[Annotated]) -> Score:
    result = Score(utterances=len(items))
    for item in items:
        found = find(item.text)
        for kind, start, end in item.gold:
            result.identifiers[kind] += 1
            if _covered(item.text, start, end, found):
                result.recalled[kind] += 1
            else:
                result.misses.append(f"{kind}: {item.text}")
        for pred in found:
            result.predictions += 1
            if any(pred.start < end and start < pred.end for _, start, end in item.gold):
                result.correct_predictions += 1
            else:
                result.false_alarms.append(f"{pred.kind}: {item.text[pred.start : pred.end]!r}")
    return result


def _covered(text: str, start: int, end: int, found: list[Finding]) -> bool:
    return all(
        text[i].isspace() or any(f.start <= i < f.end for f in found) for i in range(start, end)
    )


def default_paths() -> list[Path]:
    root = Path(__file__).resolve().parents[2] / "tests" / "data" / "redaction"
    return sorted(root.glob("*.tsv"))
