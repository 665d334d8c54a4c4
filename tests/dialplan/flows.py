"""A dialplan using every engine feature (slots, hook, hours, routes, survey), for tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from callbot.dialplan import DialogEngine, Dialplan, Say, parse_dialplan
from tests.dialplan.conftest import MINIMAL_YAML

PARIS = ZoneInfo("Europe/Paris")
OPEN = dt.datetime(2025, 3, 12, 10, 0, tzinfo=PARIS)
"""A Wednesday morning: agents answer."""
NIGHT = dt.datetime(2025, 3, 12, 22, 0, tzinfo=PARIS)
BASTILLE_DAY = dt.datetime(2025, 7, 14, 10, 0, tzinfo=PARIS)
EASTER_MONDAY = dt.datetime(2025, 4, 21, 10, 0, tzinfo=PARIS)

NIR = "185057800608491"
"""A NIR with a correct key (91)."""

FLOWS_YAML = (
    MINIMAL_YAML.replace(
        "  queue: agents\n",
        "  queue: agents\n"
        "  routes:\n"
        "    - {skill: indemnites, queue: agents-ij}\n"
        "    - {language: en-US, queue: agents-en}\n",
    )
    + """\
  - id: rappel_numero
    examples: [je veux donner mon numéro de téléphone]
    intro: Très bien.
    slots:
      - name: telephone
        type: phone
        prompt: Quel est votre numéro de téléphone ?
        confirm: true
    answer: Nous vous rappellerons au ${telephone}.
  - id: date_soins
    examples: [je veux déclarer une date de soins]
    dtmf: 4
    slots:
      - name: date_soins
        type: date
        when: past
        prompt: Quelle est la date des soins ?
        max_attempts: 2
        on_failure: hangup
      - name: montant
        type: amount
        prompt: Quel montant avez-vous payé ?
    answer: Soins du ${date_soins} pour ${montant}, c'est noté.
  - id: suivi_remboursement
    examples: [où en est mon remboursement]
    slots:
      - name: nir
        type: nir
        prompt: Votre numéro de sécurité sociale ?
        confirm: true
      - name: naissance
        type: date
        when: past
        prompt: Votre date de naissance ?
    hook: remboursement
    answer: Votre remboursement de ${montant} est ${statut} depuis le ${date}.
  - id: indemnites
    examples: [mes indemnités journalières ne sont pas payées]
    then: transfer
    transfer: {skill: indemnites, reason: indemnités journalières}
  - id: english
    examples: [do you speak english]
    then: transfer
    transfer: {language: en-US}
  - id: au_revoir
    examples: [merci au revoir]
    then: hangup
    answer: Merci.
  - id: conseiller
    examples: [je veux parler à un conseiller]
    dtmf: 0
    then: transfer
hooks:
  - id: remboursement
    url: http://127.0.0.1:9/remboursements/${nir}
    send: [nir, naissance]
    requires: [nir, naissance]
    timeout_s: 2
    wait: Je consulte votre dossier.
    fields: {montant: paiement.montant, statut: statut, date: paiement.date}
    fallback: Je ne peux pas consulter votre dossier pour le moment.
    not_found: Je ne trouve pas de dossier à ce nom.
hours:
  monday: ["08:30-17:30"]
  tuesday: ["08:30-17:30"]
  wednesday: ["08:30-12:00", "13:30-17:30"]
  thursday: ["08:30-17:30"]
  friday: ["08:30-17:30"]
  closed_dates: [2025-12-24]
  out_of_hours:
    message: Nos conseillers répondent du lundi au vendredi de 8 h 30 à 17 h 30.
    then: callback
    callback:
      offer: Souhaitez-vous être rappelé ?
      number_prompt: À quel numéro ?
      done: Un conseiller vous rappellera au ${callback_number}.
      queue: rappels
survey:
  prompt: Notez ce service de 1 à 5 sur votre clavier.
  thanks: Merci pour votre note.
"""
)


def flows(**replace: str) -> Dialplan:
    text = FLOWS_YAML
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_dialplan(text, "flows.yaml")


def engine_at(when: dt.datetime, dialplan: Dialplan | None = None) -> DialogEngine:
    engine = DialogEngine(dialplan or flows(), {"call_id": "t-1"}, now=when)
    engine.start()
    return engine


def texts(actions: object) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]  # type: ignore[attr-defined]
