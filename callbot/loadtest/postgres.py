"""A throw-away PostgreSQL server (``initdb`` + ``pg_ctl`` in a temp dir), for the test
suite and the soak benchmark: start, stop for a while, start again, remove.

On a free loopback port with a Unix socket in its own folder, trust authentication and
fsync off (throw-away data). PostgreSQL refuses to run as root, so under root the server
runs as the ``postgres`` system user (``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from callbot.errors import ConfigError

START_TIMEOUT_S = 30


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server program (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def unavailable_reason() -> str | None:
    """Why no throw-away server can run here (None: it can)."""
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        return "PostgreSQL server binaries missing: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user to run the server as"
    return None


def free_port() -> int:
    """A TCP port nobody listens on now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """``start()`` creates and starts it; ``stop()``/``start()`` again simulate an outage;
    ``remove()`` stops it and deletes its data."""

    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise ConfigError(reason)
        self.data = Path(tempfile.mkdtemp(prefix="callbot-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._created = False

    @property
    def url(self) -> str:
        """Base URL (no database name)."""
        return f"postgresql://callbot@127.0.0.1:{self.port}"

    def start(self) -> None:
        if not self._created:
            initdb = pg_bin("initdb") or "initdb"
            db = str(self.data / "db")
            self._run(
                [initdb, "-D", db, "-U", "callbot", "--auth=trust", "-E", "UTF8", "--no-sync"]
            )
            self._created = True
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self._ctl("-l", str(self.data / "server.log"), "-o", options, "-w", "start"))

    def stop(self) -> None:
        """Stop at once, as a crash or ``systemctl stop`` of the database would look."""
        self._run(self._ctl("-m", "immediate", "-w", "stop"))

    def remove(self) -> None:
        if self._created:
            subprocess.run(_as_server_user(self._ctl("-m", "immediate", "-w", "stop")),
                           capture_output=True, check=False, timeout=START_TIMEOUT_S)  # fmt: skip
        shutil.rmtree(self.data, ignore_errors=True)

    def _ctl(self, *args: str) -> list[str]:
        return [pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data / "db"), *args]

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(
            _as_server_user(command), capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if done.returncode != 0:
            log = self.data / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ConfigError(f"{' '.join(command[:2])} failed: {done.stderr.strip()} {tail}")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]
