"""The sample back-office's files, in SQLite: built from ``seed.sql`` at every start.

Blocking (sqlite3): the HTTP layer calls these functions off the event loop. Each
lookup opens its own read-only connection, so concurrent requests share nothing.
A lookup answers only when the NIR and the birth date belong to the same person:
that pair is the caller's identity check, and a wrong pair looks like no file at all.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from callbot.errors import StartupError


@dataclass(frozen=True, slots=True)
class Reimbursement:
    """The caller's most recent reimbursement (the one a caller asks about)."""

    act: str
    """What was paid for, said after "Pour": "une consultation chez un médecin généraliste"."""
    care_date: str
    """Date of the care, ISO 8601."""
    amount_euros: float
    status: str
    """``paye``, ``en_cours``, ``piece_manquante`` or ``refuse``."""
    step: str
    """The last step, as said to the caller ("paiement envoyé à votre banque")."""
    step_date: str


@dataclass(frozen=True, slots=True)
class DailyAllowance:
    """Daily allowances (indemnités journalières) of a work stoppage in progress."""

    stoppage_start: str
    daily_euros: float
    last_paid_on: str
    last_paid_euros: float
    next_payment_on: str


def seed_sql() -> str:
    """The committed test data (package data ``callbot/backoffice/seed.sql``)."""
    return files("callbot.backoffice").joinpath("seed.sql").read_text(encoding="utf-8")


def build_database(path: Path) -> Path:
    """Write a fresh database at ``path`` from the seed, replacing any earlier one."""
    fresh = path.with_name(path.name + ".new")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh.unlink(missing_ok=True)
        with sqlite3.connect(fresh) as db:
            db.executescript(seed_sql())
        db.close()
        fresh.replace(path)
    except (OSError, sqlite3.Error) as exc:
        raise StartupError(f"sample back-office: cannot build {path}: {exc}") from exc
    return path


class Files:
    """Read-only lookups in a database made by :func:`build_database`."""

    def __init__(self, path: Path) -> None:
        self._uri = f"{path.resolve().as_uri()}?mode=ro"

    def latest_reimbursement(self, nir: str, birth_date: str) -> Reimbursement | None:
        """None: no such person, a birth date that is not theirs, or nothing reimbursed."""
        row = self._one(
            """SELECT acte, date_soins, montant_euros, statut, etape, date_etape
               FROM remboursements JOIN assures USING (nir)
               WHERE nir = ? AND date_naissance = ?
               ORDER BY date_soins DESC, id DESC LIMIT 1""",
            (nir, birth_date),
        )
        return None if row is None else Reimbursement(*row)

    def daily_allowance(self, nir: str, birth_date: str) -> DailyAllowance | None:
        """None: no such person, a birth date that is not theirs, or no stoppage paid."""
        row = self._one(
            """SELECT debut_arret, montant_journalier_euros, dernier_versement_date,
                      dernier_versement_euros, prochain_versement_date
               FROM indemnites JOIN assures USING (nir)
               WHERE nir = ? AND date_naissance = ?""",
            (nir, birth_date),
        )
        return None if row is None else DailyAllowance(*row)

    def _one(self, sql: str, params: tuple[str, ...]) -> tuple[Any, ...] | None:
        db = sqlite3.connect(self._uri, uri=True)
        try:
            row: tuple[Any, ...] | None = db.execute(sql, params).fetchone()
            return row
        finally:
            db.close()
