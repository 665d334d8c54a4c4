"""The Kamailio dispatcher example (deploy/kamailio/): ``kamailio -c`` accepts the
configuration, and the destination set it dispatches to is the one dispatcher.list
fills, with what its algorithm needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.shipped import DEPLOY

KAMAILIO = DEPLOY / "kamailio"
CONFIG = (KAMAILIO / "kamailio.cfg").read_text(encoding="utf-8")


def _destinations() -> list[tuple[int, str, dict[str, str]]]:
    """``(set id, SIP URI, attributes)`` of each line of dispatcher.list."""
    found = []
    for line in (KAMAILIO / "dispatcher.list").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        set_id, uri, flags, priority, attributes = line.split()
        assert int(flags) >= 0 and int(priority) >= 0
        assert re.fullmatch(r"sip:[\w.-]+:\d+", uri), uri
        pairs = dict(pair.split("=", 1) for pair in attributes.split(";"))
        found.append((int(set_id), uri, pairs))
    return found


def test_the_dispatched_set_is_the_list_s_and_each_server_has_a_weight() -> None:
    (call,) = re.findall(r'ds_select_dst\("(\d+)", "(\d+)"\)', CONFIG)
    set_id, algorithm = int(call[0]), int(call[1])
    assert re.search(r'modparam\("dispatcher", "list_file", "[^"]*/dispatcher\.list"\)', CONFIG)
    servers = [d for d in _destinations() if d[0] == set_id]
    assert len(servers) >= 2  # several Asterisk servers, or nothing to balance
    assert len({uri for _, uri, _ in servers}) == len(servers)
    assert len({attrs["duid"] for _, _, attrs in servers}) == len(servers)
    if algorithm == 9:  # weight-based: every destination says its share
        assert all(int(attrs["weight"]) > 0 for _, _, attrs in servers)


def _check(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    listed = config.replace("/etc/kamailio/dispatcher.list", str(KAMAILIO / "dispatcher.list"))
    path = tmp_path / "kamailio.cfg"
    path.write_text(listed, encoding="utf-8")
    return subprocess.run(
        ["kamailio", "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )


needs_kamailio = pytest.mark.skipif(
    shutil.which("kamailio") is None, reason="no kamailio (scripts/setup.sh --test installs it)"
)


@needs_kamailio
def test_kamailio_accepts_the_configuration(tmp_path: Path) -> None:
    result = _check(CONFIG, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config file ok" in result.stdout + result.stderr


@needs_kamailio
def test_kamailio_would_refuse_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: an unknown function is a parse error."""
    result = _check(CONFIG.replace("ds_next_dst()", "ds_nextt_dst()"), tmp_path)
    assert result.returncode != 0
    assert "ds_nextt_dst" in result.stdout + result.stderr
