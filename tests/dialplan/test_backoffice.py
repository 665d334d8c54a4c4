"""The HTTP half of hooks, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from callbot.dialplan import Fetch
from callbot.dialplan.backoffice import BackOffice, fetch

Handler = tuple[int, bytes, float]
"""Status, body, delay before answering (s)."""

ROUTES: dict[str, Handler] = {
    "/ok": (200, b'{"statut": "paye", "montant": 12.5}', 0.0),
    "/list": (200, b"[1, 2]", 0.0),
    "/html": (200, b"<html>oops</html>", 0.0),
    "/boom": (500, b"internal", 0.0),
    "/unavailable": (503, b"", 0.0),
    "/missing": (404, b'{"error": "no file"}', 0.0),
    "/slow": (200, b"{}", 5.0),
}


class Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("content-length", headers.get("Content-Length", "0")))
        body = await reader.readexactly(length) if length else b""
        self.requests.append((method, target, headers, body))
        status, payload, delay = ROUTES.get(urlsplit(target).path, (404, b"", 0.0))
        await asyncio.sleep(delay)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        try:
            await writer.drain()
            writer.close()
        except ConnectionError:
            pass


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield state
        srv.close()


def action(server: Server, path: str, method: str = "GET", timeout_s: float = 2.0) -> Fetch:
    params = (("nir", "185057800608491"), ("naissance", "1985-06-12"))
    url = f"http://127.0.0.1:{server.port}{path}"
    return Fetch("h", method, url, params, timeout_s)  # type: ignore[arg-type]


async def test_get_ok_with_query(server: Server) -> None:
    result = await fetch(action(server, "/ok"), headers={"Authorization": "Bearer t"})
    assert result.status == "ok" and result.data == {"statut": "paye", "montant": 12.5}
    method, target, headers, _ = server.requests[0]
    assert method == "GET"
    assert parse_qs(urlsplit(target).query) == {
        "nir": ["185057800608491"],
        "naissance": ["1985-06-12"],
    }
    assert headers.get("authorization", headers.get("Authorization")) == "Bearer t"


async def test_post_sends_json(server: Server) -> None:
    result = await fetch(action(server, "/ok", "POST"))
    assert result.status == "ok"
    assert json.loads(server.requests[0][3]) == {
        "nir": "185057800608491",
        "naissance": "1985-06-12",
    }


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/boom", "error"),
        ("/unavailable", "error"),
        ("/missing", "not_found"),
        ("/list", "malformed"),
        ("/html", "malformed"),
    ],
)
async def test_failures(server: Server, path: str, status: str) -> None:
    result = await fetch(action(server, path))
    assert result.status == status and result.data is None


async def test_timeout_is_bounded(server: Server) -> None:
    started = time.monotonic()
    result = await fetch(action(server, "/slow", timeout_s=0.3))
    assert result.status == "timeout"
    assert time.monotonic() - started < 2.0


async def test_connection_refused() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    result = await fetch(Fetch("h", "GET", f"http://127.0.0.1:{port}/", (), 1.0))
    assert result.status == "error" and result.detail == "ConnectError"


async def test_shared_client(server: Server) -> None:
    office = BackOffice()
    try:
        results = [await office.fetch(action(server, "/ok"), "call-1") for _ in range(2)]
    finally:
        await office.aclose()
    assert [r.status for r in results] == ["ok", "ok"]
