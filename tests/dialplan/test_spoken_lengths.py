"""The health-insurance line stays short to hear: the greeting (with the keypad menu when
it is announced) under 12 s before the caller is invited to speak, every answer under
15 s, personal answers included (filled from every person of the sample back-office).

Measured twice: words, at the telephone pace of 2.5 words a second (150 per minute:
:mod:`callbot.dialplan.spoken`, which ``dialplan check`` warns with), and seconds of
espeak-ng speaking French at that pace; a later edit that makes one of them long again
fails here. What does not fit is in the intents' ``details``, said on request.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from callbot.backoffice.server import sample_app
from callbot.dialplan import Dialplan
from callbot.dialplan.hooks import reply_fields
from callbot.dialplan.spoken import ANSWER_MAX_S, WORDS_PER_SECOND
from callbot.dialplan.spoken import spoken_words as words
from callbot.dialplan.templates import render

WORDS_PER_MINUTE = int(WORDS_PER_SECOND * 60)
GREETING_MAX_S = 12.0
ESPEAK_RATE_HZ = 22_050


def spoken_s(text: str) -> float:
    """Seconds espeak-ng takes to say ``text`` in French at :data:`WORDS_PER_MINUTE`."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        pytest.fail("espeak-ng missing: run scripts/setup.sh --test")
    wav = subprocess.run(
        [binary, "-v", "fr", "-s", str(WORDS_PER_MINUTE), "--stdout", "--", text],
        capture_output=True,
        check=True,
    ).stdout
    payload = len(wav) - wav.find(b"data") - 8
    return payload / 2 / ESPEAK_RATE_HZ


def assert_short(text: str, max_s: float) -> None:
    max_words = int(max_s * WORDS_PER_MINUTE / 60)
    assert words(text) <= max_words, f"{words(text)} words > {max_words}: {text}"
    seconds = spoken_s(text)
    assert seconds <= max_s, f"{seconds:.1f} s > {max_s} s: {text}"


def test_greeting_and_announced_menu(assurance: Dialplan) -> None:
    said = [assurance.greeting]
    if assurance.menu is not None and assurance.menu.announce:
        said.append(assurance.menu.prompt)
    assert_short(" ".join(said), GREETING_MAX_S)


def test_every_static_answer(assurance: Dialplan) -> None:
    for intent in assurance.intents:
        if intent.answer is not None and intent.hook is None:
            assert_short(intent.answer, ANSWER_MAX_S)


def test_hook_sentences(assurance: Dialplan) -> None:
    for hook in assurance.hooks:
        for sentence in (hook.wait, hook.fallback, hook.not_found):
            if sentence is not None:
                assert_short(sentence, ANSWER_MAX_S)


def sample_replies(database: Path, path: str) -> Iterator[dict[str, object]]:
    """The sample back-office's reply at ``path`` for each of its people who has one."""
    client = TestClient(sample_app(database))
    with sqlite3.connect(database) as db:
        people = db.execute("SELECT nir, date_naissance FROM assures").fetchall()
    for nir, born in people:
        reply = client.get(path.replace("${nir}", nir), params={"date_naissance": born})
        if reply.status_code == 200:
            yield reply.json()


def test_every_personal_answer(assurance: Dialplan, tmp_path: Path) -> None:
    checked = 0
    for intent in assurance.intents:
        if intent.hook is None or intent.answer is None:
            continue
        hook = assurance.hook(intent.hook)
        path = urlsplit(hook.url).path
        for reply in sample_replies(tmp_path / "office.sqlite3", path):
            fields = reply_fields(hook, reply, assurance.language)
            assert fields is not None, reply
            assert_short(render(intent.answer, fields), ANSWER_MAX_S)
            checked += 1
    assert checked >= 5


def test_a_long_greeting_fails() -> None:
    with pytest.raises(AssertionError, match="words"):
        assert_short("Bonjour, " * 31, GREETING_MAX_S)
