"""The sample back-office's HTTP API: what a dialplan hook asks, and how it is told.

The contract is the one of :mod:`callbot.dialplan.backoffice` (the bot's client): a
``GET`` with the NIR in the path and the birth date in the query string; ``200`` with a
JSON object whose fields the hook reads; ``404`` when the NIR and birth date are not
one person's or there is nothing to tell (the hook's ``not_found`` sentence); ``401``
without the expected ``Authorization`` header (the bot's ``backoffice.authorization``
setting; the hook's ``fallback``). Replies carry only what the bot says: no name, no
address. The OpenAPI description is served at ``/openapi.json`` and committed as
``dialplans/backoffice/openapi.json``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import pathlib
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field

from callbot.backoffice.data import DailyAllowance, Files, Reimbursement

NIR_PATTERN = r"^[1-478][0-9]{4}(?:[0-9]{2}|2[AB])[0-9]{8}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NOT_FOUND = "no file for this NIR and birth date"

Nir = Annotated[str, Path(pattern=NIR_PATTERN, description="15 characters, key included")]
AUTHORIZATION = APIKeyHeader(name="Authorization", auto_error=False)
"""Documents the header in the OpenAPI description; compared whole (any scheme)."""
BirthDate = Annotated[
    str, Query(pattern=DATE_PATTERN, description="YYYY-MM-DD; with the NIR, the identity check")
]


class LatestReimbursement(BaseModel):
    acte: str = Field(description='What was paid for, said after "Pour".')
    date_soins: str = Field(description="Date of the care, YYYY-MM-DD.")
    montant: float = Field(description="Amount paid back, in euros.")
    statut: str = Field(description="paye, en_cours, piece_manquante or refuse.")
    etape: str = Field(description="The last step, as said to the caller.")
    date_etape: str = Field(description="Date of that step, YYYY-MM-DD.")


class ReimbursementReply(BaseModel):
    remboursement: LatestReimbursement


class Payment(BaseModel):
    date: str = Field(description="YYYY-MM-DD.")
    montant: float = Field(description="In euros.")


class NextPayment(BaseModel):
    date: str = Field(description="YYYY-MM-DD; every fourteen days while the stoppage lasts.")


class Allowance(BaseModel):
    debut_arret: str = Field(description="First day of the work stoppage, YYYY-MM-DD.")
    montant_journalier: float = Field(description="Daily allowance, in euros.")
    dernier_versement: Payment
    prochain_versement: NextPayment


class AllowanceReply(BaseModel):
    indemnites: Allowance


class Health(BaseModel):
    status: str


DESCRIPTION = """\
A stand-in for a health-insurance back-office, for demonstrations, tests and load tests
of callbot's dialplan hooks. **Every person in it is invented** (NIRs with valid keys,
commune code 999). Listens on loopback only.

When started with an expected `Authorization` header (the bot's
`backoffice.authorization` setting), every `/api` request must carry it exactly.
"""


def create_app(
    files: Files, *, authorization: str | None = None, latency_s: float = 0.0
) -> FastAPI:
    """The API over ``files``; ``latency_s`` delays every ``/api`` reply (a slow back-office
    for time-out tests and load tests)."""
    app = FastAPI(
        title="callbot sample back-office",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )

    async def guard(given: Annotated[str | None, Security(AUTHORIZATION)]) -> None:
        if authorization is not None and not _same(given, authorization):
            raise HTTPException(401, "missing or wrong Authorization header")
        if latency_s > 0:
            await asyncio.sleep(latency_s)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok")

    @app.get(
        "/api/v1/assures/{nir}/remboursements/dernier",
        response_model=ReimbursementReply,
        responses={401: {"description": "Authorization"}, 404: {"description": NOT_FOUND}},
        dependencies=[Depends(guard)],
        summary="Where the caller's latest reimbursement stands",
    )
    async def latest_reimbursement(nir: Nir, date_naissance: BirthDate) -> ReimbursementReply:
        found = await asyncio.to_thread(files.latest_reimbursement, nir, date_naissance)
        if found is None:
            raise HTTPException(404, NOT_FOUND)
        return ReimbursementReply(remboursement=_reimbursement(found))

    @app.get(
        "/api/v1/assures/{nir}/indemnites",
        response_model=AllowanceReply,
        responses={401: {"description": "Authorization"}, 404: {"description": NOT_FOUND}},
        dependencies=[Depends(guard)],
        summary="When the caller's daily allowance was and will be paid",
    )
    async def daily_allowance(nir: Nir, date_naissance: BirthDate) -> AllowanceReply:
        found = await asyncio.to_thread(files.daily_allowance, nir, date_naissance)
        if found is None:
            raise HTTPException(404, NOT_FOUND)
        return AllowanceReply(indemnites=_allowance(found))

    return app


def openapi_json() -> str:
    """The OpenAPI description as committed (``callbot backoffice openapi``)."""
    app = create_app(Files(pathlib.Path(os.devnull)))  # the description reads no data
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2) + "\n"


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison: the header is a credential."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _reimbursement(found: Reimbursement) -> LatestReimbursement:
    return LatestReimbursement(
        acte=found.act,
        date_soins=found.care_date,
        montant=found.amount_euros,
        statut=found.status,
        etape=found.step,
        date_etape=found.step_date,
    )


def _allowance(found: DailyAllowance) -> Allowance:
    return Allowance(
        debut_arret=found.stoppage_start,
        montant_journalier=found.daily_euros,
        dernier_versement=Payment(date=found.last_paid_on, montant=found.last_paid_euros),
        prochain_versement=NextPayment(date=found.next_payment_on),
    )
