"""French that reads right: the clarification question, and what ``dialplan check`` flags.

The clarification question puts an intent's label after a preposition ("Vous voulez
parler de ${intent_label}, c'est bien ça ?"). The label is a noun phrase with its
article ("le suivi de vos remboursements"), and French contracts the two: de + le ->
du, de + les -> des, à + le -> au, à + les -> aux, de + a vowel -> d'. Only that
junction is rewritten (:func:`clarify_sentence`): elsewhere "à le signaler" is a
pronoun and right as written.

:func:`label_problem` and :func:`wording_problems` are what ``dialplan check`` reports
on every sentence it renders: a French label that is not a noun phrase ("parler à un
conseiller" gives "parler de parler à un conseiller"), an article left uncontracted or
unelided ("de le", "la attestation", "si il").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from callbot.dialplan.normalize import base_language
from callbot.dialplan.templates import render

_LABEL = "\x00"
"""Stands for the label while the prompt is rendered, to find the word before it."""

_JUNCTION = re.compile(rf"\b(de|à) {_LABEL}", re.IGNORECASE)
_CONTRACTED = {
    ("de", "le"): "du",
    ("de", "les"): "des",
    ("à", "le"): "au",
    ("à", "les"): "aux",
}
_VOWELS = "aeiouyàâäéèêëîïôöûüœ"

_DETERMINERS = frozenset(
    """
    le la les l un une des du de d au aux votre vos mon ma mes ton ta tes son sa ses notre
    nos leur leurs ce cet cette ces quel quelle quels quelles
    """.split()  # noqa: SIM905
)
"""Words a French noun phrase starts with ("l" and "d" from "l'", "d'")."""

_UNCONTRACTED = re.compile(r"(?<![-\w])(de|à) (le|les) ", re.IGNORECASE)
_UNELIDED = re.compile(
    rf"(?<![-\w])(de|que|je|ne|me|te|se|le|la) (?!onze|oui|ouate)([{_VOWELS}]\w*)",
    re.IGNORECASE,
)
_SI_IL = re.compile(r"(?<![-\w])si (ils?)\b", re.IGNORECASE)


def clarify_sentence(prompt: str, label: str, values: Mapping[str, str], language: str) -> str:
    """``prompt`` with ``label`` as ``${intent_label}``, contracted into the preposition
    before it in French ("parler de le suivi" -> "parler du suivi")."""
    text = render(prompt, {**values, "intent_label": _LABEL})
    if base_language(language) == "fr":
        text = _JUNCTION.sub(lambda m: french_junction(m.group(1), label), text)
    return text.replace(_LABEL, label)


def french_junction(preposition: str, phrase: str) -> str:
    """``de``/``à`` followed by ``phrase``, contracted or elided as French says it."""
    first, _, rest = phrase.partition(" ")
    contracted = _CONTRACTED.get((preposition.casefold(), first.casefold()))
    if contracted is not None and rest:
        if preposition[0].isupper():
            contracted = contracted.capitalize()
        return f"{contracted} {rest}"
    if preposition.casefold() == "de" and phrase[:1].casefold() in _VOWELS:
        return f"{preposition[0]}'{phrase}"
    return f"{preposition} {phrase}"


def label_problem(label: str, language: str) -> str | None:
    """Why ``label`` cannot follow "parler de" in a French question, or None."""
    if base_language(language) != "fr":
        return None
    first = re.split(r"[\s'’]", label.strip(), maxsplit=1)[0].casefold()
    if first in _DETERMINERS:
        return None
    return (
        f"label {label!r} is not a noun phrase (the question would say 'de {label}'): "
        "start it with an article or a possessive ('le suivi de...', 'votre demande de...')"
    )


def wording_problems(text: str, language: str) -> list[str]:
    """Uncontracted or unelided articles in a French sentence the bot says."""
    if base_language(language) != "fr":
        return []
    problems = []
    for m in _UNCONTRACTED.finditer(text):
        said = _CONTRACTED[(m.group(1).casefold(), m.group(2).casefold())]
        problems.append(
            f"'{m.group(0).strip()}' is said '{said}' (unless '{m.group(2)}' is a pronoun)"
        )
    for m in _UNELIDED.finditer(text):
        problems.append(f"'{m.group(0)}' is said '{m.group(1)[:-1]}'{m.group(2)}'")
    for m in _SI_IL.finditer(text):
        problems.append(f"'{m.group(0)}' is said 's'{m.group(1)}'")
    return problems
