"""The HTTP contract, over loopback, as the bot's hook client sees it: 200 with the
fields a hook reads, 404 for no identity or nothing to tell, 401 without the header,
time-outs when the back-office is slow; and the committed OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from callbot.backoffice.api import openapi_json
from callbot.backoffice.server import BackgroundBackoffice, sample_app
from callbot.dialplan import Fetch
from callbot.dialplan.backoffice import BackOffice
from tests.backoffice.conftest import CAMILLE, REPO, SACHA, TOKEN

OPENAPI = REPO / "dialplans" / "backoffice" / "openapi.json"
REIMBURSEMENT = "/api/v1/assures/{nir}/remboursements/dernier"
ALLOWANCE = "/api/v1/assures/{nir}/indemnites"


def get(
    office: BackgroundBackoffice, path: str, who: tuple[str, str], **headers: str
) -> httpx.Response:
    nir, born = who
    url = office.url + path.format(nir=nir)
    return httpx.get(url, params={"date_naissance": born}, headers=headers)


def test_latest_reimbursement(backoffice: BackgroundBackoffice) -> None:
    reply = get(backoffice, REIMBURSEMENT, CAMILLE, Authorization=TOKEN)
    assert reply.status_code == 200
    assert reply.json() == {
        "remboursement": {
            "acte": "une consultation chez un médecin généraliste",
            "date_soins": "2026-10-05",
            "montant": 21.0,
            "statut": "paye",
            "etape": "paiement envoyé à votre banque",
            "date_etape": "2026-10-09",
        }
    }


def test_daily_allowance(backoffice: BackgroundBackoffice) -> None:
    reply = get(backoffice, ALLOWANCE, CAMILLE, Authorization=TOKEN)
    assert reply.status_code == 200
    assert reply.json()["indemnites"] == {
        "debut_arret": "2026-09-28",
        "montant_journalier": 41.2,
        "dernier_versement": {"date": "2026-10-14", "montant": 576.8},
        "prochain_versement": {"date": "2026-10-28"},
    }


@pytest.mark.parametrize("path", [REIMBURSEMENT, ALLOWANCE])
@pytest.mark.parametrize("who", [(CAMILLE[0], "1985-06-13"), SACHA])
def test_no_identity_or_nothing_to_tell_is_404(
    backoffice: BackgroundBackoffice, path: str, who: tuple[str, str]
) -> None:
    assert get(backoffice, path, who, Authorization=TOKEN).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer guessed"}])
def test_the_authorization_header_is_required(
    backoffice: BackgroundBackoffice, headers: dict[str, str]
) -> None:
    assert get(backoffice, REIMBURSEMENT, CAMILLE, **headers).status_code == 401
    assert httpx.get(f"{backoffice.url}/health").json() == {"status": "ok"}


def test_a_malformed_identity_is_refused(backoffice: BackgroundBackoffice) -> None:
    assert (
        get(backoffice, REIMBURSEMENT, ("12345", "1985-06-12"), Authorization=TOKEN).status_code
        == 422
    )
    assert (
        get(backoffice, REIMBURSEMENT, (CAMILLE[0], "12/06/1985"), Authorization=TOKEN).status_code
        == 422
    )


def fetch(office: BackgroundBackoffice, who: tuple[str, str], timeout_s: float = 3.0) -> Fetch:
    url = office.url + REIMBURSEMENT.format(nir=who[0])
    return Fetch("remboursement", "GET", url, (("date_naissance", who[1]),), timeout_s)


@pytest.mark.parametrize(
    ("who", "headers", "status"),
    [
        (CAMILLE, {"Authorization": TOKEN}, "ok"),
        (SACHA, {"Authorization": TOKEN}, "not_found"),
        (CAMILLE, {}, "error"),
    ],
)
async def test_what_the_bot_s_hook_client_makes_of_it(
    backoffice: BackgroundBackoffice, who: tuple[str, str], headers: dict[str, str], status: str
) -> None:
    client = BackOffice(headers=headers)
    try:
        result = await client.fetch(fetch(backoffice, who))
    finally:
        await client.aclose()
    assert result.status == status
    if status == "ok":
        assert result.data is not None and result.data["remboursement"]["montant"] == 21.0


async def test_a_slow_back_office_is_a_hook_time_out(tmp_path: Path) -> None:
    app = sample_app(tmp_path / "office.sqlite3", latency_s=1.0)
    client = BackOffice()
    with BackgroundBackoffice(app) as slow:
        try:
            result = await client.fetch(fetch(slow, CAMILLE, timeout_s=0.2))
        finally:
            await client.aclose()
    assert result.status == "timeout"


def test_the_committed_openapi_description_is_current(backoffice: BackgroundBackoffice) -> None:
    """`callbot backoffice openapi > dialplans/backoffice/openapi.json` after an API change."""
    served = httpx.get(f"{backoffice.url}/openapi.json").json()
    assert json.loads(OPENAPI.read_text(encoding="utf-8")) == served
    assert OPENAPI.read_text(encoding="utf-8") == openapi_json()
    paths = set(served["paths"])
    assert {REIMBURSEMENT.replace("{nir}", "{nir}"), ALLOWANCE} <= paths
