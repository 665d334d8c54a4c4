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

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

TEXT_PATTERN = r"\S"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DIGIT_PATTERN = r"^[0-9*#A-D]$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"

Text = Annotated[str, Field(min_length=1, pattern=TEXT_PATTERN)]
"""A sentence the bot says; may use ``$variables`` (see :mod:`callbot.dialplan.templates`)."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=80)]
"""An identifier: intent id, queue name."""


def _digit_from_yaml(value: object) -> object:
    """Let ops write ``dtmf: 1`` (a YAML int) as well as ``dtmf: "1"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Digit = Annotated[str, BeforeValidator(_digit_from_yaml), Field(pattern=DIGIT_PATTERN)]

Then = Literal["continue", "hangup", "transfer"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class IntentTransfer(_Strict):
    queue: Name | None = None
    """Queue to hand the call to; the dialplan's default queue when absent."""
    reason: Text | None = None
    """Reason recorded with the transfer; ``intent <id>`` when absent."""


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


class DefaultTransfer(_Strict):
    queue: Name
    handover: Text
    """Said before any transfer that has no sentence of its own."""


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
