"""The typed shape of a dialplan file: the file as a whole and its call-flow sections
(menu, silences, misunderstandings, transfers, hours, survey).

Intents, their slots and back-office hooks are in :mod:`callbot.dialplan.intents`; the
field types (patterns, YAML conversions) in :mod:`callbot.dialplan.fields`.

Departure from the house style (frozen slotted dataclasses): these are frozen
pydantic models, because pydantic gives us, from one declaration, strict type
checking with the exact path of each wrong value (which the loader turns into
``file:line:column``), refusal of unknown fields, and the JSON Schema that the lint
command and editors will use (``Dialplan.model_json_schema()``).
Models are strict: YAML ``yes`` is not a sentence and ``"3"`` is not a count.

Rules that involve several fields (unique ids and digits, known template variables,
an answer unless the intent transfers) live in :mod:`callbot.dialplan.checks`, so
each problem can point at the field it concerns.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from callbot.dialplan.fields import (
    COUNTRY_PATTERN,
    LANGUAGE_PATTERN,
    TIMEZONE_PATTERN,
    IsoDate,
    Language,
    Name,
    StrictModel,
    Text,
    TimeRange,
)
from callbot.dialplan.intents import Hook, Intent


class Menu(StrictModel):
    prompt: Text
    """Lists the keypad options ("Pour une attestation, tapez 1...")."""
    invalid: Text
    """Said when a digit selects nothing, before the prompt is repeated."""
    announce: bool = True
    """Say the prompt right after the greeting."""


class NoInput(StrictModel):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Re-prompts after the 1st, 2nd... silence; the last one repeats."""
    max_count: int = Field(default=3, ge=1, le=10)
    """The ``max_count``-th silence in a row ends the call (``end``, goodbye, hang-up)."""
    end: Text | None = None
    """Said before the goodbye sentence when the call ends for silence."""


class NoMatch(StrictModel):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Re-prompts after the 1st, 2nd... misunderstanding; the last one repeats."""
    max_count: int = Field(default=3, ge=1, le=10)
    """The ``max_count``-th misunderstanding in a row transfers to the default queue."""
    reason: Text = "not understood"


class Route(StrictModel):
    """Queue for transfers needing a skill and/or a language; the first that fits wins."""

    queue: Name
    skill: Name | None = None
    language: Language | None = None


class DefaultTransfer(StrictModel):
    queue: Name
    handover: Text
    """Said before any transfer that has no sentence of its own."""
    routes: tuple[Route, ...] = ()
    """Queues chosen by the intent's ``transfer.skill`` and ``transfer.language``."""


class Callback(StrictModel):
    offer: Text
    """Yes/no question ("Souhaitez-vous qu'un conseiller vous rappelle ?"; 1 yes, 2 no)."""
    number_prompt: Text
    """Asks the phone number to call back (a ``phone`` slot, confirmed)."""
    done: Text
    """Said once the number is noted; may use ``${callback_number}``."""
    time_prompt: Text | None = None
    """Asks when to call back ("Quand préférez-vous être rappelé ?"), after the number;
    the answer is kept as said (redacted) for the agent. Absent: not asked."""
    queue: Name | None = None
    """Where the callback request goes; the default transfer queue when absent."""


class OutOfHours(StrictModel):
    """What the caller hears when no agent answers: the sentence of the case (a public
    holiday, a closed day, the weekend, outside the day's hours), else ``message``, else
    the built-in French or English sentence of the case. Each may use ``${holiday}`` (the
    holiday's name: "Lundi de Pâques") and ``${reopens}`` ("demain à 8 h 30")."""

    message: Text | None = None
    """Said in every case that has no sentence of its own ("Nos conseillers vous
    répondent du lundi au vendredi..."); absent: the built-in sentences (French, English)."""
    holiday: Text | None = None
    """A public holiday ("Nous sommes fermés aujourd'hui, ${holiday}...")."""
    closed_day: Text | None = None
    """A date of ``closed_dates``, or a weekday without opening hours."""
    weekend: Text | None = None
    """Saturday or Sunday without opening hours."""
    outside_hours: Text | None = None
    """Before opening, between two ranges, after closing ("Nous rouvrons ${reopens}.")."""
    scope: Literal["transfers", "call"] = "transfers"
    """``transfers``: the bot answers around the clock and only a transfer meets the
    message; ``call``: the message follows the greeting and the call ends."""
    then: Literal["hangup", "callback"] = "hangup"
    """After the message: goodbye, or offer a callback (``callback`` section)."""
    callback: Callback | None = None


class BusinessHours(StrictModel):
    """When agents answer. Outside these hours no call is transferred."""

    timezone: Annotated[str, Field(pattern=TIMEZONE_PATTERN)] = "Europe/Paris"
    """IANA time zone of the hours."""
    monday: tuple[TimeRange, ...] = ()
    tuesday: tuple[TimeRange, ...] = ()
    wednesday: tuple[TimeRange, ...] = ()
    thursday: tuple[TimeRange, ...] = ()
    friday: tuple[TimeRange, ...] = ()
    saturday: tuple[TimeRange, ...] = ()
    sunday: tuple[TimeRange, ...] = ()
    public_holidays: Annotated[str, Field(pattern=COUNTRY_PATTERN)] | None = "FR"
    """Country whose public holidays are closed days (the ``holidays`` package);
    null for none."""
    subdivision: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    """Region with extra holidays, e.g. ``"57"`` (Moselle: Good Friday, 26 December)."""
    closed_dates: tuple[IsoDate, ...] = ()
    """Extra closed days, ``2025-12-24``."""
    out_of_hours: OutOfHours

    def ranges(self, weekday: int) -> tuple[str, ...]:
        """Opening ranges of ``weekday`` (0 = Monday)."""
        days = (self.monday, self.tuesday, self.wednesday, self.thursday, self.friday)
        return (*days, self.saturday, self.sunday)[weekday]


class Survey(StrictModel):
    """End-of-call satisfaction question, when the caller is done (not on transfers)."""

    prompt: Text
    """"Notez ce service en tapant une note de 1 à 5." Spoken digits count too."""
    thanks: Text
    """Said after a score, before the goodbye sentence."""


class Clarify(StrictModel):
    prompt: Text
    """Yes/no question when the match is unsure; may use ``$intent_label``."""
    on_no: Text
    """Said when the caller answers no; counts as a misunderstanding."""


class FollowUp(StrictModel):
    prompt: Text
    """Said after each ``then: continue`` answer ("Puis-je vous aider pour autre chose ?")."""
    on_yes: Text
    """Said when the caller answers just yes ("Je vous écoute."). A bare no ends the call."""


class MoreDetails(StrictModel):
    prompt: Text
    """Asked after an answer that has ``details`` ("Voulez-vous plus de détails ?"): yes
    or key 1 says them, no or key 2 goes on as after any answer."""


class Matching(StrictModel):
    """Thresholds on the matcher's confidence; ``callbot dialplan accuracy --calibrate``
    suggests them from the dialplan's held-out set."""

    high: float = Field(default=0.55, ge=0.0, le=1.0)
    """Confidence from which the best intent is answered directly."""
    low: float = Field(default=0.30, ge=0.0, le=1.0)
    """Confidence from which the bot asks whether it understood; below, no match."""


class Dialplan(StrictModel):
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN)]
    """BCP 47 tag, ``fr-FR`` or ``en-US``; decides speech recognition and word rules."""
    voice: Name | None = None
    """Piper voice name (``fr_FR-siwis-medium``); the configured default when absent."""
    greeting: Text
    intents: tuple[Intent, ...] = Field(min_length=1)
    menu: Menu | None = None
    clarify: Clarify | None = None
    """Built-in French or English wording when absent (other languages must set it)."""
    follow_up: FollowUp | None = None
    more_details: MoreDetails | None = None
    """Built-in French or English wording when absent (other languages must set it when
    an intent has ``details``)."""
    no_input: NoInput
    no_match: NoMatch
    transfer: DefaultTransfer
    goodbye: Text
    error_apology: Text
    """Said when something fails inside the call, before ``on_error`` happens."""
    on_error: Literal["transfer", "hangup"] = "transfer"
    matching: Matching = Matching()
    hours: BusinessHours | None = None
    """Opening hours of the agents; always open when absent."""
    hooks: tuple[Hook, ...] = ()
    survey: Survey | None = None

    def hook(self, hook_id: str) -> Hook:
        for hook in self.hooks:
            if hook.id == hook_id:
                return hook
        raise KeyError(hook_id)

    def intent(self, intent_id: str) -> Intent:
        for intent in self.intents:
            if intent.id == intent_id:
                return intent
        raise KeyError(intent_id)


BUILTIN_CLARIFY = {
    "fr": Clarify(
        prompt="Vous voulez parler de ${intent_label}, c'est bien ça ?",
        on_no="D'accord. Pouvez-vous reformuler votre demande ?",
    ),
    "en": Clarify(
        prompt="Did you mean ${intent_label}?",
        on_no="All right. Could you say it in other words?",
    ),
}

BUILTIN_MORE_DETAILS = {
    "fr": MoreDetails(prompt="Voulez-vous plus de détails ?"),
    "en": MoreDetails(prompt="Would you like more details?"),
}
