"""A ``websocket_client.conf`` connection as Asterisk keeps it, ``v()`` stickiness included.

In Asterisk a connection (one section, e.g. ``[callbot]``) is one shared object for every
call that names it. When a dial string has ``v(...)``, chan_websocket's ``webchan_call``
stores the parameters *on the connection* (``ast_websocket_client_add_uri_params``
replaces the previous ones), and ``ast_websocket_client_connect`` appends whatever is
stored to the URI of every later connection through it, with ``?`` or ``&`` — dials
without ``v()`` and ARI externalMedia legs alike — until Asterisk restarts
(``res/res_websocket_client.c``; observed on Asterisk 23, asterisk.md section 5).
:meth:`WebsocketClientConnection.uri_for_call` does the same.

``v()`` takes ``name=value`` pairs separated by commas (Dial would split on ``&``), each
name and value already URI-encoded (``URIENCODE``); Asterisk refuses the dial otherwise
(``validate_uri_parameters``), and turns the commas into ``&``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from callbot.protocols.asterisk_conf import Conf

_ENCODED = re.compile(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-Fa-f]{2})*")
"""What ``ast_uri_verify_encoded`` lets through: unreserved characters and %XX escapes."""


@dataclass(slots=True)
class WebsocketClientConnection:
    """One ``type=websocket_client`` section (``connection_type=per_call_config``)."""

    name: str
    uri: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    uri_params: str = ""
    """What the last ``v()`` left on the connection (``a=b&c=d``); empty until one does."""

    def uri_for_call(self, v: str | None = None) -> str:
        """The URI one new call connects to; ``v`` (the text inside ``v(...)``) sticks.

        Raises :class:`ValueError` for parameters that are not URI-encoded, as Asterisk
        fails such a dial.
        """
        if v:
            self.uri_params = _checked(v).replace(",", "&")
        if not self.uri_params:
            return self.uri
        return f"{self.uri}{'&' if '?' in self.uri else '?'}{self.uri_params}"


def connections_from_conf(
    conf: Conf, *, uri: str | None = None
) -> dict[str, WebsocketClientConnection]:
    """The ``type = websocket_client`` sections of a parsed ``websocket_client.conf``.

    ``uri`` replaces every section's (a test points the shipped file at its own server).
    """
    found: dict[str, WebsocketClientConnection] = {}
    for section in conf.categories():
        kind = section.get("type")
        if kind is None or kind.value != "websocket_client":
            continue
        values = {name: section.get(name) for name in ("uri", "username", "password")}
        found[section.name] = WebsocketClientConnection(
            section.name,
            uri or (values["uri"].value if values["uri"] else ""),
            username=values["username"].value if values["username"] else None,
            password=values["password"].value if values["password"] else None,
        )
    return found


def v_option(params: Mapping[str, str]) -> str:
    """The text of a ``v(...)`` dial option for ``params``, each part URIENCODEd."""
    return ",".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())


def dial_options(options: str) -> dict[str, str]:
    """chan_websocket dial options by letter, as ``ast_app_parse_options`` reads them.

    >>> dial_options("c(slin16)nf(json)v(call_id=1,caller=%2B33)")
    {'c': 'slin16', 'n': '', 'f': 'json', 'v': 'call_id=1,caller=%2B33'}
    """
    found: dict[str, str] = {}
    i = 0
    while i < len(options):
        letter, i = options[i], i + 1
        if options[i : i + 1] != "(":
            found[letter] = ""
            continue
        end = options.find(")", i)
        if end < 0:
            raise ValueError(f"'WebSocket' channel options '{options}' parse error")
        found[letter], i = options[i + 1 : end], end + 1
    return found


def _checked(v: str) -> str:
    for pair in v.split(","):
        for part in pair.split("="):
            if not _ENCODED.fullmatch(part):
                raise ValueError(f"Invalid URI parameters '{v}' in WebSocket dial string")
    return v
