"""YAML documents with the line and column of every value, for ``file:line:column`` messages.

Dialplans and the tooling files (test sets, conversation tests) are validated with
pydantic; this module maps a pydantic error location back to the YAML node it came
from, so an ops person sees where to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from callbot.errors import DialplanError

Path_ = Sequence[str | int]
M = TypeVar("M", bound=BaseModel)


def compose(text: str, source: str) -> tuple[yaml.Node, Any]:
    """Node tree and plain data of ``text``; :class:`DialplanError` with the position if bad."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DialplanError(f"{source}:1:1: empty file")
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        raise DialplanError(f"{source}:{line}:{column}: {message}") from exc
    except yaml.YAMLError as exc:
        raise DialplanError(f"{source}:1:1: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def node_at(root: yaml.Node, path: Path_, *, key: bool = False) -> yaml.Node:
    """The deepest node that exists along ``path`` (keys and list indexes); the key
    node itself rather than its value when ``key``."""
    node = root
    for depth, part in enumerate(path, start=1):
        if isinstance(node, yaml.MappingNode):
            pair = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if pair is None:
                return node
            node = pair[0] if key and depth == len(path) else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def position(root: yaml.Node, path: Path_) -> tuple[int, int]:
    """Line and column (from 1) of the value at ``path``."""
    mark = node_at(root, path).start_mark
    return mark.line + 1, mark.column + 1


def validation_message(exc: ValidationError, root: yaml.Node, source: str) -> str:
    """Every pydantic error of ``exc`` as ``file:line:column: field: message`` lines."""
    errors = exc.errors()
    locs = [err["loc"] for err in errors]
    lines = []
    for err in errors:
        if any(len(o) > len(err["loc"]) and o[: len(err["loc"])] == err["loc"] for o in locs):
            continue  # explained by a deeper error ("too short" because its item is invalid)
        path = [p for p in err["loc"] if isinstance(p, str | int)]
        line, column = position(root, path)
        where = ".".join(str(p) for p in path)
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}:{line}:{column}: {where}: {message}")
    return "\n".join(lines)


def load_validated(path: Path, model: type[M], what: str) -> tuple[yaml.Node, M]:
    """Read ``path`` and validate it as ``model``; :class:`DialplanError` says where it is
    wrong (``file:line:column``). ``what`` names the file in messages ("test set")."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialplanError(f"{source}: cannot read {what}: {exc}") from exc
    root, data = compose(text, source)
    try:
        return root, model.model_validate(data)
    except ValidationError as exc:
        raise DialplanError(validation_message(exc, root, source)) from exc
