"""The wire format of the hand-over changes (``NOTIFY`` payloads), and what a listener
takes from it: ids and kinds only, never the caller; its own changes and strangers'
payloads left out."""

from __future__ import annotations

import json

import psycopg

from callbot.handover.postgres import PostgresHandoverStore
from callbot.handover.postgres_listen import CHANNEL, Change, parse, payload
from tests.handover.test_hub import sample_context


def test_a_payload_round_trips_and_names_no_caller() -> None:
    text = payload("node-a", "status", "c0ffee")
    assert json.loads(text) == {"origin": "node-a", "kind": "status", "id": "c0ffee"}
    assert parse(text, "node-b") == Change("status", "c0ffee")
    assert parse(payload("node-a", "callback", "cb1", "claimed"), "b") == Change(
        "callback", "cb1", "claimed"
    )


def test_own_changes_and_strangers_are_left_out() -> None:
    assert parse(payload("node-a", "handover", "c0ffee"), "node-a") is None
    for stranger in (
        "",
        "c0ffee",
        "[1, 2]",
        '{"kind": "drop table", "id": "x"}',
        '{"kind": "status", "id": 12}',
        '{"kind": "status", "id": ""}',
        json.dumps({"kind": "status", "id": "x" * 201}),
    ):
        assert parse(stranger, "node-a") is None, stranger


def test_what_postgresql_carries_holds_no_caller_data(postgres_url: str) -> None:
    """Every payload of a context's life, read by a plain ``LISTEN`` (as PostgreSQL may
    log them): the caller's number, NIR and words are in none."""
    store = PostgresHandoverStore(postgres_url, caller_salt="salt", identifiers_ttl_s=60.0)
    with psycopg.connect(postgres_url, autocommit=True) as listening:
        listening.execute(f"LISTEN {CHANNEL}")
        ctx = sample_context(created_at=1_000.0)
        store.save(ctx)
        store.save(ctx.with_status("answered", 1_010.0), "agent 12", kind="status")
        store.expire_identifiers(2_000.0)
        store.announce("callback", "cb1", "claimed")
        store.delete_older_than(5_000.0)
        got = [n.payload for n in listening.notifies(timeout=5.0, stop_after=5)]
    store.close()
    assert [(json.loads(p)["kind"], json.loads(p)["id"]) for p in got] == [
        ("handover", ctx.context_id),
        ("status", ctx.context_id),
        ("status", ctx.context_id),
        ("callback", "cb1"),
        ("erased", ctx.context_id),
    ]
    text = " ".join(got)
    for secret in ("612345678", "2 84 05 75", "remboursement", "agent 12", "Martin"):
        assert secret not in text
    assert max(len(p.encode()) for p in got) < 200
