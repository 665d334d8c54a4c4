"""The typed shape of a dialplan file.

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

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from callbot.dialplan.validators import SlotType

TEXT_PATTERN = r"\S"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DIGIT_PATTERN = r"^[0-9*#A-D]$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"
VARIABLE_PATTERN = r"^[a-z_][a-z0-9_]*$"
TIME_RANGE_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]|24):[0-5][0-9]$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
URL_PATTERN = r"^https?://[^\s]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
TIMEZONE_PATTERN = r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$"
JSON_PATH_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"

Text = Annotated[str, Field(min_length=1, pattern=TEXT_PATTERN)]
"""A sentence the bot says; may use ``$variables`` (see :mod:`callbot.dialplan.templates`)."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=80)]
"""An identifier: intent id, queue name."""


def _digit_from_yaml(value: object) -> object:
    """Let ops write ``dtmf: 1`` (a YAML int) as well as ``dtmf: "1"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Digit = Annotated[
    str,
    BeforeValidator(_digit_from_yaml),
    Field(pattern=DIGIT_PATTERN),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DIGIT_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": 9},
            ]
        }
    ),
]

Then = Literal["continue", "hangup", "transfer"]

Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]

Variable = Annotated[str, Field(pattern=VARIABLE_PATTERN, max_length=40)]
"""A template variable name (slot name, back-office reply field): ``date_naissance``."""


def _date_from_yaml(value: object) -> object:
    """YAML reads ``2025-12-24`` as a date; keep it as the text ops wrote."""
    return value.isoformat() if isinstance(value, dt.date) else value


IsoDate = Annotated[
    str,
    BeforeValidator(_date_from_yaml),
    Field(pattern=DATE_PATTERN),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]

TimeRange = Annotated[str, Field(pattern=TIME_RANGE_PATTERN)]
"""Opening hours of one stretch, ``"08:30-12:00"`` (local time, end excluded)."""


def _pairs_from_mapping(value: object) -> object:
    """A YAML mapping ``{variable: path}`` kept as sorted pairs, so the model stays hashable."""
    if isinstance(value, Mapping):
        return tuple((k, v) for k, v in value.items())
    return value


ReplyFields = Annotated[
    tuple[tuple[Variable, Annotated[str, Field(pattern=JSON_PATH_PATTERN)]], ...],
    BeforeValidator(_pairs_from_mapping),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": VARIABLE_PATTERN},
            "additionalProperties": {"type": "string", "pattern": JSON_PATH_PATTERN},
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class IntentTransfer(_Strict):
    queue: Name | None = None
    """Queue to hand the call to; else chosen by ``skill`` and ``language`` among
    ``transfer.routes``; else the dialplan's default queue."""
    reason: Text | None = None
    """Reason recorded with the transfer; ``intent <id>`` when absent."""
    skill: Name | None = None
    """Skill the agent needs (``indemnites``, ``reseau``); picks a route."""
    language: Language | None = None
    """Language the agent must speak; the dialplan's language when absent."""


class SlotNoInput(_Strict):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Said after the 1st, 2nd... silence, before the question again; the last one repeats."""
    max_count: int = Field(default=2, ge=1, le=10)
    """The ``max_count``-th silence in a row gives up on the slot (``on_failure``)."""


class Slot(_Strict):
    """A value the bot asks for before answering: a date, a number, a NIR..."""

    name: Variable
    """Usable in later sentences as ``${name}`` (spoken form: "06 12 34 56 78")."""
    type: SlotType
    prompt: Text
    """The question ("Quel est votre numéro de sécurité sociale ?")."""
    retry: Text | None = None
    """Said when the answer holds no valid value, before the question again."""
    max_attempts: int = Field(default=3, ge=1, le=10)
    """Answers without a valid value (or refused confirmations) before ``on_failure``."""
    confirm: bool = False
    """Read the value back and ask yes/no; a no or a new value starts over."""
    confirm_prompt: Text | None = None
    """The read-back question; may use ``${value}``. Built-in French/English otherwise."""
    dtmf: bool = True
    """Also accept the value typed on the keypad, ended by ``#`` (``*`` = decimal comma
    for amounts; dates as DDMMYYYY; 1 = yes, 2 = no)."""
    when: Literal["past", "future", "any"] = "any"
    """Dates only: how "le 3 mars" or "lundi" is read, and which dates are refused."""
    min_digits: int | None = Field(default=None, ge=1, le=40)
    """Type ``digits`` only: fewest digits accepted (default 1)."""
    max_digits: int | None = Field(default=None, ge=1, le=40)
    """Type ``digits`` only: most digits accepted (default 20)."""
    min_value: int | None = None
    """Types ``number`` and ``amount`` only: smallest value accepted."""
    max_value: int | None = None
    """Types ``number`` and ``amount`` only: largest value accepted."""
    no_input: SlotNoInput | None = None
    """Silence policy for this question; built-in wording, 2 silences, otherwise."""
    on_failure: Literal["transfer", "hangup"] = "transfer"
    """What happens when the value cannot be had: handover and transfer, or goodbye."""


class Hook(_Strict):
    """A back-office call that personalises an answer (reimbursement status...).

    The engine never does I/O: it returns a ``Fetch`` action; the call runner performs
    the request and feeds the reply back (``DialogEngine.on_hook_result``).
    """

    id: Name
    url: Annotated[str, Field(pattern=URL_PATTERN)]
    """``https://backoffice/api/remboursements/${nir}``: may use the ``send`` slots
    (URL-encoded canonical values)."""
    method: Literal["GET", "POST"] = "GET"
    send: tuple[Variable, ...] = ()
    """Slots sent (canonical values): as the query string for GET (those not in the
    URL), as a JSON object for POST."""
    requires: tuple[Variable, ...] = ()
    """Identity check: slots that must have been captured, validated (and confirmed when
    the slot says so) before the request is made, e.g. ``[nir, date_naissance]``."""
    timeout_s: float = Field(default=3.0, gt=0.0, le=30.0)
    wait: Text | None = None
    """Said while the request runs ("Je consulte votre dossier, un instant.")."""
    fields: ReplyFields = ()
    """Answer variables taken from the JSON reply: ``{montant: paiement.montant}``. A
    reply without one of these fields counts as malformed."""
    fallback: Text
    """Said when the back-office times out, fails (5xx, network) or replies malformed."""
    not_found: Text | None = None
    """Said when it answers 404 or 403 (no file for this identity); ``fallback`` if absent."""
    on_failure: Literal["continue", "transfer"] = "transfer"
    """After the fallback sentence: hand over to an agent, or go on (follow-up question)."""


class Intent(_Strict):
    id: Name
    examples: tuple[Text, ...] = Field(min_length=1)
    """Ways a caller may say it; more and more varied examples match better."""
    label: Text | None = None
    """Short name used in the clarification question ("votre attestation de droits");
    the first example when absent."""
    answer: Text | None = None
    """What the bot says; when absent, ``then: transfer`` says the default handover and
    ``then: hangup`` the goodbye sentence."""
    then: Then = "continue"
    dtmf: Digit | None = None
    """Keypad digit that selects this intent without speaking."""
    transfer: IntentTransfer | None = None
    """Where ``then: transfer`` sends the call."""
    audio: Annotated[str, Field(min_length=1)] | None = None
    """Pre-recorded answer (WAV file, relative to the dialplan file) played instead of
    synthesising ``answer``; ``answer`` stays the transcript."""
    intro: Text | None = None
    """Said before the first slot question ("Je dois d'abord vérifier votre identité.")."""
    slots: tuple[Slot, ...] = ()
    """Values to collect, in order, before the answer (which may use them)."""
    hook: Name | None = None
    """Back-office hook (``hooks[].id``) called once the slots are captured; the
    answer may then use its ``fields``."""

    @property
    def spoken_label(self) -> str:
        return self.label if self.label is not None else self.examples[0]


class Menu(_Strict):
    prompt: Text
    """Lists the keypad options ("Pour une attestation, tapez 1...")."""
    invalid: Text
    """Said when a digit selects nothing, before the prompt is repeated."""
    announce: bool = True
    """Say the prompt right after the greeting."""


class NoInput(_Strict):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Re-prompts after the 1st, 2nd... silence; the last one repeats."""
    max_count: int = Field(default=3, ge=1, le=10)
    """The ``max_count``-th silence in a row ends the call (``end``, goodbye, hang-up)."""
    end: Text | None = None
    """Said before the goodbye sentence when the call ends for silence."""


class NoMatch(_Strict):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Re-prompts after the 1st, 2nd... misunderstanding; the last one repeats."""
    max_count: int = Field(default=3, ge=1, le=10)
    """The ``max_count``-th misunderstanding in a row transfers to the default queue."""
    reason: Text = "not understood"


class Route(_Strict):
    """Queue for transfers needing a skill and/or a language; the first that fits wins."""

    queue: Name
    skill: Name | None = None
    language: Language | None = None


class DefaultTransfer(_Strict):
    queue: Name
    handover: Text
    """Said before any transfer that has no sentence of its own."""
    routes: tuple[Route, ...] = ()
    """Queues chosen by the intent's ``transfer.skill`` and ``transfer.language``."""


class Callback(_Strict):
    offer: Text
    """Yes/no question ("Souhaitez-vous qu'un conseiller vous rappelle ?"; 1 yes, 2 no)."""
    number_prompt: Text
    """Asks the phone number to call back (a ``phone`` slot, confirmed)."""
    done: Text
    """Said once the number is noted; may use ``${callback_number}``."""
    queue: Name | None = None
    """Where the callback request goes; the default transfer queue when absent."""


class OutOfHours(_Strict):
    message: Text
    """Says the opening hours ("Nos conseillers vous répondent du lundi au vendredi...")."""
    scope: Literal["transfers", "call"] = "transfers"
    """``transfers``: the bot answers around the clock and only a transfer meets the
    message; ``call``: the message follows the greeting and the call ends."""
    then: Literal["hangup", "callback"] = "hangup"
    """After the message: goodbye, or offer a callback (``callback`` section)."""
    callback: Callback | None = None


class BusinessHours(_Strict):
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


class Survey(_Strict):
    """End-of-call satisfaction question, when the caller is done (not on transfers)."""

    prompt: Text
    """"Notez ce service en tapant une note de 1 à 5." Spoken digits count too."""
    thanks: Text
    """Said after a score, before the goodbye sentence."""


class Clarify(_Strict):
    prompt: Text
    """Yes/no question when the match is unsure; may use ``$intent_label``."""
    on_no: Text
    """Said when the caller answers no; counts as a misunderstanding."""


class FollowUp(_Strict):
    prompt: Text
    """Said after each ``then: continue`` answer ("Puis-je vous aider pour autre chose ?")."""
    on_yes: Text
    """Said when the caller answers just yes ("Je vous écoute."). A bare no ends the call."""


class Matching(_Strict):
    high: float = Field(default=0.65, ge=0.0, le=1.0)
    """Confidence from which the best intent is answered directly."""
    low: float = Field(default=0.45, ge=0.0, le=1.0)
    """Confidence from which the bot asks whether it understood; below, no match."""


class Dialplan(_Strict):
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


class SlotWording(_Strict):
    """Sentences of slot capture that a slot does not set itself."""

    confirm_prompt: Text
    retry: Text
    no_input: Text
    refused: Text
    """Said when the caller answers no to the read-back, before the question again."""


BUILTIN_SLOT_WORDING = {
    "fr": SlotWording(
        confirm_prompt="J'ai noté ${value}, c'est bien ça ?",
        retry="Excusez-moi, je n'ai pas compris.",
        no_input="Je ne vous entends pas.",
        refused="D'accord, reprenons.",
    ),
    "en": SlotWording(
        confirm_prompt="I have ${value}, is that right?",
        retry="Sorry, I didn't get that.",
        no_input="I can't hear you.",
        refused="All right, let's try again.",
    ),
}
