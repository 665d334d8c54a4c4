"""Read dialplan YAML files into :class:`Dialplan` objects, or say exactly what is wrong.

The file is *composed* first (PyYAML's node tree keeps each value's line and
column), then constructed and validated. Every problem, from a YAML syntax error to
an unknown template variable, is reported as ``file:line:column: message``, all of
them at once, in a :class:`~callbot.errors.DialplanError`.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from callbot.dialplan import fields
from callbot.dialplan.checks import FieldPath, check_dialplan
from callbot.dialplan.model import Dialplan
from callbot.dialplan.yamlpos import node_at
from callbot.errors import DialplanError

logger = logging.getLogger(__name__)

DIALPLAN_SUFFIXES = (".yaml", ".yml")

_MESSAGES = {
    "tuple_type": "expected a list",
    "string_type": "expected a text",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "model_type": "expected a mapping of fields",
    "model_attributes_type": "expected a mapping of fields",
}

_PATTERN_MESSAGES = {
    fields.TEXT_PATTERN: "must not be blank",
    fields.NAME_PATTERN: "expected a name of letters, digits, '_', '.' or '-'",
    fields.DIGIT_PATTERN: "expected one keypad key: 0-9, *, #, A-D",
    fields.LANGUAGE_PATTERN: "expected a language tag such as fr-FR or en-US",
}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, through ``X | None``, ``tuple[X, ...]`` and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The model of the mapping at ``path`` in a dialplan file (list indexes skipped)."""
    found: type[BaseModel] | None = Dialplan
    for part in path:
        if isinstance(part, int):
            continue
        field = found.model_fields.get(part) if found is not None else None
        found = _model_in(field.annotation) if field is not None else None
    return found


def _field_homes() -> dict[str, list[str]]:
    """Each field name -> the sections that have it (``on_yes`` -> ``follow_up``)."""
    homes: dict[str, list[str]] = {}

    def walk(current: type[BaseModel], where: str) -> None:
        for name, field in current.model_fields.items():
            homes.setdefault(name, []).append(where or "top level")
            inner = _model_in(field.annotation)
            if inner is not None:
                walk(inner, f"{where}.{name}" if where else name)

    walk(Dialplan, "")
    return homes


_FIELD_HOMES = _field_homes()


def _unknown_field(name: str, path: FieldPath) -> str:
    """``unknown field 'anwser' (did you mean 'answer'?)``: close names among the fields
    of that very place; a field of another section says where it belongs."""
    here = _model_at(path)
    fields = sorted(here.model_fields) if here is not None else []
    close = [f for f in difflib.get_close_matches(name, fields, n=1) if f != name]
    if close:
        return f"unknown field {name!r} (did you mean {close[0]!r}?)"
    homes = _FIELD_HOMES.get(name)
    if homes:
        where = _dotted(path) or "top level"
        return (
            f"unknown field {name!r}: not a field of {where} ({', '.join(fields)}); "
            f"it belongs in {' or '.join(sorted(set(homes)))}"
        )
    return f"unknown field {name!r}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a dialplan file; line and column count from 1."""

    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


def load_dialplan(path: str | Path) -> Dialplan:
    """Read and validate one dialplan file; :class:`DialplanError` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialplanError(f"{path}: cannot read dialplan: {exc}") from exc
    return parse_dialplan(text, source=str(path))


def load_dialplan_dir(directory: str | Path) -> dict[str, Dialplan]:
    """Every ``*.yaml`` / ``*.yml`` dialplan of ``directory``, keyed by file stem."""
    found = sorted(p for p in Path(directory).iterdir() if p.suffix in DIALPLAN_SUFFIXES)
    return {p.stem: load_dialplan(p) for p in found}


def parse_dialplan(text: str, source: str = "<string>") -> Dialplan:
    """Validate dialplan YAML ``text``; ``source`` names it in error messages."""
    dialplan, problems = find_problems(text, source)
    if problems or dialplan is None:
        raise DialplanError("\n".join(str(p) for p in problems))
    logger.info("dialplan %s: %d intents, %s", source, len(dialplan.intents), dialplan.language)
    return dialplan


def find_problems(text: str, source: str = "<string>") -> tuple[Dialplan | None, list[Problem]]:
    """The dialplan (None if unusable) and every problem found, in file order."""
    root, data, problems = _compose(text, source)
    if root is None or problems:
        return None, problems
    try:
        dialplan = Dialplan.model_validate(_freeze(data))
    except ValidationError as exc:
        errors = _deepest(exc.errors())
        found = [_problem_from_pydantic(err, root, source) for err in errors]
        return None, sorted(found, key=lambda p: (p.line, p.column))
    issues = check_dialplan(dialplan)
    found = [
        _at(source, node_at(root, issue.path), _prefixed(_dotted(issue.path), issue.message))
        for issue in issues
    ]
    if found:
        return None, sorted(found, key=lambda p: (p.line, p.column))
    return dialplan, []


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1 timestamps: ``2025-12-24`` stays the text
    ops wrote (checked as a date at its own line), and an impossible date such as
    ``2025-02-30`` is a reported problem instead of a crash inside PyYAML."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any, list[Problem]]:
    """YAML node tree (with positions) and plain data, or the syntax problem."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [Problem(source, 1, 1, "empty file")]
        duplicates = [_at(source, key, f"duplicate key {key.value!r}") for key in _dupes(root)]
        if duplicates:
            return root, None, duplicates
        return root, loader.construct_document(root), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        if mark is None:
            return None, None, [Problem(source, 1, 1, message)]
        return None, None, [Problem(source, mark.line + 1, mark.column + 1, message)]
    except yaml.YAMLError as exc:
        return None, None, [Problem(source, 1, 1, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()


def _dupes(node: yaml.Node) -> Iterator[yaml.Node]:
    """Repeated mapping keys (PyYAML silently keeps the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key
                seen.add(key.value)
            yield from _dupes(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _dupes(item)


def _freeze(data: Any) -> Any:
    """Lists to tuples, so the frozen models hold immutable sequences."""
    if isinstance(data, list):
        return tuple(_freeze(item) for item in data)
    if isinstance(data, dict):
        return {key: _freeze(value) for key, value in data.items()}
    return data


def _deepest(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop errors explained by a deeper one: a list whose only item is invalid is
    also reported "too short", which would only confuse."""
    locs = [err["loc"] for err in errors]
    return [
        err
        for err in errors
        if not any(
            len(other) > len(err["loc"]) and other[: len(err["loc"])] == err["loc"]
            for other in locs
        )
    ]


def _problem_from_pydantic(err: ErrorDetails, root: yaml.Node, source: str) -> Problem:
    path = tuple(p for p in err["loc"] if isinstance(p, str | int))
    where = _dotted(path[:-1]) if err["type"] in ("missing", "extra_forbidden") else _dotted(path)
    if err["type"] == "extra_forbidden":
        message = _unknown_field(str(path[-1]), path[:-1])
        return _at(source, node_at(root, path, key=True), _prefixed(where, message))
    if err["type"] == "missing":
        message = f"missing field {path[-1]!r}"
    elif err["type"] == "string_pattern_mismatch":
        message = _PATTERN_MESSAGES.get(err.get("ctx", {}).get("pattern", ""), err["msg"])
    else:
        message = _MESSAGES.get(err["type"], err["msg"])
    return _at(source, node_at(root, path), _prefixed(where, message))


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _prefixed(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


def _at(source: str, node: yaml.Node, message: str) -> Problem:
    return Problem(source, node.start_mark.line + 1, node.start_mark.column + 1, message)
