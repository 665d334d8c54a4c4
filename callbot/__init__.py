"""callbot: a self-hosted voice callbot for telephone hotlines."""

__version__ = "0.1.0"
