"""The one place where caller data is made fit for storage: redaction and caller hashing.

Redaction belongs to :mod:`callbot.privacy.redact` (NIR, phone numbers, e-mail, IBAN,
birth dates). It is looked up here, once, so that every text the store keeps goes through
it as soon as it exists; until then a conservative fallback masks every long run of digits
and anything shaped like an e-mail address, so no identifier is ever stored in clear.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable

from callbot.privacy.identity import caller_hash

logger = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d(?:[\s.\-/]?\d){3,}")
_EMAIL = re.compile(r"\S+@\S+")


def _fallback_redact(text: str) -> str:
    return _DIGITS.sub("<numéro>", _EMAIL.sub("<e-mail>", text))


def _load_redactor() -> Callable[[str], str]:
    try:
        module = importlib.import_module("callbot.privacy.redact")
    except ImportError:
        logger.warning("callbot.privacy.redact missing: stored text masked by the fallback")
        return _fallback_redact
    redactor: Callable[[str], str] = module.redact
    return redactor


_REDACT = _load_redactor()


def redact_text(text: str | None) -> str | None:
    """``text`` with personal identifiers replaced by placeholders (None stays None)."""
    return None if text is None else _REDACT(text)


def hash_caller(number: str | None, salt: str | bytes | None) -> str | None:
    """The pseudonymous key of a caller, or None (no number, anonymous, or no salt set)."""
    if not number or not salt:
        return None
    return caller_hash(number, salt) or None
