"""Turn recognised speech and dialplan examples into comparable words.

Speech recognition output and the phrasings ops write differ in ways that carry
no meaning: case, accents ("médecin" / "medecin"), punctuation, French elision
("l'attestation"), digits versus words ("3 jours" / "trois jours"), typographic
apostrophes. :func:`normalize_words` removes those differences; :func:`content_words`
also drops the small words and telephone fillers ("euh", "bonjour", "je voudrais")
that say nothing about *why* someone calls, so the matcher weighs only the words
that do.

Letters said one by one are one word: "c s s", "C.S.S." and "CSS" all give ``css``,
"c 2 s" and "c deux s" give ``c2s``, and a code of letters around digits stays whole
("C2S" is not "c", "deux", "s", which would match "invalidité catégorie deux").

Politeness and closing words ("merci", "c'est tout", "thanks") say nothing about a
topic but everything about a goodbye: :func:`matching_words` keeps them, marked weak
(:func:`weak_words`), so the matcher can weigh them little; :func:`content_words`
drops them.

The word lists are written without accents because they are compared after
accent stripping.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache

from num2words import num2words

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+'?")
"""A word, with the apostrophe of an elision ("l'", "qu'"): an elided article is not a
spelled letter ("l'a m e" is "l'", "ame", not "lame")."""
_LETTER_PREFIX = re.compile(r"(?<![a-z-])([a-z])-(?=[a-z]{2})")
"""A letter hyphenated to a word ("e-mail", "e-carte"): one word, as it is said."""
_DOTTED = re.compile(r"\b[a-z](?:\.[a-z])+\b\.?")
"""``c.s.s.``: an acronym written with dots."""
_CODE = re.compile(r"[a-z]+\d+[a-z]+")
"""``c2s``, ``b2b``: letters around digits, said as one name."""
MAX_CODE_CHARS = 6

_ONE_LETTER_WORDS = {"fr": frozenset("ay"), "en": frozenset("ai")}
"""Letters that are words of their own ("il y a"): not taken for spelled letters
unless two other letters are spelled with them ("a m e")."""

_DIGIT_NAMES = {
    lang: {name: str(digit) for digit, name in enumerate(names.split())}
    for lang, names in (
        ("fr", "zero un deux trois quatre cinq six sept huit neuf"),
        ("en", "zero one two three four five six seven eight nine"),
    )
}

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
    ah alors allo bah ben bien bonjour bonsoir donc euh heu hein hum madame mademoiselle
    mais monsieur non oh oui ouais plait svp voila
    cest jai nai nest quil quils quon jen jy sil sest lai cetait jetais
    aujourd aussi avais aurais beaucoup cet chez dedans deja demain depuis dois doit encore
    faudrait faut fois hier hui ici juste quand sera serai serait tous toute toutes
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
    hello hey hi no oh uh um er well yeah yes
    like need want wanna trying try help
    again already also all been being going gonna got just really since still today too very
    yesterday
    aren can cannot cant couldn didn doesn don hadn hasn haven isn not shouldn wasn weren won
    wouldn
    """.split()  # noqa: SIM905
)

_STOPWORDS = {"fr": _FRENCH_STOPWORDS, "en": _ENGLISH_STOPWORDS}

_GLUED_ELISION = {"fr": re.compile(r"^(?:qu|[cdjlmnst])(\w{4,})$")}
"""An elided pronoun or article glued to a word of four letters or more ("jaimerais");
shorter rests are words of their own ("tete" is not "t'ete")."""

_WEAK_WORDS = {
    "fr": frozenset("bon bonne ciao merci ok okay parfait plus salut super tout".split()),  # noqa: SIM905
    "en": frozenset("alright all bye cheers fine good great ok okay thank thanks".split()),  # noqa: SIM905
}


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
    """All words of ``text``, lowercased, without accents or punctuation, numbers spelled,
    spelled letters joined (see the module docstring).

    French elided articles become words of their own ("l'adresse" -> "l", "adresse"),
    which the stop-word list then removes.
    """
    lang = base_language(language)
    plain = strip_accents(text.casefold().translate(_APOSTROPHES))
    plain = _DOTTED.sub(lambda m: m.group().replace(".", ""), plain)
    plain = _LETTER_PREFIX.sub(r"\1", plain)
    words: list[str] = []
    for token in _join_spelled(_TOKEN.findall(plain), lang):
        token = token.rstrip("'")
        if token.isalpha() or (len(token) <= MAX_CODE_CHARS and _CODE.fullmatch(token)):
            words.append(token)
            continue
        spaced = _DIGIT_LETTER.sub(" ", token)
        spelled = _DIGITS.sub(lambda m: " " + _number_words(m.group(), lang) + " ", spaced)
        words += _NOT_WORD.sub(" ", strip_accents(spelled)).split()
    return tuple(words)


def _join_spelled(tokens: list[str], lang: str) -> list[str]:
    """Runs of single letters as one word ("c s s" -> "css", "c deux s" -> "c2s")."""
    one_letter_words = _ONE_LETTER_WORDS.get(lang, frozenset())
    digits = _DIGIT_NAMES.get(lang, {})
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and (_is_letter(tokens[j]) or _digit(tokens[j], digits)):
            j += 1
        run = tokens[i:j]
        while run and not _is_letter(run[-1]):  # digits only between letters
            run.pop()
        letters = [t for t in run if _is_letter(t) and t not in one_letter_words]
        if len(letters) >= 2 and _is_letter(run[0]):
            out.append("".join(_digit(t, digits) or t for t in run))
            i += len(run)
        else:
            out.append(tokens[i])
            i += 1
    return out


def _is_letter(token: str) -> bool:
    return len(token) == 1 and "a" <= token <= "z"


def _digit(token: str, names: dict[str, str]) -> str | None:
    """``"2"`` or ``"deux"`` as ``"2"``; None for anything else."""
    if len(token) == 1 and token.isdigit():
        return token
    return names.get(token)


def weak_words(language: str) -> frozenset[str]:
    """Politeness and closing words: kept by :func:`matching_words`, to weigh little."""
    return _WEAK_WORDS.get(base_language(language), frozenset())


def matching_words(
    text: str, language: str, known: Collection[str] = frozenset()
) -> tuple[str, ...]:
    """The words the matcher compares: content words and weak words, no repeats. Two
    words that make a ``known`` one when joined are that word: recognition splits
    compounds ("pass word", "lap top", "wi-fi", "a meli"); two small words stay two
    ("par le" is not "parle", "à me" not "ame")."""
    lang = base_language(language)
    stopwords = _STOPWORDS.get(lang, frozenset())
    words = normalize_words(text, language)
    seen: dict[str, None] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if (
            i + 1 < len(words)
            and (joined := word + words[i + 1]) in known
            and not (word in stopwords and words[i + 1] in stopwords)
        ):
            word = joined
            i += 1
        if word not in stopwords and not (word not in known and _glued_small_word(word, lang)):
            seen.setdefault(word)
        i += 1
    return tuple(seen)


def _glued_small_word(word: str, lang: str) -> bool:
    """``jaimerais``, ``jvoudrais``: a small word with its elided pronoun glued on, as
    recognition writes it without the apostrophe; a small word all the same."""
    glued = _GLUED_ELISION.get(lang)
    if glued is None or (m := glued.match(word)) is None:
        return False
    return m.group(1) in _STOPWORDS[lang]


def content_words(text: str, language: str) -> tuple[str, ...]:
    """The words of ``text`` that carry meaning: normalised, stop words and weak words
    removed, no repeats."""
    weak = weak_words(language)
    return tuple(w for w in matching_words(text, language) if w not in weak)
