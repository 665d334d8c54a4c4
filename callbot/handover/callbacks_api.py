"""The agent console's callback list: the callbacks owed, claimed and closed by agents.

Routes (mounted with the console, same ``agent`` role: they show numbers to call):

* ``GET /agent/callbacks?status=open&status=claimed``: callbacks, oldest first (default:
  those still owed), as JSON, for the page and CRMs;
* ``POST /agent/callbacks/{id}/claim`` ``{"agent": "Mme Martin"}``: take one; 409 with
  the item when another agent holds it (one agent at a time), or it is no longer owed;
* ``POST /agent/callbacks/{id}/release`` ``{"agent": ...}``: give it back;
* ``POST /agent/callbacks/{id}/close`` ``{"agent": ..., "result": "reached"}``: the
  agent who claimed it says how it went (``reached``, ``no_answer``, ``wrong_number``);
  the number is erased.

The records store decides (one conditional update each: two consoles, or two workers on
one PostgreSQL database, cannot both win); every change is then pushed by the hub to the
consoles and the webhook. The agent's name is whatever the console was told: the access
gate proves the role, not the person.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from callbot.handover.hub import HandoverHub
from callbot.records.callbacks import CLAIMED, CLOSED, OPEN, PENDING, RESULTS, STATUSES, valid_agent
from callbot.records.store import RecordStore

ACTIONS = {"claim": "claimed", "release": "released", "close": "closed"}
"""Each request, and the event announced when it changes the item."""
MAX_LISTED = 500


def callbacks_router(hub: HandoverHub, store: RecordStore) -> APIRouter:
    """The callback routes; they check no credentials (the access gate does)."""
    router = APIRouter()

    @router.get("/agent/callbacks")
    async def listed(status: Annotated[list[str] | None, Query()] = None) -> Response:
        status = status or list(PENDING)
        unknown = [s for s in status if s not in STATUSES]
        if unknown:
            return _error(400, f"unknown status {unknown[0]!r}")
        found = await asyncio.to_thread(store.callbacks, statuses=status)
        body = {"callbacks": [c.for_agents() for c in found[-MAX_LISTED:]], "now": time.time()}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.post("/agent/callbacks/{callback_id}/{action}")
    async def change(callback_id: str, action: str, request: Request) -> Response:
        if action not in ACTIONS:
            return _error(404, "unknown action")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "a JSON object is expected")
        agent = valid_agent(str(body.get("agent") or ""))
        if agent is None:
            return _error(400, "give the agent's name")
        result = body.get("result")
        if action == "close" and result not in RESULTS:
            return _error(400, f"result must be one of {', '.join(RESULTS)}")
        if action == "claim":
            item, changed = await asyncio.to_thread(
                store.claim_callback, callback_id, agent, time.time()
            )
        elif action == "release":
            item, changed = await asyncio.to_thread(store.release_callback, callback_id, agent)
        else:
            item, changed = await asyncio.to_thread(
                store.close_callback, callback_id, agent, str(result), time.time()
            )
        if item is None:
            return _error(404, "unknown callback")
        if changed:
            hub.callback_changed(ACTIONS[action], item)
        elif not (action == "claim" and item.status == CLAIMED and item.claimed_by == agent):
            return _error(409, _refusal(item.status, item.claimed_by), item.for_agents())
        return JSONResponse({"callback": item.for_agents()})

    return router


def _refusal(status: str, holder: str | None) -> str:
    if status == CLAIMED:
        return f"claimed by {holder}"
    if status == OPEN:
        return "claim it first"
    return "closed" if status == CLOSED else "expired"


def _error(status: int, message: str, callback: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if callback is not None:
        body["callback"] = callback
    return JSONResponse(body, status_code=status)
