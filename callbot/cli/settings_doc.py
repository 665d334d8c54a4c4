"""The settings model written out as TOML: the example file, and the effective settings.

The settings dataclasses (:class:`callbot.config.Settings` and its sections) are the one
definition of every setting; ``callbot.example.toml`` is generated from them by
:func:`example_toml` (``callbot config example``), so it can neither miss a key nor show
a drifted default. A field's documentation is the string literal right under it in the
class body, read with :mod:`ast`, and becomes the comment above its key.

Secrets (fields declared with ``repr=False``) are never written with a value: the example
says where they come from, :func:`settings_toml` (``callbot config show``) only whether
they are set. Passwords inside URLs are masked too.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import json
import math
import re
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from callbot.config import ENV_PREFIX, Settings
from callbot.logs import SecretFilter
from callbot.security.secrets import secret_values

HEADER = """\
# callbot settings: every setting, with its default. Every key is optional.
# Generated from the settings model by `callbot config example > callbot.example.toml`:
# change the model (callbot/*/settings.py), not this file.
# Use with `callbot --config callbot.toml serve`, or set CALLBOT_CONFIG.
# Any key can also come from the environment: CALLBOT_<SECTION>_<KEY> (e.g.
# CALLBOT_SERVER_PORT=8080; top-level keys: CALLBOT_<KEY>, e.g. CALLBOT_LOG_LEVEL=DEBUG),
# and any value from a file: CALLBOT_<SECTION>_<KEY>_FILE=/run/secrets/... Secrets
# (marked <secret>) belong there, never in this file.
"""

MASK = "********"


def example_toml(model: type[Any] = Settings) -> str:
    """The documented example file: every setting at its default (secrets unset)."""
    return HEADER + "".join(_table(model, None, (), docs=True))


def settings_toml(settings: Any) -> str:
    """Effective ``settings`` as TOML, without comments; secrets masked."""
    text = "".join(_table(type(settings), settings, (), docs=False)).lstrip("\n")
    return SecretFilter(secret_values(settings)).mask(text)  # a secret reused elsewhere


def field_docs(cls: type[Any]) -> dict[str, str]:
    """The docstring written under each field of ``cls`` (and its dataclass bases)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            docs.update(_own_field_docs(klass))
    return docs


def class_doc(cls: type[Any]) -> str:
    """The class's own docstring (not the signature dataclasses make up when it has none)."""
    node = _class_node(cls)
    return (ast.get_docstring(node) or "") if node is not None else ""


def _own_field_docs(cls: type[Any]) -> dict[str, str]:
    node = _class_node(cls)
    if node is None:
        return {}
    docs = {}
    for statement, following in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _class_node(cls: type[Any]) -> ast.ClassDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, ast.ClassDef) else None


def _table(cls: type[Any], values: Any, path: tuple[str, ...], *, docs: bool) -> Iterator[str]:
    """One table: a header, its keys, then its sub-tables (TOML wants keys first)."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    nested = [f for f in fields if _is_section(hints[f.name])]
    if path:
        yield f"\n[{'.'.join(path)}]\n"
        if docs and class_doc(cls):
            yield _comment(class_doc(cls))
    notes = field_docs(cls) if docs else {}
    for f in fields:
        if _is_section(hints[f.name]):
            continue
        if f.name in notes:
            yield ("\n" if docs else "") + _comment(notes[f.name])
        elif docs:
            yield "\n"
        value = getattr(values, f.name) if values is not None else _default(f)
        yield _key(f, hints[f.name], value, path, show=values is not None) + "\n"
    for f in nested:
        section = getattr(values, f.name) if values is not None else None
        yield from _table(hints[f.name], section, (*path, f.name), docs=docs)


def _key(
    f: dataclasses.Field[Any], hint: Any, value: Any, path: tuple[str, ...], *, show: bool
) -> str:
    if not f.repr:  # a secret
        if show:
            return f"# {f.name} = <secret, {'set' if value else 'unset'}>"
        env = ENV_PREFIX + "_".join((*path, f.name)).upper()
        return f"# {f.name} = <secret: {env}_FILE>"
    if value is None:
        return f"# {f.name} = <{_type_name(hint)}, unset>"
    return f"{f.name} = {_value(value, mask_url=show)}"


def _value(value: Any, *, mask_url: bool = False) -> str:
    """A TOML literal (TOML basic strings take JSON's escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # inf and -inf are spelled the same in TOML
    if isinstance(value, enum.Enum):
        return _value(value.value, mask_url=mask_url)
    if isinstance(value, Path):
        return json.dumps("" if value == Path() else str(value), ensure_ascii=False)
    if isinstance(value, str):
        return json.dumps(_mask_url_password(value) if mask_url else value, ensure_ascii=False)
    if isinstance(value, list | tuple | frozenset):
        return "[" + ", ".join(_value(item, mask_url=mask_url) for item in value) + "]"
    raise TypeError(f"no TOML form for a setting of type {type(value).__name__}")


def _mask_url_password(value: str) -> str:
    if "://" not in value or "@" not in value:
        return value
    try:
        parts = urlsplit(value)
        if not parts.password:
            return value
    except ValueError:
        return value
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"setting {f.name} has no default")


def _is_section(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(names)
    if hint is Path:
        return "path"
    return getattr(hint, "__name__", str(hint))


def _comment(text: str) -> str:
    """``text`` as TOML comment lines, its reStructuredText markup made plain."""
    text = _ROLE.sub(r"`\1`", text).replace("``", "`")
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
