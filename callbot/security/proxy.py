"""Reverse proxies callbot believes: who the client is, and who the proxy says the user is.

A proxy in front of callbot (nginx, Traefik, oauth2-proxy, Authelia...) authenticates
people by single sign-on and passes their identity in request headers. Those headers,
and ``X-Forwarded-For``, are believed only when the TCP peer is one of the configured
proxies: anyone else could send them. ``X-Forwarded-For`` is read from the right, each
hop only while it is itself a trusted proxy, so a client cannot choose its address by
prepending entries.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESS_CHARS = 64
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TrustedProxies:
        """``10.0.0.5``, ``10.0.0.0/24``, ``::1``...; ValueError names a bad entry."""
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return cls(tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in net for net in self.networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address a request comes from: the peer, unless the peer is a trusted proxy;
        then the right-most ``X-Forwarded-For`` hop that is not one."""
        client = peer or "?"
        if not self.trusts(peer) or not forwarded_for:
            return client
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            client = hop[:MAX_ADDRESS_CHARS] or "?"
            if not self.trusts(hop):
                break
        return client


def groups(header: str | None, prefix: str = "") -> frozenset[str]:
    """The groups a proxy lists (comma, semicolon or space separated), ``prefix`` removed;
    groups without the prefix are left out."""
    if not header:
        return frozenset()
    names = (g for g in _SEPARATORS.split(header.strip()) if g)
    return frozenset(g[len(prefix) :] for g in names if g.startswith(prefix))


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not address:
        return None
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
