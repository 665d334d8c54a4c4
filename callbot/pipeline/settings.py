"""Per-call behaviour settings (read once at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from callbot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class CallSettings:
    no_input_timeout_s: float = 7.0
    """Caller silence after the bot's last word before the no-input policy applies."""
    max_call_s: float = 900.0
    """A call still with the bot after this long is handed to a human."""
    gap_fill_ms: int = 400
    """Inbound audio missing this long (silence suppression) is treated as silence.

    Well above network and scheduling jitter: filling a mere late burst with silence
    would cut the caller's words in two."""
    failure_grace_s: float = 10.0
    """Time allowed to apologise and hand over after a failure."""
    barge_in: bool = True
    """The caller speaking over a prompt stops it (never the last words before a transfer
    or a hang-up)."""
    mark_grace_s: float = 2.0
    """A prompt the line never confirms (no MEDIA_MARK_PROCESSED) counts as heard this long
    after its audio should have finished playing, so the no-input timer still starts."""
    media_timeout_s: float = 20.0
    """Nothing at all from the line (no audio, no key, no confirmed prompt) for this long
    ends the call politely: apology, then transfer or hang-up (outcome ``media_timeout``).
    Counted from the line's last event or the end of the bot's audio, whichever is later;
    from the start of the call on a line that never sent anything. A real call never gets
    there: a line that suppresses silence still confirms each prompt, and the no-input
    reprompt (``no_input_timeout_s``, which must be shorter) comes first. Keep it above
    the dialplan's longest back-office hook ``timeout_s`` (the bot waits on it in silence)."""

    def __post_init__(self) -> None:
        if self.mark_grace_s <= 0 or self.media_timeout_s <= 0:
            raise ConfigError("call.mark_grace_s and call.media_timeout_s must be positive")
        if self.media_timeout_s <= self.no_input_timeout_s:
            raise ConfigError(
                "call.media_timeout_s must be longer than call.no_input_timeout_s: a caller "
                "silent on a line that suppresses silence would be cut off before the reprompt"
            )
