"""Every exception callbot raises on purpose, in one tree::

    CallbotError
    ├── ConfigError              bad settings file or environment; refuse to start
    ├── StartupError             the process cannot start as configured
    │   ├── PortUnavailable      a server cannot listen (port taken, address not local)
    │   └── MissingExtra         an optional part needs a package of an extra not installed
    ├── ModelError               a model or voice is missing or fails its checksum
    ├── ProvisioningError        an origin failed to deliver a model file (internal: the
    │   │                        installer tries the next one; callers see ModelError)
    │   ├── SourceFailed         unreachable, HTTP error, not in the wheel (provisioning)
    │   └── IntegrityError       wrong size or sha256 (provisioning)
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

import errno
import os


class CallbotError(Exception):
    """Base of callbot's own errors."""


class ConfigError(CallbotError):
    """Settings are invalid; the process refuses to start."""


class StartupError(CallbotError):
    """The process cannot start as configured; ``callbot`` prints one line and exits 1."""


class PortUnavailable(StartupError):
    """A server cannot listen on ``host:port``; names the setting to change when known."""

    def __init__(self, host: str, port: int, reason: OSError, setting: str | None = None) -> None:
        self.host, self.port, self.reason, self.setting = host, port, reason, setting
        if reason.errno == errno.EADDRINUSE:
            message = f"port {port} is already in use"
        else:
            code = reason.errno or 0  # negative: a resolver (gaierror) code
            why = os.strerror(code) if code > 0 else reason.strerror or str(reason)
            message = f"cannot listen on {host}:{port}: {why}"
        if setting:
            env = "CALLBOT_" + setting.replace(".", "_").upper()
            message += f" ({setting}; set {env})"
        super().__init__(message)

    def about(self, host_setting: str, port_setting: str) -> PortUnavailable:
        """The same error, naming the setting to change: the port's if it is taken or
        privileged, else the host's (not an address of this machine, unknown name)."""
        port_problem = self.reason.errno in (errno.EADDRINUSE, errno.EACCES)
        setting = port_setting if port_problem else host_setting
        return PortUnavailable(self.host, self.port, self.reason, setting)


class MissingExtra(StartupError):
    """An optional part of callbot (the PostgreSQL records store, the load tester) needs a
    package that is not installed; names the extra that installs it."""

    def __init__(self, package: str, extra: str) -> None:
        self.package, self.extra = package, extra
        super().__init__(f"{package} is not installed: pip install 'callbot[{extra}]'")


class ModelError(CallbotError):
    """A model or voice is missing, unreadable, or fails its sha256 check."""


class ProvisioningError(CallbotError):
    """One origin could not deliver a model or voice file, or delivered a bad one.

    Internal to :mod:`callbot.provisioning`: the installer tries the next origin and
    raises :class:`ModelError` when none delivered."""


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
