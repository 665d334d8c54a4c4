"""English left in a French dialplan: a small, conservative guess from function words.

A French dialplan's sentences are said to French callers and its transfer reasons are read
by French agents; an English sentence left there ("not understood", "Please hold") is a
translation that was forgotten. The guess counts words that are English and never French
(``the``, ``you``, ``please``...) against French function words: a text is flagged only
with two different English words and more English than French ones, so a French sentence
quoting a product name ("Windows Hello for Business") stays quiet. Variables
(``${montant}``) are left out.
"""

from __future__ import annotations

import re
import unicodedata

ENGLISH_ONLY = frozenset(
    """
    the you your yours please thank thanks sorry hello goodbye welcome is are was were been
    being will would shall should could can cannot have has had does did not yes with for
    to of and this that these those what which who whom whose when where why how we our
    ours they their them my mine it its from into about there here then than if any some
    all again now only just understood understand answer request number wait hold press
    key transfer transferred caller want wants need needs speak talk help
    """.split()  # noqa: SIM905
)
"""Common English words that are not French words (``but``, ``me``, ``on``, ``or``,
``an``, ``as``, ``do``, ``son``, ``agent`` are French too: not listed)."""

FRENCH_MARKERS = frozenset(
    """
    le la les de des du un une et est vous votre vos nous notre nos pour avec sur dans par
    pas ne que qui je il elle au aux ce cette ces sont suis mon ma mes en a ou si merci
    bonjour revoir tapez veuillez
    """.split()  # noqa: SIM905
)
"""French function words (accents removed: ``à`` is ``a``, ``où`` is ``ou``)."""

MIN_ENGLISH_WORDS = 2
"""Different English words a text needs before it is flagged."""

_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_WORD = re.compile(r"[^\W\d_]+")


def english_words(text: str) -> tuple[str, ...]:
    """The English words of ``text`` when it reads as English, else ``()``.

    >>> english_words("not understood")
    ('not', 'understood')
    >>> english_words("Je n'ai pas compris, pouvez-vous répéter ?")
    ()
    """
    words = [_fold(w) for w in _WORD.findall(_VARIABLE.sub(" ", text))]
    english = [w for w in words if w in ENGLISH_ONLY]
    french = [w for w in words if w in FRENCH_MARKERS]
    if len(set(english)) < MIN_ENGLISH_WORDS or len(english) <= len(french):
        return ()
    return tuple(dict.fromkeys(english))


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
