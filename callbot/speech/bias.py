"""Recognition bias: the dialplan's own words, given to Whisper before each utterance.

Whisper spells rare words (acronyms, product names, jargon: "BitLocker", "C2S",
"hameçonnage") the way its training data did, which is often not the way the
dialplan's examples do, and the matcher then misses the topic. Whisper can be shown
text before the audio (``<|startofprev|>``, what faster-whisper calls
``initial_prompt`` and ``hotwords``): words seen there come out more readily.

Two ways of writing that text, chosen by ``asr.bias`` (:data:`MODES`):

* ``prompt``: the intents' labels, noun phrases as a caller's sentence would hold them
  ("La réinitialisation de votre mot de passe, votre problème de VPN..."), then the
  rare words, as sentences: text in the style of what is being transcribed;
* ``hotwords``: a list of the rare words only ("BitLocker, VPN, Teams, hameçonnage").

In faster-whisper 1.x both end up in the same place (after ``<|startofprev|>``): the
difference is only what the text says. It is bounded (``asr.bias_max_chars``): a long
prompt costs decoding time on every utterance, and Whisper tends to repeat a long
prompt on silence.

The vocabulary is built from plain strings, not from a dialplan: ``callbot.speech``
does not import ``callbot.dialplan`` (layers, ``pyproject.toml``); the app passes the
labels and examples in when it loads a dialplan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MODES = ("off", "prompt", "hotwords")
"""Values of ``asr.bias``."""

MAX_CHARS = 600
"""Longest bias text ``asr.bias_max_chars`` allows (about 200 Whisper tokens of French:
faster-whisper cuts a prompt at 223)."""

MIN_LETTERS = 6
"""Shorter lowercase words are left out: common words Whisper already writes right."""

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
"""A word; an apostrophe splits ("l'imprimante": "l", "imprimante"), a hyphen joins."""

_COMMON_WORDS = (
    "depuis comment combien pourquoi voudrais voudrait voulez encore bonjour toujours "
    "merci please thanks hello again still should would could"
)
_COMMON = frozenset(_COMMON_WORDS.split())
"""Frequent words that can still belong to one intent only; Whisper knows them."""


@dataclass(frozen=True, slots=True)
class IntentWords:
    """What one intent offers the vocabulary: its label and its examples."""

    label: str | None
    examples: Sequence[str]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A dialplan's words for recognition, in one language."""

    language: str
    """ISO 639-1 code the text applies to ("fr"): other languages' utterances get none."""
    labels: tuple[str, ...]
    """The intents' noun phrases, in dialplan order."""
    terms: tuple[str, ...]
    """Rare words, most telling first: acronyms and names, then distinctive words."""

    def text(self, mode: str, max_chars: int) -> str:
        """The bias text for ``mode`` (:data:`MODES`), at most ``max_chars`` long;
        empty for ``off``."""
        if mode == "off":
            return ""
        if mode == "hotwords":
            return _bounded(self.terms, ", ", max_chars)
        if mode == "prompt":
            # Written as sentences (a capital, a full stop): Whisper carries the prompt's
            # style on, and a lowercase list made it drop capitals and write "un" for 1.
            labels = _bounded(self.labels, ", ", max_chars // 2 - 1)
            said = {w.lower() for w in _WORD.findall(labels)}
            rest = [t for t in self.terms if t.lower() not in said]
            terms = _bounded(rest, ", ", max_chars - len(labels) - 4)
            text = ". ".join(part for part in (labels, terms) if part)
            return f"{text[:1].upper()}{text[1:]}." if text else ""
        raise ValueError(f"unknown bias mode {mode!r}")


def build_vocabulary(intents: Iterable[IntentWords], language: str) -> Vocabulary:
    """The vocabulary of a dialplan's intents: deterministic (same dialplan, same text)."""
    intents = list(intents)
    labels = tuple(dict.fromkeys(i.label.strip() for i in intents if i.label))
    label_words = {w.lower() for label in labels for w in _WORD.findall(label)}
    spelled: dict[str, str] = {}
    """Lower-case word -> its first spelling with a capital or a digit."""
    owners: dict[str, set[int]] = {}
    counts: Counter[str] = Counter()
    """In how many examples a word is said."""
    for index, intent in enumerate(intents):
        texts = [(intent.label, True)] if intent.label else []
        for text, is_label in [*texts, *((e, False) for e in intent.examples)]:
            for position, word in enumerate(dict.fromkeys(_WORD.findall(text))):
                key = word.lower()
                if _written_as_name(word, first=position == 0 and not is_label):
                    spelled[key] = max(spelled.get(key, word), word, key=_capitals)
                owners.setdefault(key, set()).add(index)
                counts[key] += not is_label
    names = sorted(spelled.values(), key=lambda w: (not _acronym(w), -counts[w.lower()], w))
    distinctive = sorted(
        (
            k
            for k, who in owners.items()
            if len(who) == 1
            and k not in spelled
            and k.isalpha()
            and len(k) >= MIN_LETTERS
            and k not in _COMMON
            and (k in label_words or counts[k] >= 2)
        ),
        key=lambda k: (k not in label_words, -counts[k], k),
    )
    return Vocabulary(_iso(language), labels, tuple(names + distinctive))


def _written_as_name(word: str, *, first: bool) -> bool:
    """An acronym or a name as the dialplan writes it: "VPN", "C2S", "Office 365"'s
    "365", "BitLocker", "Teams" (not "I", nor a capital that only opens a sentence)."""
    if word.lower() in _COMMON or len(word) < 2 or word.isdigit():
        return False
    if _acronym(word):
        return True
    return word[0].isupper() and not first and len(word) >= 4


def _acronym(word: str) -> bool:
    """ "VPN", "C2S", "BitLocker": what Whisper is least likely to spell as written."""
    return any(c.isdigit() for c in word) or max(map(_capitals, word.split("-"))) >= 2


def _capitals(word: str) -> int:
    return sum(c.isupper() for c in word)


def _bounded(items: Sequence[str], separator: str, limit: int) -> str:
    """As many leading ``items`` as fit in ``limit`` characters."""
    text = ""
    for item in items:
        longer = f"{text}{separator}{item}" if text else item
        if len(longer) > limit:
            break
        text = longer
    return text


def _iso(language: str) -> str:
    """``fr-FR`` -> ``fr``: Whisper's language codes."""
    return language.split("-")[0].split("_")[0].lower()
