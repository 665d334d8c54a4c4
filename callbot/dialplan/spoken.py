"""How long the bot talks: a sentence's spoken seconds, estimated from its words.

Telephone speech runs at about 2.5 words a second (150 a minute, the pace that
``tests/dialplan/test_spoken_lengths.py`` also measures with espeak-ng). A caller hears
an answer out before they can say anything, so an answer is kept under
:data:`ANSWER_MAX_S`; what does not fit goes to the intent's ``details``, said only to a
caller who asks for them (:mod:`callbot.dialplan.details`). ``dialplan check`` warns
about the answers that run longer (:func:`long_answer_issues`): a warning, since a word
count is an estimate.
"""

from __future__ import annotations

from string import Template

from callbot.dialplan.checks import Issue
from callbot.dialplan.model import Dialplan
from callbot.dialplan.templates import render

WORDS_PER_SECOND = 2.5
ANSWER_MAX_S = 15.0
"""Longest answer a caller should have to hear (the details question excluded)."""
SAID_VARIABLE = "douze juin 2026"
"""What a variable counts for: a date or a sum is said in about three words ("21 euros
50")."""


def spoken_words(text: str) -> int:
    """Words as a listener counts them: "l'objet" is one, "«" and ":" none; a variable,
    three."""
    names = Template(text).get_identifiers()
    said = render(text, dict.fromkeys(names, SAID_VARIABLE))
    return sum(any(c.isalnum() for c in token) for token in said.split())


def spoken_s(text: str) -> float:
    """Seconds ``text`` takes to say at :data:`WORDS_PER_SECOND`."""
    return spoken_words(text) / WORDS_PER_SECOND


def long_answer_issues(dialplan: Dialplan) -> list[Issue]:
    """Answers estimated over :data:`ANSWER_MAX_S` spoken: the caller waits them out."""
    issues = []
    for i, intent in enumerate(dialplan.intents):
        if intent.answer is None or (seconds := spoken_s(intent.answer)) <= ANSWER_MAX_S:
            continue
        if intent.then != "continue":
            advice = "shorten it"
        elif intent.details is None:
            advice = "say the essentials and move the rest to 'details'"
        else:
            advice = "move more of it to 'details'"
        message = (
            f"answer runs about {seconds:.0f} s spoken ({spoken_words(intent.answer)} words; "
            f"keep it under {ANSWER_MAX_S:.0f} s): {advice}"
        )
        issues.append(Issue(("intents", i, "answer"), message))
    return issues
