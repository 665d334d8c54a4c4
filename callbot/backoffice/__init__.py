"""A sample health-insurance back-office that the shipped dialplans' hooks call.

A separate little service (it imports nothing from callbot but :mod:`callbot.errors`):
an HTTP API (:mod:`~callbot.backoffice.api`, OpenAPI at ``/openapi.json``) over
invented people in SQLite (:mod:`~callbot.backoffice.data`, rebuilt from ``seed.sql``
at every start), served on loopback (:mod:`~callbot.backoffice.server`). Started by
``callbot backoffice serve``; tests and load tests run it in a thread with
:class:`~callbot.backoffice.server.BackgroundBackoffice`.

Only the defaults live here, so that the command line can name them without loading
the web framework.
"""

from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8097
"""The port the shipped dialplans' hooks call (``http://127.0.0.1:8097/api/v1/...``)."""
DEFAULT_DATABASE = Path("data/backoffice-sample.sqlite3")
"""Rebuilt from the test data at every start."""
