"""The dialplan a process serves, with safe reloading.

Each call takes :meth:`DialplanStore.current` once when it starts and keeps that
version to its end. A changed file is validated first; an invalid one is refused
with its errors and the previous version keeps serving.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from callbot.dialplan.loader import load_dialplan
from callbot.dialplan.model import Dialplan
from callbot.errors import DialplanError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedDialplan:
    name: str
    path: Path
    dialplan: Dialplan
    mtime_ns: int

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
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> DialplanStore:
        return cls(_read(path))

    def current(self) -> LoadedDialplan:
        return self._current

    def reload_if_changed(self) -> bool:
        """Load the file again if it changed; True when a new version is now served."""
        with self._lock:
            path = self._current.path
            try:
                mtime = path.stat().st_mtime_ns
            except OSError as exc:
                logger.error("dialplan %s unreadable, keeping the loaded version: %s", path, exc)
                return False
            if mtime == self._current.mtime_ns:
                return False
            try:
                self._current = _read(path)
            except DialplanError as exc:
                logger.error("dialplan %s refused, keeping the previous version:\n%s", path, exc)
                object.__setattr__(self._current, "mtime_ns", mtime)  # do not retry every poll
                return False
            logger.info("dialplan %s reloaded: new calls use it", path)
            return True


def _read(path: Path) -> LoadedDialplan:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise DialplanError(f"{path}: {exc.strerror or exc}") from exc
    return LoadedDialplan(path.stem, path, load_dialplan(path), mtime)
