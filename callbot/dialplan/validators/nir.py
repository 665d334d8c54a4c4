"""French social-security numbers (NIR): 13 characters and a 2-digit key.

Layout (INSEE): sex (1, 2; 3, 4, 7, 8 for provisional numbers), year of birth (2),
month of birth (01-12; 20-42 or 50-99 when unknown), département of birth (2, or 2A /
2B for Corsica, 96-99 abroad), commune (3), order number (3), key (2).
The key is ``97 - (n mod 97)`` where ``n`` is the 13-character number read as an
integer, Corsica's 2A and 2B counted as 19 and 18.

A keypad has no letters: callers born in Corsica key ``2 0`` for 2A or 2B (20 was
Corsica's number before 1976) and the key tells which they mean: it fits at most one
of 20, 2A and 2B, since their numbers differ by a multiple of 10^8, which 97 does not
divide.
"""

from __future__ import annotations

import re

from callbot.dialplan.validators.numbers import digit_string

_NIR = re.compile(r"^[123478]\d{2}(?:0[1-9]|1[0-2]|[2-3]\d|4[0-2]|[5-9]\d)(?:\d{2}|2[AB])\d{8}$")
_CORSICA = {"2A": "19", "2B": "18"}
KEYED_CORSICA = "20"
"""What a caller keys for 2A or 2B."""


def nir_key(first13: str) -> int:
    """The control key of a 13-character NIR."""
    dept = first13[5:7]
    number = first13[:5] + _CORSICA.get(dept, dept) + first13[7:]
    return 97 - int(number) % 97


def _readings(candidate: str) -> tuple[str, ...]:
    """The NIRs ``candidate`` may stand for: itself, and 2A and 2B for a keyed ``20``."""
    if candidate[5:7] != KEYED_CORSICA:
        return (candidate,)
    return (candidate, *(candidate[:5] + dept + candidate[7:] for dept in _CORSICA))


def _shaped(text: str) -> str | None:
    """The 15 characters said or typed in ``text`` when they have a NIR's layout."""
    candidate = digit_string(text, letters=frozenset("ab"))
    return candidate if _NIR.match(candidate) else None


def parse_nir(text: str) -> str | None:
    """The valid NIR said or typed in ``text`` (15 characters, uppercase), or None."""
    candidate = _shaped(text)
    if candidate is None:
        return None
    fits = (n for n in _readings(candidate) if nir_key(n[:13]) == int(n[13:]))
    return next(fits, None)


def nir_key_mismatch(text: str) -> bool:
    """A number laid out as a NIR whose key does not fit: a digit or the key is wrong,
    which the caller can be told rather than "I did not understand"."""
    return _shaped(text) is not None and parse_nir(text) is None


def spoken_nir(nir: str) -> str:
    """ "1 85 06 75 123 456, clé 78": the groups of the Carte Vitale."""
    groups = (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13])
    return f"{' '.join(groups)}, clé {nir[13:]}"
