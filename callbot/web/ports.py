"""Listening TCP sockets, bound in one place so that a taken port is one clear error.

Left to bind on its own, uvicorn logs the failure and calls ``sys.exit`` inside its
serving task: a traceback and "Task exception was never retrieved" instead of a
message. :func:`bind_tcp` binds as asyncio would (every address the host resolves to,
``SO_REUSEADDR``, IPv6 sockets IPv6-only) and raises
:class:`~callbot.errors.PortUnavailable`; :func:`check_free` is the same bind, released
at once, and :func:`check_ports` runs it for each port of the settings before the slow
model load.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from callbot.errors import ConfigError, PortUnavailable

if TYPE_CHECKING:
    from callbot.config import ServerSettings


def bind_tcp(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of ``host`` on ``port``, not yet listening."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise PortUnavailable(host, port, exc) from None
    bound: list[socket.socket] = []
    for family, kind, proto, _, address in dict.fromkeys(infos):
        sock = socket.socket(family, kind, proto)
        bound.append(sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        except OSError as exc:
            for other in bound:
                other.close()
            raise PortUnavailable(host, port, exc) from None
    return bound


def check_free(host: str, port: int) -> None:
    """Raise :class:`~callbot.errors.PortUnavailable` now if ``host:port`` cannot be had."""
    for sock in bind_tcp(host, port):
        sock.close()


def check_ports(server: ServerSettings) -> None:
    """Fail now, naming the setting to change, if a port the bot listens on is taken:
    ``callbot serve`` runs this before the models load, so the operator learns at once."""
    listeners = {"server.port": server.port}
    if server.audiosocket:
        if server.audiosocket_port and server.audiosocket_port == server.port:
            raise ConfigError(
                f"server.port and server.audiosocket_port are both {server.port}: "
                "HTTP and AudioSocket need a port each"
            )
        listeners["server.audiosocket_port"] = server.audiosocket_port
    for setting, port in listeners.items():
        try:
            check_free(server.host, port)
        except PortUnavailable as exc:
            raise exc.about("server.host", setting) from None
