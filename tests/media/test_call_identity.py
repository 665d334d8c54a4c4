"""Call identity rules (ARI variables, direct-mode query, channel id), on MEDIA_START data."""

from __future__ import annotations

import logging

import pytest

from callbot.logs import for_log
from callbot.media.call_identity import CallIdRegistry, IdSource, resolve, valid_call_id

CHAN = "1763700000.42"
STALE = "1763699000.7"  # the id a direct-mode Dial left on the shared connection


def ids(
    registry: CallIdRegistry,
    variables: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    channel_id: str = CHAN,
):
    return resolve(
        channel_id=channel_id, variables=variables or {}, query=query or {}, registry=registry
    )


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_ari_mode_takes_the_variables_and_ignores_a_stale_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CallIdRegistry()
    variables = {"CALLBOT_CALL_ID": "1763700000.40", "CALLBOT_CALLER": "0612345678"}
    query = {"call_id": STALE, "caller": "+33699999999"}
    with caplog.at_level(logging.INFO, logger="callbot.media"):
        identity = ids(registry, variables, query)
    assert identity.call_id == "1763700000.40" and identity.caller_number == "0612345678"
    assert identity.source is IdSource.VARIABLE and not identity.query_trusted
    assert "1763700000.40" in registry
    [note] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert f"query call_id {STALE} ignored" in note.getMessage()
    assert note.call_id == "1763700000.40"  # type: ignore[attr-defined]


def test_ari_mode_without_caller_variable_does_not_borrow_the_query_caller() -> None:
    identity = ids(CallIdRegistry(), {"__CALLBOT_CALL_ID": "c-1"}, {"caller": "0699999999"})
    assert (identity.call_id, identity.caller_number) == ("c-1", None)


def test_ari_mode_keeps_an_id_seen_before_but_says_so(caplog: pytest.LogCaptureFixture) -> None:
    registry = CallIdRegistry()
    ids(registry, {"CALLBOT_CALL_ID": "c-1"})
    with caplog.at_level(logging.WARNING, logger="callbot.media"):
        again = ids(registry, {"CALLBOT_CALL_ID": "c-1"})  # e.g. a media leg re-attached
    assert again.call_id == "c-1"
    assert [(r.call_id, r.getMessage()) for r in caplog.records] == [
        ("c-1", "this call id was already used by this process")
    ]


def test_direct_mode_takes_a_fresh_query_id_and_its_caller() -> None:
    identity = ids(CallIdRegistry(), query={"call_id": "1763700000.1", "caller": "+33612345678"})
    assert (identity.call_id, identity.caller_number) == ("1763700000.1", "+33612345678")
    assert identity.source is IdSource.QUERY and identity.query_trusted


def test_direct_mode_never_reuses_a_query_id(caplog: pytest.LogCaptureFixture) -> None:
    registry = CallIdRegistry()
    first = ids(registry, query={"call_id": STALE, "caller": "0611111111"}, channel_id="1.1")
    with caplog.at_level(logging.WARNING, logger="callbot.media"):
        second = ids(registry, query={"call_id": STALE, "caller": "0611111111"}, channel_id="1.2")
        third = ids(registry, query={"call_id": STALE}, channel_id="1.2")  # even the channel id
    assert first.call_id == STALE
    assert (second.call_id, second.source, second.caller_number) == (
        "1.2",
        IdSource.CHANNEL_ID,
        None,
    )
    assert third.source is IdSource.GENERATED and valid_call_id(third.call_id)
    assert len({first.call_id, second.call_id, third.call_id}) == 3
    warned = messages(caplog, logging.WARNING)
    assert len(warned) == 2 and all(f"query call_id {STALE} already used" in w for w in warned)


def test_an_id_seen_in_ari_mode_is_not_reused_by_a_direct_call() -> None:
    registry = CallIdRegistry()
    ids(registry, {"CALLBOT_CALL_ID": "c-1"})
    assert ids(registry, query={"call_id": "c-1"}).call_id == CHAN


def test_no_id_anywhere_gives_the_channel_id() -> None:
    identity = ids(CallIdRegistry())
    assert (identity.call_id, identity.source) == (CHAN, IdSource.CHANNEL_ID)


@pytest.mark.parametrize(
    "bad",
    ["abc\nINFO callbot: call 42: transferred", "x" * 500, "", "a b", "é", "../etc", "id#2"],
)
def test_malformed_ids_are_replaced_and_logged_escaped(
    caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    with caplog.at_level(logging.DEBUG, logger="callbot.media"):
        direct = ids(CallIdRegistry(), query={"call_id": bad})
        ari = ids(CallIdRegistry(), {"CALLBOT_CALL_ID": bad} if bad else {})
    assert direct.call_id == CHAN and not direct.query_trusted
    assert valid_call_id(ari.call_id) and ari.call_id != bad
    for record in caplog.records:
        line = record.getMessage()
        assert "\n" not in line and len(line) < 400
    if "\n" in bad:
        assert any("abc\\nINFO callbot" in r.getMessage() for r in caplog.records)


def test_a_malformed_caller_number_is_dropped_without_being_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="callbot.media"):
        identity = ids(CallIdRegistry(), {"CALLBOT_CALL_ID": "c", "CALLBOT_CALLER": "06\n12"})
    assert identity.caller_number is None
    assert all("06" not in r.getMessage() for r in caplog.records)
    assert (
        ids(
            CallIdRegistry(), {"CALLBOT_CALL_ID": "c", "CALLBOT_CALLER": " +33 6 12 "}
        ).caller_number
        == "+33 6 12"
    )


def test_registry_forgets_the_oldest_first() -> None:
    registry = CallIdRegistry(capacity=2)
    for call_id in ("a", "b", "a", "c"):
        registry.claim(call_id)
    assert "a" in registry and "c" in registry and "b" not in registry and len(registry) == 2


def test_for_log_escapes_and_cuts() -> None:
    assert for_log("a\nb\r\x1b[31mé") == "a\\nb\\r\\x1b[31m\\xe9"
    assert for_log("x" * 100, limit=10) == "x" * 10 + "...(+90 chars)"


def test_no_caller_number_is_normal_and_not_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Asterisk sends an empty CALLBOT_CALLER for a withheld number (seen on Asterisk 23)."""
    with caplog.at_level(logging.WARNING, logger="callbot.media"):
        identity = ids(CallIdRegistry(), {"CALLBOT_CALL_ID": "c", "CALLBOT_CALLER": ""})
    assert identity.caller_number is None
    assert caplog.records == []
