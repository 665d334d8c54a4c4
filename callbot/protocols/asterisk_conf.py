"""Asterisk ``.conf`` files (``queues.conf``, ``extensions.conf``...), without I/O: text in,
sections with the position of every value out.

The rules are those of ``main/config.c`` (``config_text_file_load``, ``process_text_line``):

* ``;`` starts a comment to the end of the line, ``\\;`` is a literal semicolon, and
  ``;--`` ... ``--;`` is a block comment (it may span lines and nest);
* ``[name]`` opens a section; ``[name](!)`` a template (Asterisk ignores it when browsing
  sections: a template is never a queue); ``[name](base1,base2)`` copies the options of
  earlier sections or templates first; ``[name](+)`` appends to an existing section; the
  markers combine, ``[name](!,base)``;
* ``key = value``, ``key => value`` (an "object", e.g. ``exten =>``, ``member =>``) and
  ``key += value`` (appends to the last value of ``key``);
* ``#include file`` and ``#tryinclude file`` (quotes or ``<>`` allowed) read another file
  at that point; ``#exec`` runs a program, which this module never does (it is noted).

Includes are resolved by the caller's ``include`` function (see :data:`Includer`), so
the parsing itself stays pure and is tested with plain strings. Section names compare
without case, as Asterisk's ``ast_category_get`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

MAX_INCLUDE_DEPTH = 10
"""Nested includes followed before giving up (a file that includes itself)."""


@dataclass(frozen=True, slots=True)
class Position:
    source: str
    line: int
    """From 1."""
    column: int
    """From 1."""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    value: str
    position: Position
    """Where the value starts (where the key starts when the value is empty)."""
    is_object: bool = False
    """Written ``=>``."""


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    position: Position
    """The ``[`` of the header."""
    template: bool = False
    """Declared ``(!)``: only a base for other sections."""
    bases: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    """Inherited options first, then the section's own, in file order."""

    def values(self, name: str) -> tuple[Option, ...]:
        """Every option called ``name`` (``member``, ``exten``...), in order."""
        return tuple(o for o in self.options if o.name.lower() == name.lower())

    def get(self, name: str) -> Option | None:
        """The last ``name`` option: the one that wins when Asterisk applies them in order."""
        found = self.values(name)
        return found[-1] if found else None


@dataclass(frozen=True, slots=True)
class ConfProblem:
    position: Position
    message: str
    fatal: bool = True
    """Asterisk refuses the whole file (``CONFIG_STATUS_FILEINVALID``) for this."""

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


@dataclass(frozen=True, slots=True)
class Conf:
    sections: tuple[Section, ...]
    problems: tuple[ConfProblem, ...] = ()

    @property
    def usable(self) -> bool:
        """False when Asterisk would refuse to load the file at all."""
        return not any(p.fatal for p in self.problems)

    def categories(self) -> tuple[Section, ...]:
        """The sections Asterisk's ``ast_category_browse`` returns: templates left out."""
        return tuple(s for s in self.sections if not s.template)

    def section(self, name: str) -> Section | None:
        """The first non-template section called ``name`` (any case)."""
        return next((s for s in self.categories() if s.name.lower() == name.lower()), None)


Includer = Callable[[str, Position], Sequence[tuple[str, str]] | None]
"""``include(name, position)`` -> the ``(source, text)`` of each file ``name`` designates
(several for a wildcard, in order), or None when there is none. Relative names are
relative to Asterisk's configuration directory, not to the including file."""


def no_includes(name: str, position: Position) -> None:
    """An :data:`Includer` for a file read alone: every include is missing."""
    return None


def parse_conf(text: str, source: str, include: Includer = no_includes) -> Conf:
    """Parse ``text`` (named ``source`` in positions), following includes through
    ``include``. Never raises: what Asterisk would warn about or refuse is in
    :attr:`Conf.problems` (reading stops at the first problem it refuses the file for,
    as Asterisk's does)."""
    parser = _Parser(include)
    parser.feed(text, source, None, depth=0)
    return Conf(tuple(s.freeze() for s in parser.sections), tuple(parser.problems))


# --------------------------------------------------------------------------- internals


@dataclass(slots=True)
class _Open:
    """A section while it is being filled."""

    name: str
    position: Position
    template: bool
    bases: tuple[str, ...]
    options: list[Option] = field(default_factory=list)

    def freeze(self) -> Section:
        return Section(self.name, self.position, self.template, self.bases, tuple(self.options))


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str
    """The line without its comments (not stripped: columns stay those of the file)."""


class _Parser:
    def __init__(self, include: Includer) -> None:
        self._include = include
        self.sections: list[_Open] = []
        self.problems: list[ConfProblem] = []
        self._refused = False
        """A fatal problem was met: Asterisk stops reading there (and drops the file)."""

    def feed(self, text: str, source: str, current: _Open | None, *, depth: int) -> None:
        """Parse one file; an included file starts in the includer's current section."""
        for line in _uncommented(text):
            stripped = line.text.strip()
            if self._refused:
                return
            if not stripped:
                continue
            column = len(line.text) - len(line.text.lstrip()) + 1
            where = Position(source, line.number, column)
            if stripped.startswith("["):
                current = self._header(stripped, where) or current
            elif stripped.startswith("#"):
                self._directive(stripped, where, current, depth)
            elif current is None:
                self._problem(where, "option outside any [section]")
            else:
                self._option(line.text, where, current)

    def _problem(self, where: Position, message: str, *, fatal: bool = True) -> None:
        self.problems.append(ConfProblem(where, message, fatal))
        self._refused = self._refused or fatal

    def _find(self, name: str, *, templates: bool) -> _Open | None:
        for section in self.sections:
            if section.name.lower() == name.lower() and (templates or not section.template):
                return section
        return None

    def _header(self, text: str, where: Position) -> _Open | None:
        close = text.find("]")
        if close < 0:
            self._problem(where, "no closing ']'")
            return None
        name, rest = text[1:close], text[close + 1 :]
        markers: list[str] = []
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                self._problem(where, "no closing ')'")
                return None
            markers = [m.strip() for m in rest[1:end].split(",")]
        template = "!" in markers
        if any(m.startswith("+") for m in markers):
            existing = self._find(name, templates=True)
            if existing is None:
                self._problem(where, f"[{name}](+) appends to a section that does not exist")
                return None
            existing.template = existing.template or template
            return existing
        bases = tuple(m for m in markers if m and m != "!")
        section = _Open(name, where, template, bases)
        for base in bases:
            found = self._find(base, templates=True)
            if found is None:
                self._problem(where, f"[{name}] inherits from {base!r}, which is not defined above")
                return None
            section.options.extend(found.options)
        self.sections.append(section)
        return section

    def _directive(self, text: str, where: Position, current: _Open | None, depth: int) -> None:
        word, argument = (*text[1:].split(maxsplit=1), "")[:2]
        word, argument = word.lower(), _unquote(argument.strip())
        if word == "exec":
            self._problem(where, "#exec is not followed (its output is unknown here)", fatal=False)
            return
        if word not in ("include", "tryinclude"):
            self._problem(where, f"unknown directive #{word}", fatal=False)
            return
        if not argument:
            self._problem(where, f"#{word} needs a file name", fatal=False)
            return
        if depth >= MAX_INCLUDE_DEPTH:
            self._problem(where, f"#{word} {argument}: includes nested too deep (a loop?)")
            return
        files = self._include(argument, where)
        if not files:
            if word == "include":
                self._problem(where, f"#include {argument}: no such file")
            return
        for source, text in files:
            self.feed(text, source, current, depth=depth + 1)

    def _option(self, raw: str, where: Position, section: _Open) -> None:
        equals = raw.find("=")
        if equals < 0:
            self._problem(where, "no '=' in this line: Asterisk ignores it", fatal=False)
            return
        name = raw[:equals]
        append = name.rstrip().endswith("+")
        name = name.rstrip().removesuffix("+").strip() if append else name.strip()
        value_start = equals + 1
        is_object = raw[value_start : value_start + 1] == ">"
        if is_object:
            value_start += 1
        value = raw[value_start:].strip()
        column = value_start + len(raw[value_start:]) - len(raw[value_start:].lstrip()) + 1
        position = Position(where.source, where.line, column if value else where.column)
        previous = next((o for o in reversed(section.options) if o.name == name), None)
        if append and previous is not None:
            index = section.options.index(previous)
            section.options[index] = Option(name, previous.value + value, previous.position)
            return
        section.options.append(Option(name, value, position, is_object))


def _unquote(text: str) -> str:
    if len(text) >= 2 and (text[0], text[-1]) in (('"', '"'), ("<", ">")):
        return text[1:-1]
    return text


def _uncommented(text: str) -> Iterator[_Line]:
    """The lines of ``text`` with comments blanked out and ``\\;`` turned into ``;``."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        out: list[str] = []
        i = 0
        while i < len(line):
            if line.startswith(";--", i) and not line.startswith(";---", i):
                depth += 1
                i += 3
            elif depth and line.startswith("--;", i):
                depth -= 1
                i += 3
            elif depth:
                i += 1
            elif line.startswith("\\;", i):
                out.append(";")
                i += 2
            elif line[i] == ";":
                break
            else:
                out.append(line[i])
                i += 1
        yield _Line(number, "".join(out))
