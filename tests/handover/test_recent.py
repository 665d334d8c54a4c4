"""The contexts a hub keeps in memory: bounded, newest first, refreshed in place."""

from __future__ import annotations

from callbot.handover.recent import RecentContexts
from tests.handover.test_hub import sample_context


def test_bounded_newest_first_and_refreshed_in_place() -> None:
    recent = RecentContexts(2)
    old, new, newer = (sample_context(f"n{i}", created_at=float(i)) for i in range(3))
    recent.remember(new, "")
    recent.remember(old, "")
    recent.remember(newer, "")  # the least recently changed goes: new
    assert [ctx.summary for ctx, _ in recent.newest()] == ["n2", "n0"]
    recent.refresh(old.without_identifiers(), "agent 3")
    recent.refresh(new, "gone")  # not kept: stays out
    assert recent.get(old.context_id) == (old.without_identifiers(), "agent 3")
    assert recent.get(new.context_id) is None
    recent.keep({newer.context_id})
    assert recent.ids() == [newer.context_id]
    recent.replace([(new, ""), (old, "")])
    assert recent.newest(1) == [(new, "")] and len(recent.newest()) == 2
