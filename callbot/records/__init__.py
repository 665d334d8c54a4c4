"""Call records: one row per call and per turn, in SQLite (default) or PostgreSQL.

The call runner hands the journal dict of each call (at its start, after each turn, at its
end) to a :class:`~callbot.records.writer.RecordWriter`, which stores it off the event
loop and spools it on disk while the database is down; KPIs
(:mod:`callbot.records.kpi`) and clusters of not-understood utterances
(:mod:`callbot.records.clusters`) are pure functions over the stored calls, shown by the
dashboard (:mod:`callbot.web.dashboard`) and ``callbot report``. A callback asked in a call
is a work item for the agents (:mod:`callbot.records.callbacks`), stored with the call's
record.
"""

from callbot.records.model import StoredCall, StoredTurn
from callbot.records.settings import RecordsSettings
from callbot.records.store import RecordStore, open_store
from callbot.records.writer import RecordWriter

__all__ = [
    "RecordStore",
    "RecordWriter",
    "RecordsSettings",
    "StoredCall",
    "StoredTurn",
    "open_store",
]
