"""The newest hand-over contexts a hub keeps in memory, for its consoles.

Older ones are read from the store when asked for. With a store shared by several nodes,
this node's own and the others' (as it hears of them) are kept alike.
"""

from __future__ import annotations

from collections import OrderedDict

from callbot.handover.context import HandoverContext
from callbot.handover.table import Row


class RecentContexts:
    """At most ``limit`` contexts with their last detail; the least recently changed go."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._rows: OrderedDict[str, Row] = OrderedDict()

    def get(self, context_id: str) -> Row | None:
        return self._rows.get(context_id)

    def remember(self, ctx: HandoverContext, detail: str) -> None:
        self._rows[ctx.context_id] = (ctx, detail)
        self._rows.move_to_end(ctx.context_id)
        while len(self._rows) > self.limit:
            self._rows.popitem(last=False)

    def refresh(self, ctx: HandoverContext, detail: str) -> None:
        """``ctx`` as now stored, if it is kept (its place unchanged)."""
        if ctx.context_id in self._rows:
            self._rows[ctx.context_id] = (ctx, detail)

    def forget(self, context_id: str) -> None:
        self._rows.pop(context_id, None)

    def keep(self, context_ids: set[str]) -> None:
        """Forget every context but ``context_ids`` (the others were erased or purged)."""
        for context_id in [c for c in self._rows if c not in context_ids]:
            del self._rows[context_id]

    def replace(self, newest: list[Row]) -> None:
        """Keep just ``newest`` (newest first, as the store lists them)."""
        self._rows.clear()
        for ctx, detail in reversed(newest[: self.limit]):
            self._rows[ctx.context_id] = (ctx, detail)

    def ids(self) -> list[str]:
        return list(self._rows)

    def newest(self, limit: int | None = None) -> list[Row]:
        """Newest first (by creation), at most ``limit``."""
        rows = sorted(self._rows.values(), key=lambda row: row[0].created_at, reverse=True)
        return rows if limit is None else rows[: max(0, limit)]
