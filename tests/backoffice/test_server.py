"""Serving: loopback only, a taken port is one clear error, port 0 gives a free one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from callbot.backoffice.server import BackgroundBackoffice, bind_loopback, sample_app
from callbot.errors import ConfigError, PortUnavailable


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org", ""])
def test_only_loopback(host: str) -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        bind_loopback(host, 0)


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with BackgroundBackoffice(sample_app(tmp_path / "office.sqlite3")) as office:
        taken = f"port {office.port} is already in use"
        with pytest.raises(PortUnavailable, match=taken):
            bind_loopback("127.0.0.1", office.port)


def test_started_and_stopped(tmp_path: Path) -> None:
    office = BackgroundBackoffice(sample_app(tmp_path / "office.sqlite3")).start()
    assert office.url == f"http://127.0.0.1:{office.port}" and office.port > 0
    assert httpx.get(f"{office.url}/health").status_code == 200
    office.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{office.url}/health")
