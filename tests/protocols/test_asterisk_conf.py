"""Asterisk .conf syntax as main/config.c reads it: text fixtures in, sections out."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.protocols.asterisk_conf import Position, parse_conf

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "asterisk").glob("*.conf"))

QUEUES = """\
; Human queues.
[general]
persistentmembers = yes

[defaults](!)
strategy = rrmemory
musicclass = default   ; hold music

[accueil](defaults)
member => Local/1001@agents,0,Agent 1001
strategy = ringall
"""


def names(text: str) -> list[str]:
    return [s.name for s in parse_conf(text, "q.conf").categories()]


class TestSections:
    def test_templates_are_not_categories(self) -> None:
        conf = parse_conf(QUEUES, "q.conf")
        assert [s.name for s in conf.sections] == ["general", "defaults", "accueil"]
        assert names(QUEUES) == ["general", "accueil"]
        assert conf.problems == ()

    def test_inheritance_copies_options_first(self) -> None:
        accueil = parse_conf(QUEUES, "q.conf").section("accueil")
        assert accueil is not None and accueil.bases == ("defaults",)
        assert [o.name for o in accueil.options] == ["strategy", "musicclass", "member", "strategy"]
        strategy = accueil.get("strategy")
        assert strategy is not None and strategy.value == "ringall"  # the last one wins

    def test_lookup_ignores_case(self) -> None:
        conf = parse_conf(QUEUES, "q.conf")
        assert conf.section("ACCUEIL") is not None
        assert conf.section("defaults") is None  # a template

    def test_template_that_inherits(self) -> None:
        text = "[a](!)\nx = 1\n[b](!,a)\ny = 2\n[c](b)\n"
        conf = parse_conf(text, "t.conf")
        assert [s.name for s in conf.categories()] == ["c"]
        c = conf.section("c")
        assert c is not None and [(o.name, o.value) for o in c.options] == [("x", "1"), ("y", "2")]

    def test_append_to_existing_section(self) -> None:
        conf = parse_conf("[a]\nx = 1\n[b]\n[a](+)\ny = 2\n", "t.conf")
        assert [s.name for s in conf.sections] == ["a", "b"]
        a = conf.section("a")
        assert a is not None and [o.name for o in a.options] == ["x", "y"]

    def test_space_before_parenthesis_is_not_a_marker(self) -> None:
        # process_text_line only looks at the character right after ']'.
        assert names("[a] (!)\n") == ["a"]

    def test_unknown_base_makes_the_file_unusable(self) -> None:
        conf = parse_conf("[q](nope)\nx = 1\n", "t.conf")
        assert not conf.usable
        (problem,) = conf.problems
        assert str(problem) == "t.conf:1:1: [q] inherits from 'nope', which is not defined above"

    def test_append_to_missing_section_is_fatal(self) -> None:
        conf = parse_conf("[a](+)\n", "t.conf")
        assert not conf.usable

    def test_header_without_closing_bracket(self) -> None:
        conf = parse_conf("  [broken\n", "t.conf")
        assert [str(p) for p in conf.problems] == ["t.conf:1:3: no closing ']'"]

    def test_option_before_any_section(self) -> None:
        conf = parse_conf("x = 1\n[a]\n", "t.conf")
        assert not conf.usable and conf.problems[0].position == Position("t.conf", 1, 1)


class TestOptions:
    def test_value_position_and_object_form(self) -> None:
        conf = parse_conf("[globals]\n  QUEUE   =>  accueil  ; fallback\n", "e.conf")
        option = conf.sections[0].options[0]
        assert (option.name, option.value, option.is_object) == ("QUEUE", "accueil", True)
        assert option.position == Position("e.conf", 2, 15)

    def test_empty_value_points_at_the_key(self) -> None:
        option = parse_conf("[g]\n  x =\n", "e.conf").sections[0].options[0]
        assert option.value == "" and option.position == Position("e.conf", 2, 3)

    def test_plus_equals_appends(self) -> None:
        conf = parse_conf("[g]\nallow = ulaw\nallow += ,alaw\n", "t.conf")
        assert [(o.name, o.value) for o in conf.sections[0].options] == [("allow", "ulaw,alaw")]

    def test_line_without_equals_is_a_warning(self) -> None:
        conf = parse_conf("[g]\njunk\n", "t.conf")
        assert conf.usable and conf.problems[0].message.startswith("no '='")


class TestComments:
    def test_escaped_semicolon(self) -> None:
        option = parse_conf("[g]\nx = a\\;b ; comment\n", "t.conf").sections[0].options[0]
        assert option.value == "a;b"

    def test_block_comment_spans_lines(self) -> None:
        text = "[g]\n;-- [hidden]\nx = 1\n--; y = 2\nz = 3\n"
        conf = parse_conf(text, "t.conf")
        assert [s.name for s in conf.sections] == ["g"]
        assert [(o.name, o.value) for o in conf.sections[0].options] == [("y", "2"), ("z", "3")]

    def test_three_dashes_is_a_line_comment(self) -> None:
        conf = parse_conf("[g]\n;--- a rule\nx = 1\n", "t.conf")
        assert [o.name for o in conf.sections[0].options] == ["x"]

    def test_crlf_lines(self) -> None:
        assert names("[a]\r\nx = 1\r\n[b]\r\n") == ["a", "b"]


class TestIncludes:
    def test_include_is_read_in_place_in_the_current_section(self) -> None:
        files = {"extra.conf": "more = 1\n[fraude](defaults)\n"}
        seen: list[tuple[str, Position]] = []

        def include(name: str, where: Position) -> list[tuple[str, str]] | None:
            seen.append((name, where))
            return [(name, files[name])] if name in files else None

        text = QUEUES + '#include "extra.conf"\n'
        conf = parse_conf(text, "q.conf", include)
        assert seen == [("extra.conf", Position("q.conf", 12, 1))]
        assert names(text) == ["general", "accueil"]  # without an includer: missing
        assert [s.name for s in conf.categories()] == ["general", "accueil", "fraude"]
        accueil = conf.section("accueil")
        assert accueil is not None and accueil.get("more") is not None
        fraude = conf.section("fraude")
        assert fraude is not None and fraude.position == Position("extra.conf", 2, 1)

    def test_missing_include_is_fatal_tryinclude_is_not(self) -> None:
        assert not parse_conf("#include <gone.conf>\n", "t.conf").usable
        tried = parse_conf("#tryinclude gone.conf\n", "t.conf")
        assert tried.usable and tried.problems == ()

    def test_include_loop_stops(self) -> None:
        def itself(name: str, where: Position) -> list[tuple[str, str]]:
            return [("t.conf", "#include t.conf\n")]

        conf = parse_conf("#include t.conf\n", "t.conf", itself)
        assert not conf.usable and "nested too deep" in conf.problems[-1].message

    def test_exec_is_never_run(self) -> None:
        def refuse(name: str, where: Position) -> None:
            raise AssertionError("#exec must not be followed")

        conf = parse_conf("#exec /bin/false\n", "t.conf", refuse)
        assert conf.usable and "#exec" in conf.problems[0].message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_parse_cleanly(path: Path) -> None:
    conf = parse_conf(path.read_text(encoding="utf-8"), path.name)
    assert [str(p) for p in conf.problems] == []
    assert conf.sections


def test_shipped_queues_have_their_hold_music_class() -> None:
    """Every queue's musicclass is a class of the shipped musiconhold.conf."""
    read = {p.name: parse_conf(p.read_text(encoding="utf-8"), p.name) for p in SHIPPED}
    classes = {s.name for s in read["musiconhold.conf"].categories()} - {"general"}
    queues = [s for s in read["queues.conf"].categories() if s.name != "general"]
    assert len(queues) >= 8
    for queue in queues:
        music = queue.get("musicclass")
        assert music is not None and music.value in classes, queue.name
