"""Every exception callbot raises on purpose, in one tree::

    CallbotError
    ├── ConfigError              bad settings file or environment; refuse to start
    ├── ModelError               a model or voice is missing or fails its checksum
    ├── ProtocolError            a peer broke a wire protocol (see the subclasses)
    │   ├── ChanWebsocketError   chan_websocket control or media message
    │   ├── AudioSocketError     AudioSocket frame
    │   └── AriError             ARI event or REST answer
    ├── DialplanError            a dialplan file is invalid (with file:line:col)
    └── CallError                one call's pipeline failed; that call ends gracefully

Protocol errors are mapped to hang-ups and close codes in one place per edge
(see :mod:`callbot.media`): a protocol error never ends the process.
"""

from __future__ import annotations


class CallbotError(Exception):
    """Base of callbot's own errors."""


class ConfigError(CallbotError):
    """Settings are invalid; the process refuses to start."""


class ModelError(CallbotError):
    """A model or voice is missing, unreadable, or fails its sha256 check."""


class ProtocolError(CallbotError):
    """A peer broke a wire protocol."""


class ChanWebsocketError(ProtocolError):
    """Malformed or oversize chan_websocket message."""


class AudioSocketError(ProtocolError):
    """Malformed or oversize AudioSocket frame."""


class AriError(ProtocolError):
    """Unexpected ARI event or REST answer."""


class DialplanError(CallbotError):
    """A dialplan file is invalid."""


class CallError(CallbotError):
    """One call's pipeline failed."""
