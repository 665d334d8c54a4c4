"""Access control (roles, credentials, the gate, trusted proxies, password hashes),
exposure checks, secrets in logs, call admission."""
