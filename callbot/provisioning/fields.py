"""Typed access to one mapping of a YAML descriptor, with errors that name the field.

Shared by the voice and the Whisper descriptors: validation is strict (unknown keys are
errors, so a typo cannot silently drop a pin) and every message names the file and the
field, e.g. ``whisper-models/small.yaml: files[1].sha256: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

from callbot.errors import ConfigError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
"""A pinned sha256: 64 lower-case hex digits."""


class Fields:
    """One mapping of a descriptor; ``context`` prefixes field names (``files[0].``)."""

    def __init__(self, where: str, data: Any, allowed: set[str], context: str = "") -> None:
        self.where, self.context = where, context
        if not isinstance(data, Mapping):
            self.fail("", f"expected a mapping, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        unknown = sorted(set(map(str, data)) - allowed)
        if unknown:
            self.fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def fail(self, key: str, problem: str) -> NoReturn:
        field = f"{self.context}{key}" if key else self.context.rstrip(".") or "document"
        raise ConfigError(f"{self.where}: {field}: {problem}")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, "missing (a non-empty string is required)")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a non-empty string, got {value!r}")
        return str(value).strip()

    def integer(self, key: str, *, required: bool = True) -> int | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, "missing (a positive integer is required)")
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            self.fail(key, f"expected a positive integer, got {value!r}")
        return int(value)
