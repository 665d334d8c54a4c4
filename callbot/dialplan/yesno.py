"""Recognise a yes or a no, in French or English, at the start of an answer.

Used after a clarification question ("Vous voulez parler de ... ?"), the follow-up
question and "Voulez-vous plus de détails ?" ("je veux bien", "allez-y"). Callers often
say more than yes or no ("non, c'est pour ma carte Vitale"): :func:`yes_or_no` returns
the rest too, so the engine can match it.
Both languages are always accepted: bilingual callers answer in either.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbot.dialplan.normalize import normalize_words

_YES = """
oui | ouais | ouai | oui oui | exactement | exact | tout a fait | absolument |
c est ca | c est bien ca | c est exact | bien sur | d accord | affirmatif | voila | effectivement |
c est correct | c est juste | c est bon | parfait | tout a fait ca | oui c est ca | bien entendu |
certainement | evidemment | volontiers | je confirme | confirme | oui merci | ben oui | bah oui |
c est bien cela | exactement ca | je veux bien | allez y | vas y | pourquoi pas | avec plaisir |
ok | okay | yes | yeah | yep | yup | sure | correct | right | that s right | exactly | indeed |
of course | absolutely | go ahead
"""
_NO = """
non | nan | pas du tout | non non | absolument pas | pas vraiment | ce n est pas ca | c est pas ca |
pas ca | negatif | c est faux | faux | pas exactement | pas tout a fait | erreur | incorrect |
ce n est pas le bon | c est pas le bon | non merci | surtout pas | jamais | aucunement |
je ne crois pas |
no | nope | nah | not at all | not really | no no | absolutely not |
that s not it | wrong |
c est tout | ce sera tout | rien d autre | that s all | that is all | that s it |
that will be all | nothing else
"""
_FILLERS = frozenset(
    """
    euh heu hum ah oh bah ben alors bon eh mais merci
    hm um uh er well so but thanks thank you
    """.split()  # noqa: SIM905
)


def _phrases(spec: str) -> tuple[tuple[str, ...], ...]:
    words = (tuple(p.split()) for p in spec.replace("\n", " ").split("|"))
    return tuple(sorted((w for w in words if w), key=len, reverse=True))


_YES_PHRASES = _phrases(_YES)
_NO_PHRASES = _phrases(_NO)


@dataclass(frozen=True, slots=True)
class YesNo:
    answer: bool | None
    """True for yes, False for no, None when the caller said neither."""
    rest: str
    """Normalised words after the yes/no (empty for a bare answer)."""


YES_KEY = "1"
NO_KEY = "2"
"""Keypad answers to every yes/no question the bot asks outside the main menu."""


def yes_or_no_key(digit: str) -> bool | None:
    """``1`` is yes, ``2`` is no, any other key neither."""
    return True if digit == YES_KEY else False if digit == NO_KEY else None


def yes_or_no(text: str, language: str) -> YesNo:
    """Whether ``text`` starts with yes or no, after fillers such as "euh"."""
    words = normalize_words(text, language)
    start = 0
    while start < len(words) and words[start] in _FILLERS:
        start += 1
    words = words[start:]
    for answer, phrases in ((False, _NO_PHRASES), (True, _YES_PHRASES)):
        for phrase in phrases:
            if words[: len(phrase)] == phrase:
                return YesNo(answer, " ".join(words[len(phrase) :]))
    return YesNo(None, " ".join(words))
