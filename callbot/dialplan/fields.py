"""The field types of a dialplan file, shared by its models.

Each type carries its pattern (which the loader turns into a plain message for ops:
:data:`TEXT_PATTERN` -> "must not be blank") and, where YAML reads a value in another
type than ops meant (``dtmf: 1``, ``2025-12-24``), the conversion back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

TEXT_PATTERN = r"\S"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DIGIT_PATTERN = r"^[0-9*#A-D]$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"
VARIABLE_PATTERN = r"^[a-z_][a-z0-9_]*$"
TIME_RANGE_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]|24):[0-5][0-9]$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
URL_PATTERN = r"^https?://[^\s]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
TIMEZONE_PATTERN = r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$"
JSON_PATH_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"

Text = Annotated[str, Field(min_length=1, pattern=TEXT_PATTERN)]
"""A sentence the bot says; may use ``$variables`` (see :mod:`callbot.dialplan.templates`)."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=80)]
"""An identifier: intent id, queue name."""


def _digit_from_yaml(value: object) -> object:
    """Let ops write ``dtmf: 1`` (a YAML int) as well as ``dtmf: "1"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Digit = Annotated[
    str,
    BeforeValidator(_digit_from_yaml),
    Field(pattern=DIGIT_PATTERN),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DIGIT_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": 9},
            ]
        }
    ),
]

Then = Literal["continue", "hangup", "transfer"]

Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]

Variable = Annotated[str, Field(pattern=VARIABLE_PATTERN, max_length=40)]
"""A template variable name (slot name, back-office reply field): ``date_naissance``."""


def _date_from_yaml(value: object) -> object:
    """YAML reads ``2025-12-24`` as a date; keep it as the text ops wrote."""
    return value.isoformat() if isinstance(value, dt.date) else value


IsoDate = Annotated[
    str,
    BeforeValidator(_date_from_yaml),
    Field(pattern=DATE_PATTERN),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]

TimeRange = Annotated[str, Field(pattern=TIME_RANGE_PATTERN)]
"""Opening hours of one stretch, ``"08:30-12:00"`` (local time, end excluded)."""


def _pairs_from_mapping(value: object) -> object:
    """A YAML mapping ``{variable: path}`` kept as sorted pairs, so the model stays hashable."""
    if isinstance(value, Mapping):
        return tuple((k, v) for k, v in value.items())
    return value


ReplyFields = Annotated[
    tuple[tuple[Variable, Annotated[str, Field(pattern=JSON_PATH_PATTERN)]], ...],
    BeforeValidator(_pairs_from_mapping),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": VARIABLE_PATTERN},
            "additionalProperties": {"type": "string", "pattern": JSON_PATH_PATTERN},
        }
    ),
]


class StrictModel(BaseModel):
    """Base of every dialplan model: frozen, no unknown field, no type coercion."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
