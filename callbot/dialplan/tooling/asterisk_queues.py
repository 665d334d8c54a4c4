"""``callbot dialplan check --asterisk-dir DIR``: the dialplan's queues against Asterisk's.

A transfer continues the caller into ``[callbot-queues]``, whose ``Queue(${EXTEN})`` fails
at once (``Unable to join queue``) for a queue ``queues.conf`` does not define: the
caller gets the no-answer path instead of an agent. So every queue a dialplan names
(:func:`~callbot.dialplan.queues.queue_uses`) must be a section of ``DIR/queues.conf``
(templates ``(!)`` and ``[general]`` are not queues), and so must the fallback queue of
``DIR/extensions.conf`` (``[globals] CALLBOT_FALLBACK_QUEUE``), where callers go when
callbot is not connected.

The parsing is :mod:`callbot.protocols.asterisk_conf`; this module reads the files
(``#include`` names relative to ``DIR``, as Asterisk takes them relative to
``/etc/asterisk``) and turns what is missing into :class:`Finding` values.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from callbot.dialplan import find_problems
from callbot.dialplan.queues import queue_uses
from callbot.dialplan.tooling.lint import Finding
from callbot.dialplan.yamlpos import compose, position
from callbot.errors import DialplanError
from callbot.protocols.asterisk_conf import Conf, Includer, Position, parse_conf

QUEUES_CONF = "queues.conf"
EXTENSIONS_CONF = "extensions.conf"
FALLBACK_VARIABLE = "CALLBOT_FALLBACK_QUEUE"
NOT_QUEUES = frozenset({"general"})
"""Sections of queues.conf that app_queue reads as settings, not as queues."""


@dataclass(frozen=True, slots=True)
class AsteriskQueues:
    """The queues an Asterisk configuration directory defines."""

    conf: str
    """``DIR/queues.conf`` as messages name it."""
    names: frozenset[str]
    """Lower-case: app_queue finds queues whatever the case."""
    findings: tuple[Finding, ...] = ()
    """Problems of the directory itself (a file Asterisk would refuse, a fallback queue it
    does not define): reported once, whatever the dialplans."""

    def defines(self, queue: str) -> bool:
        return queue.lower() in self.names


def load_asterisk_queues(directory: Path) -> AsteriskQueues:
    """The queues of ``directory/queues.conf`` and the checks of its fallback queue."""
    conf_path = directory / QUEUES_CONF
    try:
        conf = read_conf(conf_path)
    except (OSError, UnicodeDecodeError) as exc:
        return AsteriskQueues(str(conf_path), frozenset(), (_cannot_read(conf_path, exc),))
    names = frozenset(s.name.lower() for s in conf.categories() if s.name.lower() not in NOT_QUEUES)
    queues = AsteriskQueues(str(conf_path), names if conf.usable else frozenset())
    findings = _conf_findings(conf) + _fallback_findings(directory / EXTENSIONS_CONF, queues)
    return AsteriskQueues(queues.conf, queues.names, tuple(findings))


def queue_findings(path: Path, queues: AsteriskQueues) -> list[Finding]:
    """One error per place dialplan ``path`` names a queue that ``queues`` lacks. Nothing
    for a file that does not load: :func:`~callbot.dialplan.tooling.lint.lint_file` says why."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        dialplan, _ = find_problems(text, source)
        if dialplan is None:
            return []
        root, _ = compose(text, source)
    except (OSError, UnicodeDecodeError, DialplanError):
        return []
    return [
        Finding(source, *position(root, use.path), _undefined(use.queue, queues.conf))
        for use in queue_uses(dialplan)
        if not queues.defines(use.queue)
    ]


def read_conf(path: Path) -> Conf:
    """Parse ``path`` with its includes (relative names under ``path``'s directory,
    wildcards expanded in sorted order). Raises ``OSError`` when ``path`` is unreadable."""
    return parse_conf(path.read_text(encoding="utf-8"), str(path), _includer(path.parent))


def _includer(config_dir: Path) -> Includer:
    def include(name: str, where: Position) -> list[tuple[str, str]] | None:
        pattern = name if Path(name).is_absolute() else str(config_dir / name)
        paths = sorted(glob.glob(pattern)) if any(c in name for c in "*?[") else [pattern]
        found = []
        for found_path in paths:
            try:
                found.append((found_path, Path(found_path).read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
        return found or None

    return include


def _fallback_findings(path: Path, queues: AsteriskQueues) -> list[Finding]:
    """Problems of ``extensions.conf`` and its fallback queue, if the file is there."""
    if not path.exists():
        return []
    try:
        conf = read_conf(path)
    except (OSError, UnicodeDecodeError) as exc:
        return [_cannot_read(path, exc)]
    findings = _conf_findings(conf)
    globals_ = conf.section("globals")
    fallback = globals_.get(FALLBACK_VARIABLE) if globals_ is not None else None
    if fallback is not None and fallback.value and not queues.defines(fallback.value):
        where = fallback.position
        message = f"fallback {_undefined(fallback.value, queues.conf)} ({FALLBACK_VARIABLE})"
        findings.append(Finding(where.source, where.line, where.column, message))
    return findings


def _conf_findings(conf: Conf) -> list[Finding]:
    return [
        Finding(
            p.position.source,
            p.position.line,
            p.position.column,
            p.message if not p.fatal else f"{p.message} (Asterisk refuses this file)",
            "error" if p.fatal else "warning",
        )
        for p in conf.problems
    ]


def _undefined(queue: str, conf: str) -> str:
    return f"queue {queue!r} is not defined in {conf}"


def _cannot_read(path: Path, exc: Exception) -> Finding:
    return Finding(str(path), 1, 1, f"cannot read: {exc}")
