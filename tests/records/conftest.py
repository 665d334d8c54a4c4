"""A real PostgreSQL server for the store tests: ``initdb`` + ``pg_ctl`` in a temp dir.

Started once per session on a free loopback port with a Unix socket in its own folder,
trust authentication and fsync off (throw-away data), then stopped and removed. PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` system user
(``runuser``). Skipped, saying why, only when the PostgreSQL binaries are not installed
(Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 30


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL (no database name) of a running throw-away PostgreSQL server."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries missing: apt-get install postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user to run the server as")
    data = Path(tempfile.mkdtemp(prefix="callbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    run = lambda cmd: subprocess.run(  # noqa: E731
        _as_server_user(cmd), capture_output=True, text=True, timeout=START_TIMEOUT_S
    )
    created = run(
        [initdb, "-D", str(data / "db"), "-U", "callbot", "--auth=trust", "-E", "UTF8", "--no-sync"]
    )
    assert created.returncode == 0, created.stderr
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(data / "server.log")
    started = run([pg_ctl, "-D", str(data / "db"), "-l", log, "-o", options, "-w", "start"])
    assert started.returncode == 0, started.stderr + Path(log).read_text(errors="replace")
    try:
        yield f"postgresql://callbot@127.0.0.1:{port}"
    finally:
        run([pg_ctl, "-D", str(data / "db"), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(data, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"records_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
