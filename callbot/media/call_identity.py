"""Which call a chan_websocket connection is: its call id and caller number, checked.

Why this is not simply "the ``call_id`` query parameter": Asterisk keeps the ``v()``
parameters of a ``Dial(WebSocket/<conn>/...v(call_id=...))`` on the websocket_client
connection ``<conn>`` itself (``res_websocket_client.c``,
``ast_websocket_client_add_uri_params``), and every later connection through ``<conn>``
that has no ``v()`` of its own, ARI externalMedia legs included, arrives with the same
query string until Asterisk restarts (asterisk.md section 5). A query parameter is
therefore a claim, not an identity.

The rules, in order:

1. **ARI mode** (``CALLBOT_CALL_ID`` among MEDIA_START's ``channel_variables``, set by
   callbot's Stasis bridge on the externalMedia channel, possibly inherited as
   ``__CALLBOT_CALL_ID``): the id is that variable, and the caller number is
   ``CALLBOT_CALLER`` (or none). Query parameters are not used for either; a query
   ``call_id`` that disagrees is logged at INFO (a ``v()`` left behind by a direct call).
2. **Direct mode** (no such variable: ``Dial(WebSocket/callbot-direct/...v(call_id=...))``,
   the softphone, or the plain-text control format which carries no variables): the query
   ``call_id`` is used when it is well formed and no call of this process has had it
   (:class:`CallIdRegistry` remembers the last ``capacity`` ids, ARI ones included); the
   query ``caller`` comes with it.
3. Otherwise (no query id, a malformed one, or one already seen: a parameter stuck on a
   shared connection, or a dialplan reusing ids) the id is the WebSocket channel's
   ``channel_id`` from MEDIA_START: Asterisk's uniqueid of that channel, made for this
   call (``<epoch>.<sequence>``, never handed out twice by one Asterisk). A seen query
   id is logged at WARNING, and its ``caller`` is dropped with it (it belongs to the
   earlier call).
4. A value that fails every rule above gives a generated id (``callbot-<hex>``).

Every id must match :data:`CALL_ID_RE`, every caller number :data:`CALLER_RE`: what
comes off the wire is never logged raw (:func:`callbot.logs.for_log` escapes it), so a newline in a
``v()`` parameter cannot forge a log line.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from callbot.logs import call_log, for_log

logger = logging.getLogger(__name__)

CALL_ID_PARAM = "call_id"
"""Query parameter carrying the call id (dial option ``v(call_id=...)``)."""
CALLER_PARAM = "caller"
CALL_ID_VARIABLE = "CALLBOT_CALL_ID"
"""Channel variable carrying the call id (JSON MEDIA_START ``channel_variables``)."""
CALLER_VARIABLE = "CALLBOT_CALLER"
MOVED_VARIABLE = "CALLBOT_MOVED"
"""Set by the cluster's control role on the new media leg of a call whose worker failed
(how many times it moved): the dialog apologises instead of greeting again."""

CALL_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""A call id callbot accepts: Asterisk uniqueids, UUIDs, ``softphone-<hex>``..."""
CALLER_RE = re.compile(r"[A-Za-z0-9+*#()._:-](?:[A-Za-z0-9+*#()._: -]{0,62}[A-Za-z0-9+*#()._:-])?")
"""A caller number as CALLERID(num) gives it: ``+33 6 12 34 56 78``, ``anonymous``..."""


class IdSource(StrEnum):
    """Where a call's id came from."""

    VARIABLE = "channel_variable"
    QUERY = "query"
    CHANNEL_ID = "channel_id"
    GENERATED = "generated"


@dataclass(frozen=True, slots=True)
class CallIdentity:
    call_id: str
    caller_number: str | None
    source: IdSource
    query_trusted: bool
    """The query parameters belong to this call (rule 2); otherwise ignore them."""


def valid_call_id(value: str | None) -> bool:
    return value is not None and CALL_ID_RE.fullmatch(value) is not None


def valid_caller(value: str | None) -> bool:
    return value is not None and CALLER_RE.fullmatch(value) is not None


def generated_id() -> str:
    return f"callbot-{uuid.uuid4().hex[:16]}"


class CallIdRegistry:
    """The call ids this process has given out: the live calls and the latest ended ones.

    Bounded by count (oldest forgotten first): 10,000 calls is days of a busy hotline,
    far longer than any ``v()`` parameter stays unnoticed in the logs.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def claim(self, call_id: str) -> None:
        self._ids[call_id] = None
        self._ids.move_to_end(call_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


def channel_variable(variables: Mapping[str, str], name: str) -> str | None:
    """A variable by name; inherited ones keep their ``_``/``__`` prefix in MEDIA_START."""
    for key in (name, f"_{name}", f"__{name}"):
        if variables.get(key):
            return variables[key]
    return None


def resolve(
    *,
    channel_id: str,
    variables: Mapping[str, str],
    query: Mapping[str, str],
    registry: CallIdRegistry,
) -> CallIdentity:
    """The identity of the call that just sent MEDIA_START (rules in the module docstring).

    Claims the id in ``registry``; logs what it rejected, escaped.
    """
    from_variable = channel_variable(variables, CALL_ID_VARIABLE)
    if from_variable is not None:
        identity = _from_variables(from_variable, variables, query, registry)
    else:
        identity = _from_query(channel_id, query, registry)
    registry.claim(identity.call_id)
    return identity


def _from_variables(
    call_id: str, variables: Mapping[str, str], query: Mapping[str, str], registry: CallIdRegistry
) -> CallIdentity:
    source = IdSource.VARIABLE
    if not valid_call_id(call_id):
        replacement = generated_id()
        call_log(logger, replacement).warning(
            "malformed %s %s replaced", CALL_ID_VARIABLE, for_log(call_id)
        )
        call_id, source = replacement, IdSource.GENERATED
    elif call_id in registry:  # the bridge owns ARI ids: keep it, but say so
        call_log(logger, call_id).warning("this call id was already used by this process")
    stale = query.get(CALL_ID_PARAM)
    if stale is not None and stale != call_id:
        call_log(logger, call_id).info(
            "query call_id %s ignored (a v() parameter left on the websocket_client "
            "connection by an earlier Dial?)",
            for_log(stale),
        )
    return CallIdentity(
        call_id, _caller(call_id, channel_variable(variables, CALLER_VARIABLE)), source, False
    )


def _from_query(
    channel_id: str, query: Mapping[str, str], registry: CallIdRegistry
) -> CallIdentity:
    claimed = query.get(CALL_ID_PARAM)
    if claimed is not None and valid_call_id(claimed) and claimed not in registry:
        return CallIdentity(
            claimed, _caller(claimed, query.get(CALLER_PARAM)), IdSource.QUERY, True
        )
    if valid_call_id(channel_id) and channel_id not in registry:
        call_id, source = channel_id, IdSource.CHANNEL_ID
    else:
        call_id, source = generated_id(), IdSource.GENERATED
    if claimed is None:
        pass  # nothing claimed: the channel's own id is the natural one
    elif not valid_call_id(claimed):
        call_log(logger, call_id).warning("malformed query call_id %s replaced", for_log(claimed))
    else:
        call_log(logger, call_id).warning(
            "query call_id %s already used by an earlier call (a v() parameter left "
            "on the websocket_client connection?); using the %s, caller number ignored",
            claimed,
            "channel id" if source is IdSource.CHANNEL_ID else "generated id",
        )
    return CallIdentity(call_id, None, source, False)


def _caller(call_id: str, number: str | None) -> str | None:
    if number is None:
        return None
    number = number.strip()
    if not number:  # no caller id presented (withheld, internal line): nothing to check
        return None
    if valid_caller(number):
        return number
    # Caller numbers are personal data: say what was wrong, not what it was.
    call_log(logger, call_id).warning(
        "malformed caller number ignored (%d characters)", len(number)
    )
    return None
