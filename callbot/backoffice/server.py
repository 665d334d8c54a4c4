"""Serving the sample back-office with uvicorn, on loopback only.

:func:`serve` runs it in the foreground (``callbot backoffice serve``, stopped by
Ctrl-C or SIGTERM); :class:`BackgroundBackoffice` runs it in a thread of its own, so a
test, a benchmark or the load tester can start it beside a bot on any event loop. The
socket is bound here, before uvicorn starts, so that a taken port is one clear error
and port 0 gives a free one. No access log: URLs carry NIRs.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn
from fastapi import FastAPI

from callbot.backoffice import DEFAULT_DATABASE, DEFAULT_HOST, DEFAULT_PORT
from callbot.backoffice.api import create_app
from callbot.backoffice.data import Files, build_database
from callbot.errors import ConfigError, PortUnavailable, StartupError

KEEP_ALIVE_S = 5.0
"""How long an idle kept-alive connection from the bot's client stays open."""


def sample_app(
    database: Path = DEFAULT_DATABASE,
    *,
    authorization: str | None = None,
    latency_s: float = 0.0,
) -> FastAPI:
    """The API over a fresh copy of the test data written at ``database``."""
    files = Files(build_database(database))
    return create_app(files, authorization=authorization, latency_s=latency_s)


def bind_loopback(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``; ``host`` must be a loopback address."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"the sample back-office listens on loopback only, not on {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(host, port, exc) from None
    return sock


def _server(app: FastAPI) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=int(KEEP_ALIVE_S),
    )
    return uvicorn.Server(config)


def serve(app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve ``app`` until Ctrl-C (KeyboardInterrupt) or SIGTERM (a clean exit)."""
    sock = bind_loopback(host, port)
    # uvicorn shuts down gracefully, then raises the signal again for the previous
    # handler: this one makes a SIGTERM a normal exit rather than a kill.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        _server(app).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class BackgroundBackoffice:
    """The sample back-office in a thread: ``with BackgroundBackoffice(app) as office:``,
    then ``office.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, app: FastAPI, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._sock = bind_loopback(host, port)
        self._server = _server(app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="sample-backoffice",
            daemon=True,
        )
        bound_host, self.port = self._sock.getsockname()[:2]
        where = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{where}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> BackgroundBackoffice:
        """Return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise StartupError(f"the sample back-office did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._sock.close()

    def __enter__(self) -> BackgroundBackoffice:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
