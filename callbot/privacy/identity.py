"""Pseudonymous caller identity: the store keeps ``caller_hash(number, salt)``, never the number.

Why a keyed hash (HMAC-SHA256) rather than a plain hash: French phone numbers are a small
space (about 10^9), so an unsalted digest is reversed by brute force in minutes. With a
secret salt held outside the database, a leaked database alone does not give numbers back,
yet the same caller always maps to the same key, which is what export and erasure need.

Numbers are normalised first so that ``+33 6 12 34 56 78``, ``0033612345678`` and
``06.12.34.56.78`` (Asterisk may give any of them as CALLERID(num)) are one caller.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from callbot.errors import ConfigError

_NOT_DIGIT = re.compile(r"[^0-9+]")


def normalize_number(number: str) -> str:
    """A caller number in national French form when it is French, digits only otherwise.

    >>> normalize_number("+33 6 12 34 56 78")
    '0612345678'
    >>> normalize_number("0033612345678")
    '0612345678'
    >>> normalize_number("+44 20 7946 0958")
    '00442079460958'
    """
    raw = _NOT_DIGIT.sub("", number.strip())
    if raw.startswith("+"):
        raw = "00" + raw[1:]
    raw = raw.replace("+", "")
    if raw.startswith("0033") and len(raw) == 13:
        return "0" + raw[4:]
    if raw.startswith("33") and len(raw) == 11:
        return "0" + raw[2:]
    return raw


def caller_hash(number: str, salt: str | bytes) -> str:
    """The key under which one caller's records are stored: hex HMAC-SHA256 of the number.

    An empty or unknown number (anonymous caller) hashes to ``""`` so that anonymous calls
    are never grouped under one pseudo-caller. The salt must not be empty.
    """
    key = salt.encode() if isinstance(salt, str) else salt
    if not key:
        raise ConfigError("caller hash salt is empty; set privacy.caller_salt")
    digits = normalize_number(number)
    if not digits or set(digits) == {"0"}:
        return ""
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()
