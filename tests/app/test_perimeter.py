"""One privacy perimeter (issue 15): every file and table callbot writes during a real
call with a transfer is a store :mod:`callbot.app.perimeter` knows, and ``callbot records
erase`` / ``purge`` leave nothing of the caller in any of them.

The call is a real one: simulated Asterisk (ARI + chan_websocket), the real models, the
caller keys a NIR, the bot hands over with it, an agent hears the summary rendered as a
sound file. Then the data directory and the sounds directory are walked and every SQLite
schema read, and with records on PostgreSQL (a real server: the ``postgres_url`` fixture)
every table of its database: a file or a table no store covers fails the test, and so
does any row or file that still names the caller after the erasure. A new store that
nobody covers fails it too.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import io
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from callbot.app.bridge import RunningBridge, build_bridge
from callbot.app.perimeter import Location, Perimeter, databases, inventory
from callbot.app.service import Callbot, Engines
from callbot.app.shared import open_hub
from callbot.cli import privacy as cli
from callbot.config import Settings
from callbot.handover.context import HandoverContext
from callbot.handover.hub import HandoverHub
from callbot.logs import TextFormatter, log_filters
from callbot.privacy.identity import caller_hash
from callbot.records.spool import Spool
from callbot.records.update import make_update
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.run import wait_for_record
from callbot.simulator.websocket_client import WebsocketClientConnection
from tests.conftest import bot_settings
from tests.records.seed import journal

DIALPLAN = Path(__file__).parent / "dialplans" / "transfer-fr.yaml"
SALT = "perimeter-salt"
SQLITE_MAGIC = b"SQLite format 3\x00"
HANDOVER_TABLES = ("handovers", "handover_contexts")
"""Where the identifiers stay in clear while the hand-over goes on."""

Table = tuple[str, str, list[str], list[tuple[object, ...]]]
"""Where (a file's name, or ``postgresql``), the table, its columns, its rows."""


@dataclass(frozen=True)
class Caller:
    number: str
    """As Asterisk gives it (CALLERID(num))."""
    nir: str
    """Keyed on the phone, valid key."""

    @property
    def key(self) -> str:
        return caller_hash(self.number, SALT)


ALICE = Caller("0612345678", "185057800608491")
BOB = Caller("0698765432", "290017512345605")


@dataclass
class Traces:
    """What identifies one caller's call, to look for after an erasure."""

    caller: Caller
    call_id: str
    context: HandoverContext

    def terms(self) -> list[str]:
        c = self.caller
        return [c.number, c.number[1:], c.nir, c.key, self.call_id, self.context.context_id]


@dataclass
class Rig:
    sim: SimulatedAri
    bot: Callbot
    bridge: RunningBridge
    dialer: ExternalMediaDialer
    hub: HandoverHub
    settings: Settings
    config: Path
    """The same settings as a file, for the ``callbot records`` commands."""

    async def call_with_transfer(self, caller: Caller) -> Traces:
        """The caller keys 0 then their NIR; the bot hands over; an agent's phone answers
        and hears the summary (left playing: the hand-over is in progress)."""
        caller_id = self.sim.place_call(caller.number, ["3949"])
        await self.sim.wait_for(lambda: self._peer(caller_id) is not None, 10)
        peer = self._peer(caller_id)
        assert peer is not None
        assert await peer.wait_for_bot_silence(0.8, 20), "no greeting heard"
        for key in "0" + caller.nir:
            await peer.send_dtmf(key)
        channel = self.sim.channels[caller_id]
        await self.sim.wait_for(lambda: channel.continued_to is not None, 30)
        context = self.hub.get(channel.variables["__CALLBOT_CONTEXT_ID"])
        assert context is not None and ("nir", caller.nir) in context.slots
        agent_id = self.sim.agent_answers(caller_id)
        await self.sim.wait_for(lambda: any(p[0] == agent_id for p in self.sim.playbacks), 20)
        assert await wait_for_record(self.bot.records, caller_id) is not None
        assert self.bot.ops.writer is not None
        await asyncio.to_thread(self.bot.ops.writer.flush)
        return Traces(caller, caller_id, context)

    def records(self, *argv: str) -> str:
        parser = argparse.ArgumentParser()
        parser.add_argument("--config", type=Path)
        cli.register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["--config", str(self.config), "records", *argv])
        assert args.func(args) == 0
        return " ".join(argv)

    def _peer(self, caller_id: str) -> object | None:
        bridge_id = self.sim.channels[caller_id].bridge_id
        bridge = self.sim.bridges.get(bridge_id or "")
        others = [c for c in bridge.channels if c != caller_id] if bridge else []
        return self.dialer.peers.get(others[0]) if others else None


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    """What the module's engines load (the dialplan and its voice)."""
    return bot_settings(models_dir, DIALPLAN)


@asynccontextmanager
async def running(
    engines: Engines, models_dir: Path, root: Path, records_url: str = ""
) -> AsyncIterator[Rig]:
    """The bot, the ARI bridge and a simulated Asterisk; records in ``records_url``
    (empty: SQLite in the data directory)."""
    sim = SimulatedAri(password="secret")
    await sim.start()
    sections = {
        "data_dir": str(root / "data"),
        "privacy": {"caller_salt": SALT},
        "records": {"url": records_url},
        "ari": {
            "url": f"http://127.0.0.1:{sim.port}",
            "password": "secret",
            "sounds_dir": str(root / "sounds"),
            "agent_accept_timeout_s": 60.0,
        },
    }
    settings = bot_settings(models_dir, DIALPLAN, **sections)
    config = root / "callbot.toml"
    config.write_text(
        f'data_dir = "{root / "data"}"\n[privacy]\ncaller_salt = "{SALT}"\n'
        f'[records]\nurl = "{records_url}"\n[ari]\nsounds_dir = "{root / "sounds"}"\n',
        encoding="utf-8",
    )
    hub = open_hub(settings)
    bridge = build_bridge(settings, hub=hub, synthesize=engines.voices.render_wav)
    bot = await Callbot.start(settings, engines=engines, control=bridge.control, hub=hub)
    dialer = ExternalMediaDialer(
        sim, {"callbot": WebsocketClientConnection("callbot", bot.media_url)}
    )
    sim.on_external_media = dialer
    bridge.start()
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    try:
        yield Rig(sim, bot, bridge, dialer, hub, settings, config)
    finally:
        await bridge.stop()
        await bot.stop()
        await dialer.aclose()
        await sim.stop()


def written(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def owner(path: Path, locations: list[Location]) -> Location | None:
    for location in locations:
        if path.is_relative_to(location.root):
            relative = path.relative_to(location.root).as_posix()
            if any(fnmatch.fnmatchcase(relative, pattern) for pattern in location.patterns):
                return location
    return None


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def sqlite_tables(path: Path) -> Iterator[Table]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for table in sorted(tables(path)):
            cursor = db.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            names = [d[0] for d in cursor.description]
            yield path.name, table, names, cursor.fetchall()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def postgres_tables(url: str) -> Iterator[Table]:
    with psycopg.connect(url) as db:
        for table in sorted(postgres_table_names(url)):
            cursor = db.execute(f'SELECT * FROM "{table}" ORDER BY 1')
            names = [d.name for d in cursor.description or ()]
            yield "postgresql", table, names, cursor.fetchall()


def postgres_table_names(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        found = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return {name for (name,) in found}


def every_table(roots: list[Path], urls: list[str]) -> Iterator[Table]:
    """Every table of every SQLite file under ``roots`` and of every database of ``urls``."""
    for path in written(roots):
        if is_sqlite(path):
            yield from sqlite_tables(path)
    for url in urls:
        yield from postgres_tables(url)


def text(cell: object) -> str | None:
    """A cell's text (JSON for a PostgreSQL ``jsonb``), None for numbers and NULL."""
    if isinstance(cell, str):
        return cell
    return json.dumps(cell, ensure_ascii=False) if isinstance(cell, dict | list) else None


def spread(roots: list[Path], urls: list[str], identifiers: list[str]) -> list[str]:
    """``table.column`` of every column whose digits, read down its rows, hold one of
    ``identifiers`` (digits)."""
    found = []
    for _, table, names, rows in every_table(roots, urls):
        columns = list(zip(*rows, strict=True)) or [()] * len(names)
        for name, values in zip(names, columns, strict=True):
            digits = "".join(c for v in values for c in text(v) or "" if c.isdigit())
            found += [f"{table}.{name}" for i in identifiers if i in digits]
    return found


def where_found(roots: list[Path], urls: list[str], terms: list[str]) -> list[str]:
    """Every row, file name or file (not SQLite, not audio) that holds one of ``terms``."""
    found = []
    for path in written(roots):
        found += [f"name {path}" for term in terms if term in path.name]
        if (
            not is_sqlite(path)
            and path.suffix != ".wav"
            and not path.name.endswith(("-wal", "-shm"))
        ):
            content = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path}: {term}" for term in terms if term in content]
    for where, table, _, rows in every_table(roots, urls):
        for cell in (text(c) for row in rows for c in row):
            found += [f"{where}:{table}: {term}" for term in terms if cell and term in cell]
    return found


def in_clear(found: list[str]) -> list[str]:
    """``found`` but in the hand-over tables (identifiers in clear while it goes on)."""
    return [f for f in found if not any(t in f.split(":")[1] for t in HANDOVER_TABLES)]


@contextmanager
def production_logs() -> Iterator[io.StringIO]:
    """Every log line, at DEBUG, through the filters and format ``serve`` uses."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(TextFormatter())
    for log_filter in log_filters():
        handler.addFilter(log_filter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("records", ["sqlite", "postgresql"])
async def test_every_store_of_a_call_with_a_transfer_is_covered(
    records: str,
    engines: Engines,
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("postgres_url") if records == "postgresql" else ""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a store relative to the working directory would land here
    with production_logs() as logs:
        await _calls_erased_and_purged(engines, models_dir, tmp_path, url)
    assert list(cwd.iterdir()) == []  # nothing relative to the working directory
    # Logs are no store: nothing to erase in them, as nothing names the caller.
    text = logs.getvalue()
    assert text
    for caller in (ALICE, BOB):
        assert caller.number[1:] not in text and caller.nir not in text
        assert caller.nir not in "".join(c for c in text if c.isdigit())


async def _calls_erased_and_purged(
    engines: Engines, models_dir: Path, tmp_path: Path, records_url: str
) -> None:
    async with running(engines, models_dir, tmp_path, records_url) as rig:
        alice = await rig.call_with_transfer(ALICE)
        bob = await rig.call_with_transfer(BOB)
        roots = [tmp_path / "data", tmp_path / "sounds"]
        locations = inventory(rig.settings)
        shared = databases(rig.settings)
        urls = [database.url for database in shared]
        assert len(urls) == (1 if records_url else 0)

        # Every file callbot wrote is a known store's; every table of theirs is covered.
        files = written(roots)
        assert [str(p) for p in files if owner(p, locations) is None] == []
        for location in locations:
            assert any(owner(p, locations) is location for p in files), location.store
        for path in files:
            if is_sqlite(path):
                known = owner(path, locations)
                assert known is not None
                uncovered = tables(path) - set(known.tables)
                assert not uncovered, f"{path.name}: tables no store covers: {uncovered}"
        for database in shared:
            uncovered = postgres_table_names(database.url) - set(database.tables)
            assert not uncovered, f"PostgreSQL: tables no store covers: {uncovered}"
        assert (tmp_path / "sounds" / f"{alice.context.context_id}.wav").is_file()

        # In clear only where an agent needs it: the hand-over in progress. Digits are
        # looked for down each column too (a NIR keyed one digit a turn).
        identifiers = [ALICE.number[1:], ALICE.nir]
        assert in_clear(where_found(roots, urls, identifiers)) == []
        assert [
            c for c in spread(roots, urls, identifiers) if c.split(".")[0] not in HANDOVER_TABLES
        ] == []

        # Erasure: nothing of Alice anywhere, Bob untouched.
        rig.records("erase", "--caller", "+33 6 12 34 56 78")
        await rig.hub.expire_identifiers()  # the running hub forgets what was erased
        assert rig.hub.get(alice.context.context_id) is None
        assert where_found(roots, urls, alice.terms()) == []
        assert where_found(roots, urls, [bob.call_id, bob.context.context_id])

        # Once the hand-over's time is over, its identifiers are gone from it too.
        perimeter = Perimeter.open(rig.settings)
        assert perimeter.handover is not None
        assert perimeter.handover.expire_identifiers(time.time() + 86400)
        perimeter.close()
        assert where_found(roots, urls, [BOB.number[1:], BOB.nir]) == []
        assert spread(roots, urls, [BOB.number[1:], BOB.nir]) == []

        # Retention: a purge of everything older than now leaves nothing of Bob either.
        rig.records("purge", "--older-than", "0s")
        assert where_found(roots, urls, bob.terms()) == []
        assert not list((tmp_path / "sounds").glob("*.wav"))


def test_spooled_records_are_exported_erased_and_purged(tmp_path: Path) -> None:
    """The records spool (the database down) holds the caller's calls too."""
    settings = bot_settings(
        tmp_path / "models",
        DIALPLAN,
        data_dir=str(tmp_path / "data"),
        privacy={"caller_salt": SALT},
    )
    spool = Spool(settings.records.spool_path / "0", 10, 2**20)
    now = time.time()
    for call_id, number, started in (("a", ALICE, now - 10), ("b", BOB, now - 90 * 86400)):
        record = journal(call_id, started, "answered", record_token=f"t-{call_id}", revision=1)
        spool.add(make_update(record, number.key))
    spool.close()
    perimeter = Perimeter.open(settings)
    try:
        (exported,) = perimeter.export(ALICE.number)["spooled_records"]
        assert exported["call"]["call_id"] == "a"
        assert perimeter.erase("+33612345678")["spooled records"] == 1
        assert perimeter.purge(now - 86400, now)["spooled records"] == 1
        assert not list(settings.records.spool_path.glob("*/*.json"))
    finally:
        perimeter.close()
