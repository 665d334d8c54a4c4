"""Turn recognised speech and dialplan examples into comparable words.

Speech recognition output and the phrasings ops write differ in ways that carry
no meaning: case, accents ("médecin" / "medecin"), punctuation, French elision
("l'attestation"), digits versus words ("3 jours" / "trois jours"), typographic
apostrophes. :func:`normalize_words` removes those differences; :func:`content_words`
also drops the small words and telephone fillers ("euh", "bonjour", "je voudrais")
that say nothing about *why* someone calls, so the matcher weighs only the words
that do.

The word lists are written without accents because they are compared after
accent stripping.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from num2words import num2words

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d])|(?<=[^\W\d])(?=\d)")
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

MAX_SPOKEN_DIGITS = 4
"""Digit runs up to this length become words ("15" -> "quinze"); longer runs
(phone or file numbers) stay digits, so they don't flood the utterance with words."""

# Word lists as text blocks, which ops can read and extend (hence noqa: SIM905).
_FRENCH_STOPWORDS = frozenset(
    """
    a ai aie aient ais ait as au aux avec avez avoir avons ayant c ca ce ceci cela celle celui
    ces cet cette d dans de des du elle elles en es est et etais etait ete etes etre eu eux
    il ils j je l la le les leur leurs lui m ma me mes moi mon n ne ni nos notre nous on ont ou
    par pas pour qu que quel quelle qui quoi s sa se ses si son sont suis sur t ta te tes toi
    ton tu un une vos votre vous y
    ah alors allo bah ben bien bon bonjour bonsoir donc euh heu hein hum madame mademoiselle
    merci monsieur non oh oui ouais plait svp voila
    aujourd aussi avais aurais beaucoup cet chez dedans deja demain depuis dois doit encore
    faudrait faut fois hier hui ici juste quand sera serai serait tous tout toute toutes
    toujours tres trop va vais vas viens vient
    aimerais aimerait appelle appelais comment desire desirerais faire fais fait peux pourrais
    pouvez pourriez puis savoir souhaite souhaiterais souhaitais veux veut voudrais voudrait
    voulais veuillez
    """.split()  # noqa: SIM905
)

_ENGLISH_STOPWORDS = frozenset(
    """
    a about am an and any are as at be been but by can could d did do does for from get got
    had has have he her him his how i if in is it its just ll m me my of on or our please re s
    she so some t that the their them there they this to us ve was we were what will with would
    you your
    hello hey hi no ok okay oh uh um er well thanks thank yeah yes
    like need want wanna trying try help
    again already also all been being going gonna got just really since still today too very
    yesterday
    aren can cannot cant couldn didn doesn don hadn hasn haven isn not shouldn wasn weren won
    wouldn
    """.split()  # noqa: SIM905
)

_STOPWORDS = {"fr": _FRENCH_STOPWORDS, "en": _ENGLISH_STOPWORDS}


def base_language(language: str) -> str:
    """``fr-FR`` -> ``fr``: the part that decides words and number names."""
    return language.split("-", 1)[0].split("_", 1)[0].lower()


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def _number_words(digits: str, lang: str) -> str:
    if len(digits) > MAX_SPOKEN_DIGITS:
        return digits
    try:
        return str(num2words(int(digits), lang=lang))
    except NotImplementedError:  # num2words has no such language: keep the digits
        return digits


def normalize_words(text: str, language: str) -> tuple[str, ...]:
    """All words of ``text``, lowercased, without accents or punctuation, numbers spelled.

    French elided articles become words of their own ("l'adresse" -> "l", "adresse"),
    which the stop-word list then removes.
    """
    lang = base_language(language)
    lowered = text.casefold().translate(_APOSTROPHES)
    spaced = _DIGIT_LETTER.sub(" ", lowered)
    spelled = _DIGITS.sub(lambda m: " " + _number_words(m.group(), lang) + " ", spaced)
    plain = strip_accents(spelled)
    return tuple(_NOT_WORD.sub(" ", plain).split())


def content_words(text: str, language: str) -> tuple[str, ...]:
    """The words of ``text`` that carry meaning: normalised, stop words removed, no repeats."""
    stopwords = _STOPWORDS.get(base_language(language), frozenset())
    seen: dict[str, None] = {}
    for word in normalize_words(text, language):
        if word not in stopwords:
            seen.setdefault(word)
    return tuple(seen)
