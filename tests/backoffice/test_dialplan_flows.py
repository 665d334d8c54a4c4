"""Conversations on the shipped health-insurance dialplan with the sample back-office
answering over loopback: the identity check by keypad or speech, then a personal
answer; and what the caller hears when the identity, the header or the time is wrong.

The engine is driven with strings and keys; each ``Fetch`` it asks for is carried out
by the bot's own hook client (:class:`callbot.dialplan.backoffice.BackOffice`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from callbot.backoffice.server import BackgroundBackoffice, sample_app
from callbot.dialplan import DialogEngine, Fetch, Hangup, Say, TurnResult, load_dialplan
from callbot.dialplan.backoffice import BackOffice
from tests.backoffice.conftest import ASSURANCE, CAMILLE, SACHA, TOKEN, pointed_at
from tests.dialplan.flows import OPEN

FOLLOW_UP = "Puis-je vous aider pour autre chose ?"
REIMBURSEMENT = (
    "Pour une consultation chez un médecin généraliste du 5 octobre 2026, votre "
    "remboursement est de 21 euros. Le 9 octobre 2026 : paiement envoyé à votre banque."
)
ALLOWANCE = (
    "Votre dernier versement d'indemnités journalières, 576 euros 80, date du "
    "14 octobre 2026. Le prochain est prévu le 28 octobre 2026."
)


class Call:
    """One call on the shipped dialplan; a turn that asks the back-office is completed
    with its reply, as the pipeline does."""

    def __init__(self, office: BackgroundBackoffice, client: BackOffice, **options: float) -> None:
        plan = pointed_at(load_dialplan(ASSURANCE), office.url, **options)
        self.engine = DialogEngine(plan, {"call_id": "backoffice-1"}, now=OPEN)
        self.client = client
        self.said: list[str] = [s.text for s in self.engine.start().actions if isinstance(s, Say)]

    async def turn(self, event: TurnResult) -> list[str]:
        said = []
        while True:
            said += [a.text for a in event.actions if isinstance(a, Say)]
            last = event.actions[-1] if event.actions else None
            if not isinstance(last, Fetch):
                self.last = event
                return said
            event = self.engine.on_hook_result(await self.client.fetch(last))

    async def say(self, text: str) -> list[str]:
        return await self.turn(self.engine.on_utterance(text))

    async def keys(self, keys: str) -> list[str]:
        said: list[str] = []
        for key in keys:
            said += await self.turn(self.engine.on_dtmf(key))
        return said


@pytest.fixture
async def client() -> AsyncIterator[BackOffice]:
    office = BackOffice(headers={"Authorization": TOKEN})
    yield office
    await office.aclose()


def keyed(born: str) -> str:
    """``1985-06-12`` as keyed: ``12061985#``."""
    year, month, day = born.split("-")
    return f"{day}{month}{year}#"


def joined(said: Sequence[str]) -> str:
    return " ".join(said)


async def test_by_keypad_the_reimbursement_then_the_allowance_without_asking_again(
    backoffice: BackgroundBackoffice, client: BackOffice
) -> None:
    call = Call(backoffice, client)
    nir, born = CAMILLE
    said = await call.keys("3")
    assert "vérifier votre identité" in joined(said) and "quinze chiffres" in joined(said)
    said = await call.keys(nir)  # fifteen digits end the entry by themselves
    assert said == ["J'ai noté 2 85 06 75 999 001, clé 16, c'est bien ça ?"]
    said = await call.keys("1")
    assert "date de naissance" in joined(said)
    said = await call.keys(keyed(born))
    assert said == ["Je consulte votre dossier, un instant.", REIMBURSEMENT, FOLLOW_UP]
    # The identity is known for the rest of the call: no question before the request.
    said = await call.say("et quand seront payées mes indemnités journalières")
    assert said == ["Je consulte votre dossier, un instant.", ALLOWANCE, FOLLOW_UP]
    said = await call.say("non merci")
    assert said == ["Avant de raccrocher, notez ce service de 1 à 5 sur votre clavier."]
    await call.keys("5")
    assert call.engine.ended and call.last.survey_score == 5
    assert isinstance(call.last.actions[-1], Hangup)


async def test_by_speech_the_allowance(
    backoffice: BackgroundBackoffice, client: BackOffice
) -> None:
    call = Call(backoffice, client)
    said = await call.say("je n'ai pas reçu mes indemnités journalières")
    assert "quatorze jours" in joined(said)
    said = await call.say("2 85 06 75 999 001 16")
    assert said[-1].endswith("clé 16, c'est bien ça ?")
    await call.say("oui c'est ça")
    said = await call.say("le 12 juin 1985")
    assert said == ["Je consulte votre dossier, un instant.", ALLOWANCE, FOLLOW_UP]


async def test_a_birth_date_that_is_not_theirs_finds_nothing(
    backoffice: BackgroundBackoffice, client: BackOffice
) -> None:
    call = Call(backoffice, client)
    await call.keys("3" + CAMILLE[0] + "1")
    said = await call.keys(keyed("1985-06-13"))
    assert said[1].startswith("Je ne trouve pas de remboursement pour ce numéro")
    assert said[-1] == FOLLOW_UP and not call.engine.ended
    assert "21 euros" not in joined(said)


async def test_nothing_to_tell(backoffice: BackgroundBackoffice, client: BackOffice) -> None:
    call = Call(backoffice, client)
    await call.keys("4" + SACHA[0] + "1")
    said = await call.keys(keyed(SACHA[1]))
    assert said[1].startswith("Je ne trouve pas d'indemnités en cours")


async def test_without_the_header_the_fallback(backoffice: BackgroundBackoffice) -> None:
    anonymous = BackOffice()
    try:
        call = Call(backoffice, anonymous)
        await call.keys("3" + CAMILLE[0] + "1")
        said = await call.keys(keyed(CAMILLE[1]))
    finally:
        await anonymous.aclose()
    assert said[1].startswith("Je ne peux pas consulter votre dossier pour le moment")
    assert said[-1] == FOLLOW_UP


async def test_a_slow_back_office_gets_the_fallback_in_time(
    tmp_path: Path, client: BackOffice
) -> None:
    app = sample_app(tmp_path / "office.sqlite3", authorization=TOKEN, latency_s=2.0)
    with BackgroundBackoffice(app) as slow:
        call = Call(slow, client, timeout_s=0.3)
        await call.keys("3" + CAMILLE[0] + "1")
        said = await call.keys(keyed(CAMILLE[1]))
    assert said[1].startswith("Je ne peux pas consulter votre dossier pour le moment")
