"""Back-office hooks, the pure half: build the request, read the reply's fields.

The HTTP half is :mod:`callbot.dialplan.backoffice`; the engine only ever sees
:class:`~callbot.dialplan.actions.Fetch` and :class:`~callbot.dialplan.actions.HookResult`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from string import Template
from typing import Any
from urllib.parse import quote

from callbot.dialplan.actions import Fetch
from callbot.dialplan.intents import Hook
from callbot.dialplan.validators import SlotValue
from callbot.dialplan.validators.amounts import spoken_amount
from callbot.dialplan.validators.dates import spoken_date


def build_fetch(hook: Hook, values: Mapping[str, SlotValue]) -> Fetch:
    """The request of ``hook`` with the caller's slot ``values`` (canonical forms)."""
    template = Template(hook.url)
    in_url = set(template.get_identifiers())
    url = template.substitute({name: quote(values[name].value, safe="") for name in in_url})
    params = tuple(
        (name, values[name].value)
        for name in hook.send
        if hook.method == "POST" or name not in in_url
    )
    return Fetch(hook.id, hook.method, url, params, hook.timeout_s)


def reply_fields(hook: Hook, data: Mapping[str, Any], language: str) -> dict[str, str] | None:
    """The answer variables of ``hook`` read from its JSON reply; None if one is missing.

    Values are made sayable: numbers with a decimal comma in French, the hook's
    ``amounts`` in euros ("12 euros 50"), ISO dates as "3 mars 2025". Objects, lists
    and nulls count as missing, and so does an amount that is not a number.
    """
    found: dict[str, str] = {}
    for name, path in hook.fields:
        value: Any = data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is None or isinstance(value, Mapping | list):
            return None
        said = _amount(value, language) if name in hook.amounts else _sayable(value, language)
        if said is None:
            return None
        found[name] = said
    return found


def _amount(value: object, language: str) -> str | None:
    """A sum in euros from JSON (12.5, 12, "12.50"), as said; None if not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return spoken_amount(amount, language) if amount.is_finite() and amount >= 0 else None


def _sayable(value: object, language: str) -> str:
    french = language.lower().startswith("fr")
    if isinstance(value, bool):
        return ("oui" if value else "non") if french else ("yes" if value else "no")
    if isinstance(value, float):
        text = f"{value:.2f}".removesuffix(".00")
        return text.replace(".", ",") if french else text
    text = str(value)
    if french and len(text) == 10:
        try:
            return spoken_date(dt.date.fromisoformat(text))
        except ValueError:
            pass
    return text
