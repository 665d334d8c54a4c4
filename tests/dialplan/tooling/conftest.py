"""Paths of the shipped dialplans, their test sets and conversation tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DIALPLANS = REPO / "dialplans"
SHIPPED = sorted(DIALPLANS.glob("*.yaml"))
