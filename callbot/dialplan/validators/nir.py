"""French social-security numbers (NIR): 13 characters and a 2-digit key.

Layout (INSEE): sex (1, 2; 3, 4, 7, 8 for provisional numbers), year of birth (2),
month of birth (01-12; 20-42 or 50-99 when unknown), département of birth (2, or 2A /
2B for Corsica, 96-99 abroad), commune (3), order number (3), key (2).
The key is ``97 - (n mod 97)`` where ``n`` is the 13-character number read as an
integer, Corsica's 2A and 2B counted as 19 and 18.
"""

from __future__ import annotations

import re

from callbot.dialplan.validators.numbers import digit_string

_NIR = re.compile(r"^[123478]\d{2}(?:0[1-9]|1[0-2]|[2-3]\d|4[0-2]|[5-9]\d)(?:\d{2}|2[AB])\d{8}$")
_CORSICA = {"2A": "19", "2B": "18"}


def nir_key(first13: str) -> int:
    """The control key of a 13-character NIR."""
    dept = first13[5:7]
    number = first13[:5] + _CORSICA.get(dept, dept) + first13[7:]
    return 97 - int(number) % 97


def parse_nir(text: str) -> str | None:
    """The valid NIR said or typed in ``text`` (15 characters, uppercase), or None."""
    candidate = digit_string(text, letters=frozenset("ab"))
    if not _NIR.match(candidate):
        return None
    return candidate if nir_key(candidate[:13]) == int(candidate[13:]) else None


def spoken_nir(nir: str) -> str:
    """ "1 85 06 75 123 456, clé 78": the groups of the Carte Vitale."""
    groups = (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13])
    return f"{' '.join(groups)}, clé {nir[13:]}"
