"""Safe templating of the sentences the bot says.

Sentences use :class:`string.Template` syntax, ``$caller_number`` or
``${caller_number}`` (``$$`` for a dollar sign). Unlike ``str.format`` it cannot reach
attributes or items, so a dialplan file cannot leak anything but the whitelisted
values. Every template is checked when the dialplan loads (:func:`template_problem`);
at run time a whitelisted variable without a value renders as an empty string,
never as ``$name`` read aloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

CALL_VARIABLES = frozenset({"caller_number", "called_number", "call_id"})
"""Variables any sentence may use; the call runner fills them from the call's data."""

CLARIFY_VARIABLES = CALL_VARIABLES | {"intent_label"}
"""The clarification question may also name the intent it is unsure of."""

SLOT_VALUE = "value"
"""A slot's read-back question names the value just heard as ``${value}``."""

CALLBACK_NUMBER = "callback_number"
"""The callback confirmation names the number to call back."""

HOLIDAY = "holiday"
"""Out-of-hours sentences name the public holiday ("Lundi de Pâques")."""

REOPENS = "reopens"
"""Out-of-hours sentences say when agents answer again ("demain à 8 h 30")."""

OUT_OF_HOURS_VARIABLES = CALL_VARIABLES | {HOLIDAY, REOPENS}

RESERVED_VARIABLES = CLARIFY_VARIABLES | {SLOT_VALUE, CALLBACK_NUMBER, HOLIDAY, REOPENS}
"""Names a slot or a back-office field may not take."""


def template_problem(text: str, allowed: frozenset[str]) -> str | None:
    """Why ``text`` is not a valid sentence template with ``allowed`` variables, or None."""
    template = Template(text)
    if not template.is_valid():
        return "invalid placeholder: use $name or ${name}, and $$ for a dollar sign"
    unknown = sorted(set(template.get_identifiers()) - allowed)
    if unknown:
        names = ", ".join(f"${name}" for name in unknown)
        return f"unknown variable {names} (allowed: {', '.join(sorted(allowed))})"
    return None


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``text``; variables without a value become empty strings.

    ``text`` must have passed :func:`template_problem` (the loader guarantees it).
    """
    template = Template(text)
    filled = {name: values.get(name, "") for name in template.get_identifiers()}
    return template.substitute(filled)
