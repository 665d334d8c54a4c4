"""The warm transfer's prompts to callers, per language: data in ``prompts.toml``.

Shipped with the package so a deployment can read (and a translator extend) the words
without touching code; read and checked once, when the call control is built, so a bad
file stops the start-up instead of a transfer.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from types import MappingProxyType

from callbot.errors import ConfigError

DEFAULT_LANGUAGE = "fr"
"""Whose prompts a call in a language without its own table hears."""
SOURCE = "callbot/bridge/prompts.toml"


@dataclass(frozen=True, slots=True)
class TransferPrompts:
    """What the caller hears once it has left the bot for a queue."""

    noanswer: str
    """No agent answered in time: the callback offer (DTMF 1)."""
    callback: str
    """The caller pressed 1: the confirmation before hanging up."""


PromptTable = Mapping[str, TransferPrompts]
"""Language (``fr``, ``en``) -> its prompts."""


def parse_prompts(text: str, where: str = SOURCE) -> PromptTable:
    """The prompts in ``text`` (TOML); :class:`ConfigError` naming ``where`` if invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    names = {f.name for f in fields(TransferPrompts)}
    table: dict[str, TransferPrompts] = {}
    for language, prompts in data.items():
        if not isinstance(prompts, dict):
            raise ConfigError(f"{where}: [{language}] must be a table of prompts")
        missing, unknown = names - prompts.keys(), prompts.keys() - names
        if missing or unknown:
            wrong = [f"missing {', '.join(sorted(missing))}"] if missing else []
            wrong += [f"unknown {', '.join(sorted(unknown))}"] if unknown else []
            raise ConfigError(
                f"{where}: [{language}] needs exactly {', '.join(sorted(names))}"
                f" ({'; '.join(wrong)})"
            )
        for name, value in prompts.items():
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: [{language}] {name} must be a non-empty string")
        table[language.lower()] = TransferPrompts(**prompts)
    if DEFAULT_LANGUAGE not in table:
        raise ConfigError(f"{where}: no [{DEFAULT_LANGUAGE}] table (the default language)")
    return MappingProxyType(table)


@functools.cache
def transfer_prompts() -> PromptTable:
    """The shipped prompts (read once per process)."""
    text = (resources.files("callbot.bridge") / "prompts.toml").read_text(encoding="utf-8")
    return parse_prompts(text)


def prompts_for(table: PromptTable, language: str) -> TransferPrompts:
    """``en-US`` -> the ``en`` prompts; a language without a table -> French."""
    primary = language.lower().replace("_", "-").split("-")[0]
    return table.get(primary) or table[DEFAULT_LANGUAGE]
