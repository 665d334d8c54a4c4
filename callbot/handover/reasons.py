"""Why the bot hands over, said in the caller's language for the agent.

The dialog engine names its own reasons with short English codes (``not understood``,
``slot nir no input``, ``hook dossier timeout``, ``intent carte_vitale``, ``error``): the
call record keeps them as they are, for ops. The agent reads and hears the reason in the
call's language, so each code is turned into a sentence here. A reason the dialplan
wrote (``transfer.reason``) is already in the caller's language and passes unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

FRENCH, ENGLISH = "fr", "en"

FIXED: Mapping[str, Mapping[str, str]] = {
    "not understood": {FRENCH: "demande non comprise", ENGLISH: "request not understood"},
    "no input": {FRENCH: "pas de réponse de l'appelant", ENGLISH: "no answer from the caller"},
    "error": {
        FRENCH: "incident technique pendant l'appel",
        ENGLISH: "technical problem during the call",
    },
}
"""Codes that are a whole reason."""

SLOT_FAILURES: Mapping[str, Mapping[str, str]] = {
    "not understood": {FRENCH: "{slot} : réponse non comprise", ENGLISH: "{slot}: not understood"},
    "no input": {FRENCH: "{slot} : pas de réponse", ENGLISH: "{slot}: no answer"},
}
"""``slot <name> <failure>``: a value the caller could not give."""

HOOK_FAILURES: Mapping[str, Mapping[str, str]] = {
    "timeout": {
        FRENCH: "le service « {hook} » n'a pas répondu à temps",
        ENGLISH: 'the "{hook}" service did not answer in time',
    },
    "error": {
        FRENCH: "le service « {hook} » est en erreur",
        ENGLISH: 'the "{hook}" service failed',
    },
    "malformed": {
        FRENCH: "réponse inexploitable du service « {hook} »",
        ENGLISH: 'unusable reply from the "{hook}" service',
    },
    "not_found": {
        FRENCH: "dossier introuvable (service « {hook} »)",
        ENGLISH: 'no file found (the "{hook}" service)',
    },
}
"""``hook <id> <status>``: the back-office could not give the answer."""

INTENT = {FRENCH: "demande : {intent}", ENGLISH: "request: {intent}"}
"""``intent <id>``: an intent that transfers without a reason of its own."""

SLOT_NAMES: Mapping[str, Mapping[str, str]] = {
    "nir": {FRENCH: "NIR", ENGLISH: "social security number"},
    "numero_securite_sociale": {FRENCH: "NIR", ENGLISH: "social security number"},
    "date_naissance": {FRENCH: "date de naissance", ENGLISH: "date of birth"},
    "date_de_naissance": {FRENCH: "date de naissance", ENGLISH: "date of birth"},
    "numero_allocataire": {FRENCH: "numéro d'allocataire", ENGLISH: "benefit claim number"},
    "numero_fiscal": {FRENCH: "numéro fiscal", ENGLISH: "tax number"},
    "callback_number": {FRENCH: "numéro de rappel", ENGLISH: "callback number"},
}
"""How a slot is named to the agent (other slots: their name, ``_`` as spaces)."""


def language_key(language: str) -> str:
    """``en-US`` -> ``en``; any other language -> ``fr`` (the house language)."""
    return ENGLISH if language.lower().startswith("en") else FRENCH


def slot_label(name: str, language: str) -> str:
    """A slot's name as the agent reads it: ``nir`` -> ``NIR``, ``code_postal`` ->
    ``code postal``."""
    known = SLOT_NAMES.get(name.lower())
    return known[language_key(language)] if known else name.replace("_", " ")


def reason_text(reason: str, language: str, intent_labels: Mapping[str, str] | None = None) -> str:
    """The sentence the agent reads for the transfer reason ``reason``.

    >>> reason_text("slot nir no input", "fr-FR")
    'NIR : pas de réponse'
    >>> reason_text("not understood", "en-GB")
    'request not understood'
    >>> reason_text("le demandeur veut un conseiller", "fr-FR")
    'le demandeur veut un conseiller'
    """
    lang = language_key(language)
    flat = " ".join(reason.split())
    if flat in FIXED:
        return FIXED[flat][lang]
    head, _, rest = flat.partition(" ")
    name, _, what = rest.partition(" ")
    if head == "slot" and what in SLOT_FAILURES:
        return SLOT_FAILURES[what][lang].format(slot=slot_label(name, language))
    if head == "hook" and what in HOOK_FAILURES:
        return HOOK_FAILURES[what][lang].format(hook=name.replace("_", " "))
    if head == "intent" and name and not what:
        label = (intent_labels or {}).get(name) or name.replace("_", " ")
        return INTENT[lang].format(intent=label)
    return flat
