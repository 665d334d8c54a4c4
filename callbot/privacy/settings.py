"""Privacy settings (the ``[privacy]`` section): caller pseudonyms, retention, redaction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    caller_salt: str | None = field(default=None, repr=False)
    """Secret key of :func:`callbot.privacy.identity.caller_hash`; from
    ``CALLBOT_PRIVACY_CALLER_SALT_FILE`` in production. Unset: calls are stored without a
    caller key, so no export or erasure by caller number is possible. Never logged."""
    retention_days: int = 90
    """``callbot records purge`` without ``--older-than`` deletes calls older than this."""
    redact_logs: bool = True
    """Redact identifiers in every log line (:class:`~callbot.privacy.redact.RedactingFilter`)."""
    record_audio: bool = False
    """Call recordings. Off, and callbot has no recorder: no caller audio is ever written
    to disk or logged. Kept as a setting so that turning recordings on is a visible,
    reviewed change (it needs its own retention and consent notice)."""
