"""Redaction of personal identifiers in caller text and log lines.

What is found, and replaced by a placeholder that keeps the sentence readable for ops
(``mon numéro c'est le <TEL>``):

* ``<NIR>``   social security number: 13 digits and its 2-digit key, spaced or not, in
  digits or in words; a valid key, or the NIR structure in a sentence that speaks of it;
* ``<TEL>``   French phone numbers: ``06 12 34 56 78``, ``+33 6 ...``, ``0033 6 ...``;
* ``<EMAIL>`` written (``a.b@x.fr``) or dictated (``a point b arobase x point fr``);
* ``<IBAN>``  ``FR76 3000 ...`` with a valid mod-97 check (any French 27-character one);
* ``<DATE_NAISSANCE>`` a date after ``né le``, ``date de naissance``... (dates of care,
  of appointments, of payments carry no cue and stay).

Precision and recall are measured on ``tests/data/redaction/*.tsv`` by
``benchmarks/redaction.py``. Recall comes first: a leaked identifier is worse than a
masked reference number.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from callbot.privacy.numbers import NUMBER_WORDS, Piece, runs


class Kind(enum.StrEnum):
    NIR = "NIR"
    TEL = "TEL"
    EMAIL = "EMAIL"
    IBAN = "IBAN"
    BIRTH_DATE = "DATE_NAISSANCE"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    start: int
    end: int


# --- patterns on the raw text --------------------------------------------------------------

_WORD_NUM = "|".join(sorted(NUMBER_WORDS | {"zéro"}, key=len, reverse=True))
_SPOKEN = rf"(?:{_WORD_NUM})(?:(?:[\s-]+et)?[\s-]+(?:{_WORD_NUM}))*"
_MONTHS = (
    r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|"
    r"d[ée]cembre"
)
_DAY = rf"(?:\d{{1,2}}|1er|premier|{_SPOKEN})"
_YEAR = rf"(?:\d{{4}}|\d{{2}}|{_SPOKEN})"
_NUMERIC_DATE = r"\d{1,2}\s*[/.\- ]\s*\d{1,2}\s*[/.\- ]\s*(?:\d{4}|\d{2})"
_DATE = rf"(?:{_DAY}\s+(?:{_MONTHS})(?:,?\s+{_YEAR})?\b|{_NUMERIC_DATE}\b|{_SPOKEN})"
_FILLER = r"(?:c'est|c’est|est|le|du|euh|alors|donc|bien|:|,)"
BIRTH_DATE = re.compile(
    rf"(?:\bn[ée]e?s?\b|\bdate\s+de\s+naissance\b|\bnaissance\b|\banniversaire\b)"
    rf"(?:\s*{_FILLER})*\s*(?P<date>{_DATE})",
    re.IGNORECASE,
)
BIRTH_YEAR = re.compile(
    rf"\bn[ée]e?s?\s+en\s+(?P<date>\d{{4}}|{_SPOKEN})",
    re.IGNORECASE,
)
_DOT = r"(?:\.|\s+point\s+)"
_LOCAL = rf"[\w+-]+(?:(?:{_DOT}|_)[\w+-]+)*"
_DOMAIN = rf"[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[a-z]{{2,6}}\b"
EMAIL = re.compile(
    rf"{_LOCAL}\s*(?:@|\s(?:arobase|arrobase|arobas|at)\s)\s*{_DOMAIN}",
    re.IGNORECASE,
)
IBAN = re.compile(r"\b[A-Z]{2}\s?\d{2}(?:\s?[A-Z0-9]){11,30}", re.IGNORECASE)
NIR_CUES = re.compile(
    r"s[ée]cu|s[ée]curit[ée]\s+sociale|\bnir\b|carte\s+vitale|immatriculation|"
    r"num[ée]ro\s+d'assur[ée]|assurance\s+maladie",
    re.IGNORECASE,
)
_PHONE_PREFIX = re.compile(r"(?:\+|\bplus\s*)\s*$", re.IGNORECASE)


def find(text: str) -> list[Finding]:
    """Every identifier in ``text``, sorted, without overlaps (first detector wins)."""
    found: list[Finding] = []
    for finder in (_ibans, _emails, _birth_dates, _numbers):
        for item in finder(text):
            if not any(item.start < f.end and f.start < item.end for f in found):
                found.append(item)
    return sorted(found, key=lambda f: f.start)


def redact(text: str) -> str:
    """``text`` with every identifier replaced by ``<KIND>``."""
    out, pos = [], 0
    for item in find(text):
        out.append(text[pos : item.start])
        out.append(f"<{item.kind.value}>")
        pos = item.end
    out.append(text[pos:])
    return "".join(out)


class RedactingFilter(logging.Filter):
    """Redacts identifiers in every record's message (installed on log handlers).

    The message is formatted once, redacted, and the record's ``args`` are dropped, so
    the formatter sees the redacted text only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# --- detectors -------------------------------------------------------------------------------


def _ibans(text: str) -> list[Finding]:
    """The longest valid IBAN from each candidate (the pattern may run into next words)."""
    out = []
    for match in IBAN.finditer(text):
        ends = [i + 1 for i in range(match.start(), match.end()) if not text[i].isspace()]
        compact = re.sub(r"\s", "", match.group()).upper()
        for length in range(len(compact), 14, -1):
            head = compact[:length]
            if iban_valid(head) or (head.startswith("FR") and length == 27):
                out.append(Finding(Kind.IBAN, match.start(), ends[length - 1]))
                break
    return out


def iban_valid(compact: str) -> bool:
    """ISO 13616 check: move the first 4 characters to the end, letters to numbers, mod 97."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _emails(text: str) -> list[Finding]:
    return [Finding(Kind.EMAIL, m.start(), m.end()) for m in EMAIL.finditer(text)]


def _birth_dates(text: str) -> list[Finding]:
    out = []
    for pattern in (BIRTH_DATE, BIRTH_YEAR):
        for match in pattern.finditer(text):
            start, end = match.span("date")
            if match.group("date").strip() and not _spoken_only_small(match.group("date")):
                out.append(Finding(Kind.BIRTH_DATE, start, end))
    return out


def _spoken_only_small(date: str) -> bool:
    """``née le un`` is no date: a spoken date needs more than one small number."""
    words = re.findall(r"[^\W\d_]+", date)
    return bool(words) and len(words) < 2 and not re.search(r"\d", date)


def _numbers(text: str) -> list[Finding]:
    cue = NIR_CUES.search(text) is not None
    out: list[Finding] = []
    for run in runs(text):
        taken = [False] * len(run)
        for kind, check in ((Kind.NIR, lambda d: nir_like(d, cue)), (Kind.TEL, _phone_like)):
            for i, j in _windows(run, check, taken):
                start = run[i].start
                if kind is Kind.TEL:
                    prefix = _PHONE_PREFIX.search(text, 0, start)
                    start = prefix.start() if prefix else start
                out.append(Finding(kind, start, run[j - 1].end))
                taken[i:j] = [True] * (j - i)
    return out


def _windows(
    run: list[Piece], check: Callable[[str], bool], taken: list[bool]
) -> list[tuple[int, int]]:
    """Longest windows of free pieces whose joined digits pass ``check``, left to right."""
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(run):
        best = None
        digits = ""
        for j in range(i, len(run)):
            if taken[j] or len(digits) > 17:
                break
            digits += run[j].digits
            if check(digits):
                best = j + 1
        if best is None:
            i += 1
        else:
            found.append((i, best))
            i = best
    return found


_PHONE = re.compile(r"0[1-9]\d{8}|(?:00)?33(?:0)?[1-9]\d{8}")


def _phone_like(digits: str) -> bool:
    return _PHONE.fullmatch(digits) is not None


def nir_like(digits: str, cue: bool) -> bool:
    """A NIR by its key, or by its structure when the sentence speaks of one.

    Structure (INSEE): sex 1/2 (3, 7, 8 for temporary numbers), birth year, month 01-12
    or 20-42/50-99 (unknown month), department, commune, order, then the key
    ``97 - (13 digits mod 97)``. Whisper may mishear one digit, so 15 digits of that
    structure are a NIR whatever their key; 13 digits without a key need the cue.
    """
    if len(digits) not in (13, 15) or digits[0] not in "12378":
        return False
    month = int(digits[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or month >= 50):
        return False
    return len(digits) == 15 or cue
