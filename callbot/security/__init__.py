"""Exposure checks, media authentication, secrets in logs, call admission."""
