"""Joining the simulated side of a call with the server's record."""

from callbot.simulator.run import wait_for_record


async def test_a_record_already_there_is_found_without_waiting() -> None:
    records = [{"call_id": "a"}, {"call_id": "b", "outcome": "answered"}]
    assert await wait_for_record(records, "b", 0.0) == {"call_id": "b", "outcome": "answered"}
    assert await wait_for_record(records, "zzz", 0.0) is None
