"""A short summary the agent hears and reads: template-based, from the call's facts.

Templates rather than a model: the sentence must be right every time, fast, and must not
invent what the caller said. It names what was asked, what was checked and why the bot
hands over, all in the call's language (French, or English for ``en*``: the reason comes
already worded by :mod:`callbot.handover.reasons`); it never contains identifiers (the
caller's request is already redacted and slot values are left out: only the *names* of
the checks appear).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callbot.handover.reasons import ENGLISH, FRENCH, SLOT_NAMES

REQUEST_MAX_CHARS = 120
"""The caller's last request is quoted, cut to keep the summary to two sentences."""

IDENTITY_SLOTS: Mapping[str, str] = {
    "nir": "NIR",
    "numero_securite_sociale": "NIR",
    "date_naissance": "date de naissance",
    "date_de_naissance": "date de naissance",
    "numero_allocataire": "numéro d'allocataire",
    "numero_fiscal": "numéro fiscal",
}
"""Slots whose capture means the caller's identity was checked, and how to name them."""

_IDENTITY_EN = {names[FRENCH]: names[ENGLISH] for names in SLOT_NAMES.values()}


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    """What the summary is made of (no personal values)."""

    language: str
    """BCP 47; ``en*`` gives English, anything else French."""
    topics: tuple[str, ...]
    """Intent labels (or ids) in the order the caller raised them."""
    identity_checks: tuple[str, ...]
    """Names of the identity checks done (``NIR``...)."""
    last_request: str | None
    """The caller's last recognised words, already redacted."""
    reason: str
    """Why the bot hands over, in ``language``
    (:func:`~callbot.handover.reasons.reason_text`)."""


def identity_checks(slot_names: Iterable[str]) -> tuple[str, ...]:
    """The identity checks among captured slot names, named once each, in order."""
    seen: list[str] = []
    for name in slot_names:
        label = IDENTITY_SLOTS.get(name.lower())
        if label is not None and label not in seen:
            seen.append(label)
    return tuple(seen)


def summarize(facts: SummaryFacts) -> str:
    """One or two sentences, French unless the language is English."""
    if facts.language.lower().startswith("en"):
        return _english(facts)
    return _french(facts)


def _french(facts: SummaryFacts) -> str:
    topic = f"au sujet de : {_join(facts.topics, ' puis ')}" if facts.topics else "sans motif"
    parts = [f"Appel {topic}"]
    if facts.identity_checks:
        parts.append(f"identité vérifiée ({', '.join(facts.identity_checks)})")
    else:
        parts.append("identité non vérifiée")
    if facts.last_request:
        parts.append(f"la personne demande « {_cut(facts.last_request)} »")
    first = "; ".join(parts) + "."
    return f"{first} Transfert : {_reason(facts.reason)}."


def _english(facts: SummaryFacts) -> str:
    topic = f"about {_join(facts.topics, ' then ')}" if facts.topics else "with no clear topic"
    parts = [f"Call {topic}"]
    if facts.identity_checks:
        checks = [_IDENTITY_EN.get(c, c) for c in facts.identity_checks]
        parts.append(f"identity checked ({', '.join(checks)})")
    else:
        parts.append("identity not checked")
    if facts.last_request:
        parts.append(f'the caller asks "{_cut(facts.last_request)}"')
    first = "; ".join(parts) + "."
    return f"{first} Transferred: {_reason(facts.reason)}."


def _join(items: tuple[str, ...], sep: str) -> str:
    return sep.join(items[-3:])  # the last topics matter; keep the sentence short


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= REQUEST_MAX_CHARS:
        return flat
    return flat[: REQUEST_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _reason(reason: str) -> str:
    return " ".join(reason.split()) or "?"
