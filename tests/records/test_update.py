"""A record update: redacted on the way in, and a lossless JSON round trip for the spool."""

from __future__ import annotations

from callbot.records.model import FINAL, IN_PROGRESS
from callbot.records.update import RecordUpdate, make_update
from tests.records.seed import journal, turn

T0 = 1_793_000_000.0


def test_json_round_trip_is_lossless() -> None:
    record = journal(
        "c1",
        T0,
        "in_progress",
        "",
        turns=[turn(1, "mon attestation", "matched", "attestation", 0.9, slots=["nir"])],
        errors=["hook timeout"],
        record_token="tok",
        revision=3,
    )
    update = make_update(record, "hash", final=False, instance_id="inst", finishes=("a", "b"))
    again = RecordUpdate.from_json(update.to_json())
    assert again == update
    assert (again.token, again.revision, again.instance_id) == ("tok", 3, "inst")
    assert again.call.state == IN_PROGRESS and not again.final
    assert again.call.turns[0].slots == ("nir",)


def test_text_is_redacted_before_it_can_reach_the_spool() -> None:
    record = journal(
        "c1",
        T0,
        turns=[turn(1, "rappelez-moi au 06 12 34 56 78", "no_match")],
        record_token="tok",
        revision=1,
    )
    text = make_update(record, None).to_json()
    assert "12 34" not in text and "rappelez-moi" in text


def test_a_record_without_token_gets_one_only_when_asked() -> None:
    record = journal("c1", T0)
    assert make_update(record, None).token is None
    fresh = make_update(record, None, new_token=True)
    assert fresh.token and fresh.call.state == FINAL and fresh.revision == 0
