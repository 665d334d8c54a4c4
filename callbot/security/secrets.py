"""Finding the secret values in settings, so that log handlers can mask them.

Settings mark secrets with ``field(repr=False)`` (so ``repr(settings)`` omits them); the
same mark tells :func:`secret_values` what to collect. Passwords embedded in URLs
(``postgresql://user:pw@host/db``) are collected from every string field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import urlsplit


def secret_values(settings: object) -> list[str]:
    """Every secret string in a (nested) settings dataclass."""
    return sorted(set(_walk(settings)))


def _walk(obj: object) -> Iterator[str]:
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str):
            if not f.repr and value:
                yield value
            password = _url_password(value)
            if password:
                yield password
        else:
            yield from _walk(value)


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        return None
