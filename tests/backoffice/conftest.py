"""The sample back-office on a free loopback port, and the shipped dialplans pointed at it.

The shipped hooks call ``http://127.0.0.1:8097``; a test's back-office listens on any
free port, so the dialplan it drives is a copy whose hook URLs name that port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.backoffice import DEFAULT_HOST, DEFAULT_PORT
from callbot.backoffice.server import BackgroundBackoffice, sample_app
from callbot.dialplan import Dialplan

REPO = Path(__file__).resolve().parents[2]
ASSURANCE = REPO / "dialplans" / "assurance-maladie.yaml"
SHIPPED_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
TOKEN = "Bearer sample-backoffice-test"
"""The ``Authorization`` header the test back-office expects (the bot's setting)."""

CAMILLE = ("285067599900116", "1985-06-12")
"""An invented person of the test data: a reimbursement paid, daily allowances."""
SACHA = ("201045999900566", "2001-04-22")
"""An invented person with no file to tell about."""


@pytest.fixture
def backoffice(tmp_path: Path) -> Iterator[BackgroundBackoffice]:
    """The sample back-office, expecting :data:`TOKEN`, stopped after the test."""
    app = sample_app(tmp_path / "backoffice.sqlite3", authorization=TOKEN)
    with BackgroundBackoffice(app) as office:
        yield office


def pointed_at(dialplan: Dialplan, url: str, timeout_s: float | None = None) -> Dialplan:
    """``dialplan`` with its hooks calling ``url`` (and waiting ``timeout_s``, if given)."""
    hooks = []
    for hook in dialplan.hooks:
        update: dict[str, object] = {"url": hook.url.replace(SHIPPED_URL, url)}
        if timeout_s is not None:
            update["timeout_s"] = timeout_s
        hooks.append(hook.model_copy(update=update))
    return dialplan.model_copy(update={"hooks": tuple(hooks)})


def pointed_copy(path: Path, url: str, directory: Path) -> Path:
    """A copy of the dialplan file at ``path``, in ``directory``, its hooks calling ``url``."""
    copy = directory / path.name
    text = path.read_text(encoding="utf-8")
    assert SHIPPED_URL in text
    copy.write_text(text.replace(SHIPPED_URL, url), encoding="utf-8")
    return copy
