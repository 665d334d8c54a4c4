"""Recognition-like slips, made deterministically, to measure a dialplan under them.

A held-out test set is written by a person, with accents, apostrophes and the words
they meant. Speech recognition on phone audio returns something rougher; the slips
that change what the matcher sees are, from the shipped sets and Whisper's output on
the project's recordings:

* accents missing ("securite sociale") and apostrophes dropped, the words glued
  ("jai perdu") or split ("j ai perdu");
* one word heard as a homophone or a near form ("conseillé", "mais" for "mes",
  "two" for "to");
* a short function word lost ("mot passe", "perdu carte");
* numbers written the other way ("3 semaines" / "trois semaines");
* acronyms spelled out letter by letter ("c s s", "c 2 s") or, the other way, letters
  the caller spelled written as one word ("CMU").

:func:`noisy` applies them to one phrasing. The same phrasing, language and seed give
the same result on every machine (the generator is seeded with the text, not Python's
salted ``hash``), so reports can be compared between commits.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from num2words import num2words

from callbot.dialplan.normalize import base_language, strip_accents

DEFAULT_SEED = 12
"""The seed ``callbot dialplan accuracy`` uses, so its noisy figures are comparable."""

DROP_SHORT_WORD = 0.5
"""Chance that one short function word of the phrasing is lost."""

# One homophone or near form per word: what Whisper writes for it on phone audio.
# Keys without accents (compared after stripping); values as the recogniser writes them.
_FRENCH_HOMOPHONES = {
    "a": "à",
    "ameli": "amélie",
    "amelie": "ameli",
    "arret": "arrêts",
    "carte": "cartes",
    "ces": "ses",
    "cent": "sans",
    "compte": "conte",
    "conseiller": "conseillé",
    "droits": "droit",
    "est": "et",
    "et": "est",
    "indemnites": "indemnité",
    "journalieres": "journalière",
    "mes": "mais",
    "mot": "mots",
    "mutuelle": "mutuel",
    "passe": "pass",
    "paye": "payer",
    "recu": "reçue",
    "rembourse": "rembourser",
    "remboursee": "remboursé",
    "remboursement": "remboursements",
    "ses": "ces",
    "technicien": "techniciens",
    "vitale": "vital",
    "bloque": "bloquer",
    "oublie": "oublier",
    "installe": "installer",
    "imprimante": "imprimantes",
    "ecran": "écrans",
    "marche": "marcher",
    "mail": "mel",
    "wifi": "wi-fi",
    "teams": "tims",
    "sante": "santé",
    "securite": "sécurité",
    "medecin": "médecins",
    "enfant": "enfants",
    "conge": "congés",
    "fils": "fil",
}

_ENGLISH_HOMOPHONES = {
    "to": "two",
    "too": "to",
    "for": "four",
    "right": "write",
    "new": "knew",
    "know": "no",
    "mail": "male",
    "password": "pass word",
    "wifi": "wi-fi",
    "teams": "teems",
    "there": "their",
    "your": "you're",
    "printer": "printers",
    "laptop": "lap top",
    "email": "e-mail",
    "account": "a count",
    "locked": "lock",
    "install": "installed",
    "screen": "screens",
    "phone": "fone",
    "won't": "want",
    "log": "lock",
    "reset": "resets",
    "meeting": "meetings",
}

_HOMOPHONES = {"fr": _FRENCH_HOMOPHONES, "en": _ENGLISH_HOMOPHONES}

_FRENCH_SHORT_WORDS = frozenset(
    """
    a au aux ce de des du en et il je la le les ma me mes mon ne on sa se ses son ta te tu
    un une y
    """.split()  # noqa: SIM905
)
_ENGLISH_SHORT_WORDS = frozenset("a an and at for i in is it me my of on the to".split())  # noqa: SIM905
_SHORT_WORDS = {"fr": _FRENCH_SHORT_WORDS, "en": _ENGLISH_SHORT_WORDS}

_ONE_LETTER_WORDS = {"fr": frozenset("aày"), "en": frozenset("ai")}
"""Letters that are words of their own ("il y a"), never taken for spelled ones."""

_NUMBERS_UP_TO = 31
"""Numbers said as words or written as digits, both ways ("trois" <-> "3")."""

_APOSTROPHE = re.compile(r"(\w)['’](\w)")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]{1,4}$")
"""``CSS``, ``C2S``, ``VPN``: capitals (and digits) a caller says letter by letter."""


def noisy(text: str, language: str, seed: int = DEFAULT_SEED) -> str:
    """``text`` as speech recognition might return it: see the module docstring."""
    lang = base_language(language)
    rng = random.Random(f"{seed}\x00{lang}\x00{text}")
    words = [_number(w, lang) for w in _letters(text.split(), rng, lang)]
    words = _homophone(words, rng, _HOMOPHONES.get(lang, {}))
    words = _drop_short_word(words, rng, _SHORT_WORDS.get(lang, frozenset()))
    glue = rng.random() < 0.5
    joined = " ".join(words)
    joined = _APOSTROPHE.sub(r"\1\2" if glue else r"\1 \2", joined)
    return strip_accents(joined)


def noisy_all(texts: list[str], language: str, seed: int = DEFAULT_SEED) -> list[str]:
    return [noisy(t, language, seed) for t in texts]


def _letters(words: list[str], rng: random.Random, lang: str) -> list[str]:
    """Spelled letters joined into one capitalised word ("c m u" -> "CMU"), and acronyms
    spelled out ("CSS" -> "c s s")."""
    words_of_one = _ONE_LETTER_WORDS.get(lang, frozenset())
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha() and word.casefold() not in words_of_one:
            run.append(word)
            continue
        out += ["".join(run).upper()] if len(run) > 1 else run
        run = []
        if word:
            out.append(_acronym(word, rng, lang))
    return out


def _acronym(word: str, rng: random.Random, lang: str) -> str:
    """An acronym, spelled letter by letter; digits in it said as numbers half the time."""
    bare = word.strip(".,;:!?")
    if not _ACRONYM.match(bare) or bare.isdigit():
        return word
    letters = []
    for ch in bare.lower():
        spoken = ch
        if ch.isdigit() and rng.random() < 0.5:
            spoken = _spoken_number(int(ch), lang)
        letters.append(spoken)
    return " ".join(letters) + word[len(bare) :]


def _number(word: str, lang: str) -> str:
    """A small number the other way: digits as words, words as digits."""
    bare = word.strip(".,;:!?").casefold()
    tail = word[len(word.rstrip(".,;:!?")) :]
    if bare.isdigit() and int(bare) <= _NUMBERS_UP_TO:
        return _spoken_number(int(bare), lang) + tail
    value = _number_values(lang).get(strip_accents(bare))
    return word if value is None else str(value) + tail


def _homophone(words: list[str], rng: random.Random, table: dict[str, str]) -> list[str]:
    """One word that has a homophone in ``table``, replaced by it."""
    candidates = [i for i, w in enumerate(words) if _key(w) in table]
    if not candidates:
        return words
    i = rng.choice(candidates)
    return [*words[:i], table[_key(words[i])], *words[i + 1 :]]


def _drop_short_word(words: list[str], rng: random.Random, short: frozenset[str]) -> list[str]:
    """Maybe lose one short function word (never the only word)."""
    candidates = [i for i, w in enumerate(words) if _key(w) in short]
    if len(words) < 3 or not candidates or rng.random() >= DROP_SHORT_WORD:
        return words
    i = rng.choice(candidates)
    return words[:i] + words[i + 1 :]


def _key(word: str) -> str:
    return strip_accents(word.strip(".,;:!?").casefold())


@lru_cache(maxsize=8)
def _number_values(lang: str) -> dict[str, int]:
    """``{"trois": 3, ...}`` for the numbers callers say as one word."""
    values = {}
    for n in range(_NUMBERS_UP_TO + 1):
        spoken = _spoken_number(n, lang)
        if " " not in spoken and "-" not in spoken:
            values[strip_accents(spoken)] = n
    values.pop("un", None)  # "un" is mostly the article ("un conseiller")
    values.pop("une", None)
    values.pop("one", None)
    return values


def _spoken_number(n: int, lang: str) -> str:
    try:
        return str(num2words(n, lang=lang))
    except NotImplementedError:
        return str(n)
