"""The warm transfer's status details, worded for the agent in the call's language."""

from __future__ import annotations

import pytest

from callbot.handover.statuses import QUEUE_STATUSES, status_detail


@pytest.mark.parametrize(
    ("status", "detail", "french", "english"),
    [
        (
            "no_answer",
            "TIMEOUT",
            "aucun conseiller n'a répondu à temps",
            "no agent answered in time",
        ),
        ("no_answer", "joinempty", "aucun conseiller dans la file", "no agent in the queue"),
        (
            "abandoned",
            "caller hung up in the queue",
            "l'appelant a raccroché pendant l'attente",
            "the caller hung up while waiting",
        ),
        (
            "callback_requested",
            "rappels",
            "à rappeler par la file rappels",
            "to be called back by the rappels queue",
        ),
        (
            "transfer_failed",
            "HTTP 404",
            "le transfert a échoué (HTTP 404)",
            "the transfer failed (HTTP 404)",
        ),
    ],
)
def test_worded_in_french_and_english(status: str, detail: str, french: str, english: str) -> None:
    assert status_detail(status, detail, "fr-FR") == french
    assert status_detail(status, detail, "en-GB") == english
    assert status_detail(status, detail, "de-DE") == french  # the house language


def test_every_queue_status_in_both_languages() -> None:
    assert all(set(words) == {"fr", "en"} for words in QUEUE_STATUSES.values())


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ("answered", "poste 204"),
        ("abandoned", "raccroché après 3 min"),
        ("no_answer", ""),
        ("queued", ""),
    ],
)
def test_other_details_pass_unchanged(status: str, detail: str) -> None:
    assert status_detail(status, detail, "en-US") == detail
