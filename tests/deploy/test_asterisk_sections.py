"""Asterisk's sections for the systemd workers (the commented cluster example of
asterisk/websocket_client.conf): uncommented, they are websocket_client connections
named as the workers name themselves, at the workers' ports, with their media user; the
file's live sections stay the single-process ones."""

from __future__ import annotations

import tomllib
from urllib.parse import urlsplit

from callbot.protocols.asterisk_conf import parse_conf
from callbot.simulator.websocket_client import connections_from_conf
from tests.deploy.shipped import DEPLOY, ROOT

CONF = (ROOT / "asterisk" / "websocket_client.conf").read_text(encoding="utf-8")
MARK = "; ---- A callbot cluster"


def _example() -> str:
    """The cluster example as an operator uncomments it."""
    block = CONF[CONF.index(MARK) :].splitlines()
    return "\n".join(line[1:] for line in block if line.startswith(";") and line[1:2] != " ")


def test_the_live_sections_are_still_the_single_process_ones() -> None:
    live = connections_from_conf(parse_conf(CONF, "websocket_client.conf"))
    assert sorted(live) == ["callbot", "callbot-direct"]
    assert live["callbot"].uri == "ws://127.0.0.1:8080/media"


def test_the_uncommented_example_has_a_section_per_worker_as_the_workers_name_it() -> None:
    conf = parse_conf(_example(), "example")
    assert not conf.problems
    connections = connections_from_conf(conf)
    assert sorted(connections) == ["callbot-worker-1", "callbot-worker-2"]
    unit = (DEPLOY / "systemd" / "callbot-worker@.service").read_text(encoding="utf-8")
    assert "Environment=CALLBOT_CLUSTER_WEBSOCKET_CONNECTION=callbot-worker-%i" in unit
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "systemd" / "worker-1.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    worker = tomllib.loads((DEPLOY / "systemd" / "worker.toml").read_text(encoding="utf-8"))
    first = urlsplit(connections["callbot-worker-1"].uri)
    assert (first.scheme, first.port, first.path) == (
        "ws",
        int(env["CALLBOT_SERVER_PORT"]),
        "/media",
    )
    for connection in connections.values():
        assert connection.username == worker["server"]["media_username"]
    for section in ("callbot-worker-1", "callbot-worker-2"):
        options = conf.section(section)
        live = parse_conf(CONF, "x").section("callbot")
        assert options is not None and live is not None
        for name in ("type", "connection_type", "protocols"):
            assert options.get(name).value == live.get(name).value  # type: ignore[union-attr]
