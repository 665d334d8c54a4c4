"""Settings and logging for the commands that run callbot (serve, control, worker...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callbot.config import Settings, load_settings
from callbot.logs import setup_logging
from callbot.security.secrets import secret_values


def configured(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """The settings (file, environment, ``overrides``), with logging set up from them:
    secrets masked, caller data redacted as ``privacy.redact_logs`` says."""
    settings = load_settings(path, overrides=overrides or {})
    setup_logging(
        settings.log_level,
        settings.log_format,
        secrets=secret_values(settings),
        redact=settings.privacy.redact_logs,
    )
    return settings
