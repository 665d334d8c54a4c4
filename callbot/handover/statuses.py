"""What became of a hand-over, said in the call's language for the agent.

The warm transfer records each status with a short detail (:mod:`callbot.bridge.
warm_transfer`): the Asterisk ``QUEUESTATUS`` when no agent answered (``TIMEOUT``...),
the queue a callback goes to, the error of a failed transfer, ``caller hung up in the
queue``. The agent reads it on the console beside the status, in the call's language
(:func:`status_detail`, applied once when the hub records the status); a detail written
by someone else (an agent's extension, a note) passes unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from callbot.handover.reasons import ENGLISH, FRENCH, language_key

QUEUE_STATUSES: Mapping[str, Mapping[str, str]] = {
    "TIMEOUT": {
        FRENCH: "aucun conseiller n'a répondu à temps",
        ENGLISH: "no agent answered in time",
    },
    "FULL": {FRENCH: "la file d'attente était pleine", ENGLISH: "the queue was full"},
    "JOINEMPTY": {FRENCH: "aucun conseiller dans la file", ENGLISH: "no agent in the queue"},
    "LEAVEEMPTY": {
        FRENCH: "le dernier conseiller a quitté la file",
        ENGLISH: "the last agent left the queue",
    },
    "JOINUNAVAIL": {
        FRENCH: "aucun conseiller disponible dans la file",
        ENGLISH: "no agent available in the queue",
    },
    "LEAVEUNAVAIL": {
        FRENCH: "plus aucun conseiller disponible dans la file",
        ENGLISH: "no agent left available in the queue",
    },
    "CONTINUE": {FRENCH: "la file a rendu l'appel", ENGLISH: "the queue gave the call back"},
    "WITHDRAW": {FRENCH: "l'appel a été retiré de la file", ENGLISH: "the call was withdrawn"},
}
"""``no_answer``: why the queue gave the caller back (Asterisk's ``QUEUESTATUS``)."""

HUNG_UP_WAITING = "caller hung up in the queue"
"""``abandoned``: the caller left while waiting for an agent."""

WORDED: Mapping[str, Mapping[str, str]] = {
    "abandoned": {
        FRENCH: "l'appelant a raccroché pendant l'attente",
        ENGLISH: "the caller hung up while waiting",
    },
    "callback_requested": {
        FRENCH: "à rappeler par la file {detail}",
        ENGLISH: "to be called back by the {detail} queue",
    },
    "transfer_failed": {
        FRENCH: "le transfert a échoué ({detail})",
        ENGLISH: "the transfer failed ({detail})",
    },
}
"""The other details the warm transfer gives, by status (``{detail}``: what it gave)."""


def status_detail(status: str, detail: str, language: str) -> str:
    """``detail`` of a ``status`` change as the agent reads it, in ``language``.

    >>> status_detail("no_answer", "TIMEOUT", "fr-FR")
    "aucun conseiller n'a répondu à temps"
    >>> status_detail("callback_requested", "rappels", "en-GB")
    'to be called back by the rappels queue'
    >>> status_detail("answered", "poste 204", "en-US")
    'poste 204'
    """
    lang = language_key(language)
    if status == "no_answer" and detail.upper() in QUEUE_STATUSES:
        return QUEUE_STATUSES[detail.upper()][lang]
    if status == "abandoned" and detail != HUNG_UP_WAITING:
        return detail
    if status in WORDED and detail:
        return WORDED[status][lang].format(detail=detail)
    return detail
