"""What a caller hears when the call moved to another worker after its worker failed.

The caller heard the greeting already, and something went wrong on our side: apologise
briefly and invite the question again, in the dialplan's language (the agent-facing
record says ``failed_over``; the caller does not need the details).
"""

from __future__ import annotations

RESUMED = {
    "fr": "Excusez-moi, la communication a été coupée un instant. Je vous écoute : "
    "quelle est votre question ?",
    "en": "Sorry, we were cut off for a moment. I'm listening: what is your question?",
}


def resumed_apology(language: str) -> str:
    """The apology for ``language`` (BCP 47); English for languages without one."""
    return RESUMED.get(language.split("-", 1)[0].lower(), RESUMED["en"])
