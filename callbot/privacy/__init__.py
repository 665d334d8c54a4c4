"""Privacy: redaction of identifiers, caller pseudonyms, retention, export and erasure."""
