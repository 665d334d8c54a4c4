"""The dialplan a process serves, with safe hot reloading.

Each call takes :meth:`DialplanStore.current` once when it starts and keeps that
version to its end (the :class:`LoadedDialplan` it holds is immutable). A changed
file is validated first; an invalid one is refused with its errors logged and the
previous version keeps serving. :meth:`DialplanStore.watch` polls the file from the
event loop; loading and indexing run in a worker thread so calls never wait on them.

In a cluster, a version another worker accepted comes as text
(:meth:`DialplanStore.accept_published`, :mod:`callbot.cluster.dialplans`): validated the
same way, refused the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from callbot.dialplan.engine import matcher_for
from callbot.dialplan.loader import parse_dialplan
from callbot.dialplan.model import Dialplan
from callbot.errors import DialplanError

logger = logging.getLogger(__name__)

DEFAULT_WATCH_INTERVAL_S = 2.0

FileSignature = tuple[int, int]
"""(mtime in ns, size in bytes): changes when an editor or a deployment rewrites the file."""


@dataclass(frozen=True, slots=True)
class LoadedDialplan:
    name: str
    path: Path
    dialplan: Dialplan
    mtime_ns: int
    version: int = 1
    """1 for the file loaded at start-up, +1 for each accepted reload."""
    text: str = ""
    """The YAML as loaded (what a cluster publishes to the other workers)."""
    digest: str = ""
    """sha256 of ``text``: the same on every worker that serves this version."""
    loaded_at: float = 0.0
    """Unix time this version was accepted (the newest accepted version wins a cluster)."""
    origin: str = "file"
    """``file`` (this process's file) or ``cluster`` (published by another worker)."""

    @property
    def fixed_prompts(self) -> tuple[str, ...]:
        """Sentences said as written (no templates), worth synthesizing at start-up."""
        plan = self.dialplan
        texts = [plan.greeting, plan.goodbye, plan.error_apology, plan.transfer.handover]
        texts += list(plan.no_input.prompts) + list(plan.no_match.prompts)
        if plan.no_input.end:
            texts.append(plan.no_input.end)
        if plan.menu is not None:
            texts += [plan.menu.prompt, plan.menu.invalid]
        return tuple(t for t in dict.fromkeys(texts) if "{" not in t and "$" not in t)


class DialplanStore:
    def __init__(self, loaded: LoadedDialplan) -> None:
        self._current = loaded
        self._seen = _signature(loaded.path) or (loaded.mtime_ns, -1)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> DialplanStore:
        """Load ``path`` (:class:`DialplanError` if invalid) and build its matcher index."""
        return cls(_read(path, version=1))

    def current(self) -> LoadedDialplan:
        """The version new calls must use; a call keeps the one it got."""
        return self._current

    def reload_if_changed(self) -> bool:
        """Load the file again if it changed; True when a new version is now served.

        Blocking (reads, validates and indexes the file): call it from a thread.
        """
        with self._lock:
            path = self._current.path
            signature = _signature(path)
            if signature is None:
                if self._seen != (-1, -1):
                    logger.error("dialplan %s unreadable, keeping version %d", path, self._version)
                self._seen = (-1, -1)
                return False
            if signature == self._seen:
                return False
            self._seen = signature  # refused or not, retry only after the next change
            try:
                loaded = _read(path, version=self._version + 1)
            except DialplanError as exc:
                logger.error(
                    "dialplan %s refused, version %d keeps serving:\n%s", path, self._version, exc
                )
                return False
            self._current = loaded
            logger.info("dialplan %s version %d loaded: new calls use it", path, loaded.version)
            return True

    async def watch(
        self,
        interval_s: float = DEFAULT_WATCH_INTERVAL_S,
        on_reload: Callable[[LoadedDialplan], None] | None = None,
    ) -> None:
        """Poll the file every ``interval_s`` until cancelled; ``on_reload`` gets each
        accepted version (e.g. to synthesize its fixed prompts), in a worker thread since
        it may block. Never raises but :class:`asyncio.CancelledError`."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                if await asyncio.to_thread(self.reload_if_changed) and on_reload is not None:
                    await asyncio.to_thread(on_reload, self._current)
            except Exception:
                logger.exception("dialplan reload of %s failed", self._current.path)

    def accept_published(self, text: str, loaded_at: float) -> bool:
        """Serve ``text``, a version another worker accepted, validated like a file (an
        invalid one is refused, the current one keeps serving); True when served.

        Blocking: call it from a thread. The file is not rewritten (it may be read-only);
        a later change of the file is loaded as usual."""
        with self._lock:
            path = self._current.path
            try:
                loaded = _parse(path, text, self._version + 1, loaded_at, origin="cluster")
            except DialplanError as exc:
                logger.error(
                    "published dialplan %s refused, version %d keeps serving:\n%s",
                    path.stem,
                    self._version,
                    exc,
                )
                return False
            self._current = loaded
            logger.info(
                "dialplan %s version %d from the cluster: new calls use it",
                path.stem,
                loaded.version,
            )
            return True

    @property
    def _version(self) -> int:
        return self._current.version


def _signature(path: Path) -> FileSignature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(path: Path, version: int) -> LoadedDialplan:
    try:
        stat = path.stat()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise DialplanError(
            f"{path}: cannot read dialplan: {reason} (set dialplan, CALLBOT_DIALPLAN or --dialplan)"
        ) from None
    loaded = _parse(path, text, version, time.time())
    return replace(loaded, mtime_ns=stat.st_mtime_ns)


def _parse(
    path: Path, text: str, version: int, loaded_at: float, origin: str = "file"
) -> LoadedDialplan:
    dialplan = parse_dialplan(text, source=str(path))
    matcher_for(dialplan)  # index now, off the calls' path
    digest = hashlib.sha256(text.encode()).hexdigest()
    return LoadedDialplan(path.stem, path, dialplan, 0, version, text, digest, loaded_at, origin)
