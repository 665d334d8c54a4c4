"""Rules of a dialplan that span several fields, each reported at the field concerned.

The model (:mod:`callbot.dialplan.model`) checks shapes and types; these checks
run on a well-typed :class:`Dialplan` and return every :class:`Issue` at once, so
ops fix a file in one go. The loader turns each path into ``file:line:column``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from callbot.dialplan.closed import BUILTIN_CLOSED
from callbot.dialplan.intents import BUILTIN_SLOT_WORDING, Intent, Slot
from callbot.dialplan.model import (
    BUILTIN_CLARIFY,
    BUILTIN_MORE_DETAILS,
    BusinessHours,
    Dialplan,
    NoMatch,
)
from callbot.dialplan.normalize import base_language, matching_words
from callbot.dialplan.templates import (
    CALL_VARIABLES,
    CALLBACK_NUMBER,
    CLARIFY_VARIABLES,
    OUT_OF_HOURS_VARIABLES,
    RESERVED_VARIABLES,
    SLOT_VALUE,
    template_problem,
)
from callbot.dialplan.untranslated import english_words

CLOSED_SENTENCES = ("message", "holiday", "closed_day", "weekend", "outside_hours")
"""The sentences of ``hours.out_of_hours`` that say why no agent answers."""

FieldPath = tuple[str | int, ...]
"""Where a value sits in the file: ``("intents", 3, "answer")``."""


@dataclass(frozen=True, slots=True)
class Issue:
    path: FieldPath
    message: str


def check_dialplan(dialplan: Dialplan) -> list[Issue]:
    """Every cross-field problem of ``dialplan``; empty when it is usable."""
    issues = [*_intent_issues(dialplan), *_example_issues(dialplan)]
    issues += [*_slot_issues(dialplan), *_hook_issues(dialplan), *_transfer_issues(dialplan)]
    if dialplan.hours is not None:
        issues += _hours_issues(dialplan.hours, base_language(dialplan.language))
    for path, text, allowed in sentences(dialplan):
        problem = template_problem(text, allowed)
        if problem:
            issues.append(Issue(path, problem))
    if dialplan.matching.low > dialplan.matching.high:
        issues.append(Issue(("matching", "low"), "low must not be above high"))
    lang = base_language(dialplan.language)
    if dialplan.clarify is None and lang not in BUILTIN_CLARIFY:
        issues.append(
            Issue(("language",), "no built-in clarification wording: add a 'clarify' section")
        )
    if (
        dialplan.more_details is None
        and lang not in BUILTIN_MORE_DETAILS
        and any(i.details for i in dialplan.intents)
    ):
        message = "no built-in 'more details?' question: add a 'more_details' section"
        issues.append(Issue(("language",), message))
    if lang not in BUILTIN_SLOT_WORDING and any(i.slots for i in dialplan.intents):
        issues.append(Issue(("language",), "slots are only built in for French and English"))
    return issues


def untranslated_issues(dialplan: Dialplan) -> list[Issue]:
    """Texts of a French dialplan that read as English: what callers hear and the transfer
    reasons agents read (a warning of ``dialplan check``: the guess may be wrong)."""
    if base_language(dialplan.language) != "fr":
        return []
    texts = [(path, text) for path, text, _ in sentences(dialplan)]
    if dialplan.no_match.reason != NoMatch.model_fields["reason"].default:  # the engine's code
        texts.append((("no_match", "reason"), dialplan.no_match.reason))
    for i, intent in enumerate(dialplan.intents):
        if intent.transfer is not None and intent.transfer.reason is not None:
            texts.append((("intents", i, "transfer", "reason"), intent.transfer.reason))
    issues = []
    for path, text in texts:
        words = english_words(text)
        if words:
            found = ", ".join(words[:4])
            message = f"reads as English ({found}) in a {dialplan.language} dialplan: translate it"
            issues.append(Issue(path, message))
    return issues


def _intent_issues(dialplan: Dialplan) -> Iterator[Issue]:
    first_id: dict[str, int] = {}
    first_digit: dict[str, int] = {}
    for i, intent in enumerate(dialplan.intents):
        if intent.id in first_id:
            yield Issue(("intents", i, "id"), f"duplicate intent id {intent.id!r}")
        first_id.setdefault(intent.id, i)
        if intent.dtmf is not None:
            if intent.dtmf in first_digit:
                other = dialplan.intents[first_digit[intent.dtmf]].id
                yield Issue(("intents", i, "dtmf"), f"digit {intent.dtmf} is already {other!r}")
            first_digit.setdefault(intent.dtmf, i)
        if intent.answer is None and intent.then == "continue":
            yield Issue(("intents", i), "missing field 'answer' (required with then: continue)")
        if intent.transfer is not None and intent.then != "transfer":
            yield Issue(("intents", i, "transfer"), "'transfer' needs 'then: transfer'")
        if intent.details is not None and intent.answer is None:
            yield Issue(("intents", i, "details"), "'details' needs an 'answer' to follow")
        if intent.details is not None and intent.then != "continue":
            yield Issue(("intents", i, "details"), "'details' needs 'then: continue'")


def _example_issues(dialplan: Dialplan) -> Iterator[Issue]:
    """Examples must keep a meaningful word, and two intents may not share one."""
    owner: dict[tuple[str, ...], str] = {}
    for i, intent in enumerate(dialplan.intents):
        for j, example in enumerate(intent.examples):
            words = matching_words(example, dialplan.language)
            path: FieldPath = ("intents", i, "examples", j)
            if not words:
                yield Issue(path, "example has no meaningful word once filler words are removed")
                continue
            key = tuple(sorted(words))
            other = owner.setdefault(key, intent.id)
            if other != intent.id:
                yield Issue(path, f"example says the same as one of intent {other!r}")


def sentences(dialplan: Dialplan) -> Iterator[tuple[FieldPath, str, frozenset[str]]]:
    """Every sentence template of ``dialplan`` with the variables it may use (also what
    ``dialplan check`` renders to read its French)."""
    call = CALL_VARIABLES
    yield ("greeting",), dialplan.greeting, call
    yield ("goodbye",), dialplan.goodbye, call
    yield ("error_apology",), dialplan.error_apology, call
    yield ("transfer", "handover"), dialplan.transfer.handover, call
    for k, prompt in enumerate(dialplan.no_input.prompts):
        yield ("no_input", "prompts", k), prompt, call
    if dialplan.no_input.end is not None:
        yield ("no_input", "end"), dialplan.no_input.end, call
    for k, prompt in enumerate(dialplan.no_match.prompts):
        yield ("no_match", "prompts", k), prompt, call
    if dialplan.menu is not None:
        yield ("menu", "prompt"), dialplan.menu.prompt, call
        yield ("menu", "invalid"), dialplan.menu.invalid, call
    if dialplan.clarify is not None:
        yield ("clarify", "prompt"), dialplan.clarify.prompt, CLARIFY_VARIABLES
        yield ("clarify", "on_no"), dialplan.clarify.on_no, call
    if dialplan.follow_up is not None:
        yield ("follow_up", "prompt"), dialplan.follow_up.prompt, call
        yield ("follow_up", "on_yes"), dialplan.follow_up.on_yes, call
    if dialplan.more_details is not None:
        yield ("more_details", "prompt"), dialplan.more_details.prompt, call
    if dialplan.survey is not None:
        yield ("survey", "prompt"), dialplan.survey.prompt, call
        yield ("survey", "thanks"), dialplan.survey.thanks, call
    yield from _hours_sentences(dialplan)
    for h, hook in enumerate(dialplan.hooks):
        sent = call | frozenset(hook.send)
        for name in ("wait", "fallback", "not_found"):
            text = getattr(hook, name)
            if text is not None:
                yield ("hooks", h, name), text, sent
    for i, intent in enumerate(dialplan.intents):
        yield from _intent_sentences(dialplan, i, intent)


def _intent_sentences(
    dialplan: Dialplan, i: int, intent: Intent
) -> Iterator[tuple[FieldPath, str, frozenset[str]]]:
    """An intent's sentences may name its slots once asked, and its hook's fields."""
    known = CALL_VARIABLES
    if intent.intro is not None:
        yield ("intents", i, "intro"), intent.intro, known
    for k, slot in enumerate(intent.slots):
        path: FieldPath = ("intents", i, "slots", k)
        yield (*path, "prompt"), slot.prompt, known
        if slot.retry is not None:
            yield (*path, "retry"), slot.retry, known
        if slot.confirm_prompt is not None:
            yield (*path, "confirm_prompt"), slot.confirm_prompt, known | {SLOT_VALUE}
        for n, prompt in enumerate(slot.no_input.prompts if slot.no_input else ()):
            yield (*path, "no_input", "prompts", n), prompt, known
        known = known | {slot.name}
    if intent.hook is not None and intent.hook in {h.id for h in dialplan.hooks}:
        known = known | {name for name, _ in dialplan.hook(intent.hook).fields}
    if intent.answer is not None:
        yield ("intents", i, "answer"), intent.answer, known
    if intent.details is not None:
        yield ("intents", i, "details"), intent.details, known


def _hours_sentences(dialplan: Dialplan) -> Iterator[tuple[FieldPath, str, frozenset[str]]]:
    if dialplan.hours is None:
        return
    closed = dialplan.hours.out_of_hours
    path: FieldPath = ("hours", "out_of_hours")
    for name in CLOSED_SENTENCES:
        text = getattr(closed, name)
        if text is not None:
            yield (*path, name), text, OUT_OF_HOURS_VARIABLES
    if closed.callback is not None:
        yield (*path, "callback", "offer"), closed.callback.offer, CALL_VARIABLES
        yield (*path, "callback", "number_prompt"), closed.callback.number_prompt, CALL_VARIABLES
        done = CALL_VARIABLES | {CALLBACK_NUMBER}
        yield (*path, "callback", "done"), closed.callback.done, done


def _slot_issues(dialplan: Dialplan) -> Iterator[Issue]:
    for i, intent in enumerate(dialplan.intents):
        seen: set[str] = set()
        for k, slot in enumerate(intent.slots):
            path: FieldPath = ("intents", i, "slots", k)
            if slot.name in seen:
                yield Issue((*path, "name"), f"duplicate slot {slot.name!r}")
            if slot.name in RESERVED_VARIABLES:
                yield Issue((*path, "name"), f"{slot.name!r} is a reserved variable name")
            seen.add(slot.name)
            yield from _slot_option_issues(slot, path)
        if intent.slots and intent.then == "continue" and intent.answer is None:
            yield Issue(("intents", i), "an intent with slots needs an 'answer'")


_TYPE_OPTIONS = {
    "when": ("date",),
    "min_digits": ("digits",),
    "max_digits": ("digits",),
    "min_value": ("number", "amount"),
    "max_value": ("number", "amount"),
}


def _slot_option_issues(slot: Slot, path: FieldPath) -> Iterator[Issue]:
    for option, types in _TYPE_OPTIONS.items():
        default = "any" if option == "when" else None
        if getattr(slot, option) != default and slot.type not in types:
            yield Issue((*path, option), f"'{option}' is for slots of type {' or '.join(types)}")
    low, high = slot.min_digits or 1, slot.max_digits or 20
    if low > high:
        yield Issue((*path, "min_digits"), "min_digits must not be above max_digits")
    if (
        slot.min_value is not None
        and slot.max_value is not None
        and slot.min_value > slot.max_value
    ):
        yield Issue((*path, "min_value"), "min_value must not be above max_value")


def _hook_issues(dialplan: Dialplan) -> Iterator[Issue]:
    ids: set[str] = set()
    for h, hook in enumerate(dialplan.hooks):
        if hook.id in ids:
            yield Issue(("hooks", h, "id"), f"duplicate hook id {hook.id!r}")
        ids.add(hook.id)
        problem = template_problem(hook.url, frozenset(hook.send))
        if problem:
            yield Issue(("hooks", h, "url"), f"{problem} (a URL may only use 'send' slots)")
        names = [name for name, _ in hook.fields]
        for n, name in enumerate(names):
            if name in RESERVED_VARIABLES or name in names[:n]:
                yield Issue(("hooks", h, "fields", name), f"field name {name!r} is taken")
        for n, name in enumerate(hook.amounts):
            if name not in names:
                yield Issue(("hooks", h, "amounts", n), f"{name!r} is not one of 'fields'")
    for i, intent in enumerate(dialplan.intents):
        if intent.hook is None:
            continue
        if intent.hook not in ids:
            yield Issue(("intents", i, "hook"), f"unknown hook {intent.hook!r}")
            continue
        yield from _hook_use_issues(dialplan, i, intent)


def _hook_use_issues(dialplan: Dialplan, i: int, intent: Intent) -> Iterator[Issue]:
    hook = dialplan.hook(intent.hook or "")
    slots = {slot.name for slot in intent.slots}
    path: FieldPath = ("intents", i, "hook")
    for name in (*hook.send, *hook.requires):
        if name not in slots:
            yield Issue(path, f"hook {hook.id!r} needs slot {name!r}, which this intent lacks")
    clash = slots & {name for name, _ in hook.fields}
    if clash:
        yield Issue(path, f"hook {hook.id!r} reply fields clash with slots: {sorted(clash)}")
    if intent.then != "continue" or intent.answer is None:
        yield Issue(path, "an intent with a hook needs 'then: continue' and an 'answer'")


def _transfer_issues(dialplan: Dialplan) -> Iterator[Issue]:
    routes = dialplan.transfer.routes
    for r, route in enumerate(routes):
        if route.skill is None and route.language is None:
            yield Issue(("transfer", "routes", r), "a route needs a 'skill' or a 'language'")
    skills = {route.skill for route in routes}
    for i, intent in enumerate(dialplan.intents):
        spec = intent.transfer
        if spec is None or spec.skill is None or spec.queue is not None:
            continue
        if spec.skill not in skills:
            path: FieldPath = ("intents", i, "transfer", "skill")
            yield Issue(path, f"no route in transfer.routes for skill {spec.skill!r}")


def _hours_issues(hours: BusinessHours, language: str) -> Iterator[Issue]:
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield Issue(("hours", "timezone"), f"unknown time zone {hours.timezone!r}")
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        for k, span in enumerate(getattr(hours, day)):
            start, end = span.split("-")
            if start >= end:
                yield Issue(("hours", day, k), "a range must end after it starts")
    yield from _holiday_issues(hours)
    for k, text in enumerate(hours.closed_dates):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            yield Issue(("hours", "closed_dates", k), f"not a date: {text!r}")
    closed = hours.out_of_hours
    cases = [name for name in CLOSED_SENTENCES if name != "message"]
    if closed.message is None and language not in BUILTIN_CLOSED:
        missing = [name for name in cases if getattr(closed, name) is None]
        if missing:
            message = f"no built-in sentence in this language for {', '.join(missing)}: "
            yield Issue(("hours", "out_of_hours"), message + "add 'message' or each of them")
    if closed.then == "callback" and closed.callback is None:
        yield Issue(("hours", "out_of_hours"), "'then: callback' needs a 'callback' section")
    if closed.callback is not None and closed.then != "callback":
        yield Issue(("hours", "out_of_hours", "callback"), "'callback' needs 'then: callback'")


def _holiday_issues(hours: BusinessHours) -> Iterator[Issue]:
    if hours.public_holidays is None:
        if hours.subdivision is not None:
            yield Issue(("hours", "subdivision"), "'subdivision' needs 'public_holidays'")
        return
    supported = holidays.list_supported_countries()
    if hours.public_holidays not in supported:
        message = f"no public holidays known for {hours.public_holidays!r}"
        yield Issue(("hours", "public_holidays"), message)
    elif (
        hours.subdivision is not None and hours.subdivision not in supported[hours.public_holidays]
    ):
        choices = ", ".join(supported[hours.public_holidays])
        yield Issue(("hours", "subdivision"), f"unknown subdivision (known: {choices})")
