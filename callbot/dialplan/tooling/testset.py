"""Held-out test sets: phrasings per intent, written apart from a dialplan's examples.

A test set measures how well the matcher generalises, so it must never be fed back
into the dialplan: ``callbot dialplan check`` flags any phrasing that copies an
example. File format (``dialplans/testsets/<dialplan stem>.yaml``)::

    dialplan: ../assurance-maladie.yaml   # optional, relative to this file
    intents:
      carte_vitale_perdue:
        - jai perdu ma carte vital           # speech-recognition slips welcome
        - ...
    out_of_scope:                            # must not be answered (no intent, or asked)
      - je voudrais commander une pizza
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from callbot.dialplan.yamlpos import load_validated, position

Phrase = Annotated[str, Field(min_length=1, pattern=r"\S")]


class _TestSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dialplan: str | None = None
    intents: dict[str, list[Phrase]]
    out_of_scope: list[Phrase] = []


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    expected: str | None
    """Intent the phrasing means; None for out-of-scope phrasings."""
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class TestSet:
    source: Path
    dialplan: Path | None
    """The dialplan file the set was written for, when it names one."""
    cases: tuple[Case, ...]

    @property
    def in_scope(self) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.expected is not None)

    @property
    def out_of_scope(self) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.expected is None)

    def counts(self) -> dict[str, int]:
        """Phrasings per intent."""
        counts: dict[str, int] = {}
        for case in self.in_scope:
            assert case.expected is not None
            counts[case.expected] = counts.get(case.expected, 0) + 1
        return counts


def default_testset_path(dialplan_path: Path) -> Path:
    """``dialplans/x.yaml`` -> ``dialplans/testsets/x.yaml``."""
    return dialplan_path.parent / "testsets" / f"{dialplan_path.stem}.yaml"


def load_testset(path: Path) -> TestSet:
    """Read and validate a test set; :class:`DialplanError` says where it is wrong."""
    root, parsed = load_validated(path, _TestSetFile, "test set")
    cases = []
    for intent, phrases in parsed.intents.items():
        for k, phrase in enumerate(phrases):
            cases.append(Case(phrase, intent, *position(root, ["intents", intent, k])))
    for k, phrase in enumerate(parsed.out_of_scope):
        cases.append(Case(phrase, None, *position(root, ["out_of_scope", k])))
    dialplan = (path.parent / parsed.dialplan).resolve() if parsed.dialplan else None
    return TestSet(path, dialplan, tuple(cases))
