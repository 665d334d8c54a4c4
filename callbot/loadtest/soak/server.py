"""The server under test: ``callbot serve`` in a child process that can be killed and
started again, and a sampler that follows it across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from callbot.errors import MissingExtra
from callbot.loadtest.postgres import free_port

try:
    import psutil
except ModuleNotFoundError as exc:
    raise MissingExtra("psutil", "loadtest") from exc

READY_TIMEOUT_S = 120.0


class ServerProcess:
    """``callbot serve`` in a child process; :meth:`kill9` and :meth:`start` again."""

    def __init__(self, workdir: Path, env: dict[str, str], log_path: Path) -> None:
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.log = log_path.open("ab")
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, **self.env, "CALLBOT_SERVER_PORT": str(self.port)}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callbot",
            "serve",
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.starts += 1
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        # trust_env=False: no proxy from the environment on the way to loopback.
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"callbot exited with {self.process.returncode}: see log")
                with contextlib.suppress(httpx.HTTPError):
                    reply = await http.get(f"{self.base_url}/readyz")
                    if reply.status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError("callbot did not become ready")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill9(self) -> None:
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (drain), then wait."""
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 90)
        self.log.close()


class Sampler:
    """RSS, fds and CPU of whatever process is the server now."""

    def __init__(self, server: ServerProcess, every_s: float) -> None:
        self.server, self.every_s = server, every_s
        self.samples: list[dict[str, float]] = []
        self._proc: psutil.Process | None = None

    async def run(self, zero_s: float) -> None:
        while True:
            pid = self.server.pid
            with contextlib.suppress(psutil.Error):
                if pid is not None and (self._proc is None or self._proc.pid != pid):
                    self._proc = psutil.Process(pid)
                    self._proc.cpu_percent(None)
                if (
                    self._proc is not None
                    and self._proc.is_running()
                    and self._proc.status() != psutil.STATUS_ZOMBIE
                ):
                    with self._proc.oneshot():
                        self.samples.append(
                            {
                                "t_s": round(time.monotonic() - zero_s, 1),
                                "pid": float(self._proc.pid),
                                "rss_mib": round(self._proc.memory_info().rss / (1 << 20), 1),
                                "fds": float(self._proc.num_fds()),
                                "cpu_percent": round(self._proc.cpu_percent(None), 1),
                            }
                        )
            await asyncio.sleep(self.every_s)
