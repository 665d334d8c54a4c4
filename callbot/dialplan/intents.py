"""The intent part of a dialplan file: intents, the slots they ask, their back-office hooks.

See :mod:`callbot.dialplan.model` for the file as a whole and the departure from the
house style (frozen pydantic models rather than dataclasses).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from callbot.dialplan.fields import (
    URL_PATTERN,
    Digit,
    Language,
    Name,
    ReplyFields,
    StrictModel,
    Text,
    Then,
    Variable,
)
from callbot.dialplan.validators import SlotType


class IntentTransfer(StrictModel):
    queue: Name | None = None
    """Queue to hand the call to; else chosen by ``skill`` and ``language`` among
    ``transfer.routes``; else the dialplan's default queue."""
    reason: Text | None = None
    """Reason recorded with the transfer; ``intent <id>`` when absent."""
    skill: Name | None = None
    """Skill the agent needs (``indemnites``, ``reseau``); picks a route."""
    language: Language | None = None
    """Language the agent must speak; the dialplan's language when absent."""


class SlotNoInput(StrictModel):
    prompts: tuple[Text, ...] = Field(min_length=1)
    """Said after the 1st, 2nd... silence, before the question again; the last one repeats."""
    max_count: int = Field(default=2, ge=1, le=10)
    """The ``max_count``-th silence in a row gives up on the slot (``on_failure``)."""


class Slot(StrictModel):
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


class Hook(StrictModel):
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
    amounts: tuple[Variable, ...] = ()
    """Fields that are sums in euros, said "12 euros 50" ("12.50 euros" in English) rather
    than a bare "12,50"; a reply where one is not a number (0 or more) is malformed."""
    fallback: Text
    """Said when the back-office times out, fails (5xx, network) or replies malformed."""
    not_found: Text | None = None
    """Said when it answers 404 or 403 (no file for this identity); ``fallback`` if absent."""
    on_failure: Literal["continue", "transfer"] = "transfer"
    """After the fallback sentence: hand over to an agent, or go on (follow-up question)."""


class Intent(StrictModel):
    id: Name
    examples: tuple[Text, ...] = Field(min_length=1)
    """Ways a caller may say it; more and more varied examples match better."""
    negative_examples: tuple[Text, ...] = ()
    """Phrasings that share this intent's words but ask something else ("je n'ai jamais
    reçu ma carte Vitale" for a lost card): when one fits what the caller said better
    than the examples do, this intent is held back."""
    label: Text | None = None
    """Noun phrase naming the request, for the clarification question ("votre
    attestation de droits", "le suivi de vos remboursements": "parler de le suivi" is
    said "parler du suivi"); the first example when absent (``dialplan check`` warns)."""
    answer: Text | None = None
    """What the bot says; when absent, ``then: transfer`` says the default handover and
    ``then: hangup`` the goodbye sentence."""
    details: Text | None = None
    """The rest of a long answer, said only to a caller who wants it: after ``answer``
    the bot asks the dialplan's "more details?" question (``more_details``); yes (or key
    1) says ``details``, then the call goes on as after any answer. Needs ``answer`` and
    ``then: continue``; may use what ``answer`` may."""
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


class SlotWording(StrictModel):
    """Sentences of slot capture that a slot does not set itself."""

    confirm_prompt: Text
    retry: Text
    no_input: Text
    refused: Text
    """Said when the caller answers no to the read-back, before the question again."""
    wrong_key: Text
    """Said when a NIR's key does not fit its digits, before the question again."""


BUILTIN_SLOT_WORDING = {
    "fr": SlotWording(
        confirm_prompt="J'ai noté ${value}, c'est bien ça ?",
        retry="Excusez-moi, je n'ai pas compris.",
        no_input="Je ne vous entends pas.",
        refused="D'accord, reprenons.",
        wrong_key="La clé ne correspond pas à ce numéro : un des chiffres est sans doute erroné.",
    ),
    "en": SlotWording(
        confirm_prompt="I have ${value}, is that right?",
        retry="Sorry, I didn't get that.",
        no_input="I can't hear you.",
        refused="All right, let's try again.",
        wrong_key="The key does not match that number: one of the digits is probably wrong.",
    ),
}
