"""Slot capture in whole dialogs: validation, read-back, correction, keypad, failures."""

from __future__ import annotations

import datetime as dt

import pytest

from callbot.dialplan import Ending, Hangup, Transfer, TurnOutcome
from callbot.dialplan.intents import BUILTIN_SLOT_WORDING, Slot, SlotNoInput
from callbot.dialplan.slots import Ask, Done, Failed, SlotCollector, Wait
from callbot.dialplan.validators.nir import nir_key
from tests.dialplan.flows import OPEN, engine_at, texts

PHONE = "je veux donner mon numéro de téléphone"
CARE = "je veux déclarer une date de soins"


class TestConfirmation:
    def test_read_back_then_yes(self) -> None:
        engine = engine_at(OPEN)
        first = engine.on_utterance(PHONE)
        assert first.intent == "rappel_numero"
        assert texts(first) == ["Très bien.", "Quel est votre numéro de téléphone ?"]
        heard = engine.on_utterance("zéro six douze trente-quatre cinquante-six soixante-dix-huit")
        assert heard.outcome is TurnOutcome.SLOT and heard.slots == ()
        assert texts(heard) == ["J'ai noté 06 12 34 56 78, c'est bien ça ?"]
        done = engine.on_utterance("oui c'est ça")
        assert done.slots == (("telephone", "0612345678"),)
        assert done.intent == "rappel_numero"
        assert texts(done) == ["Nous vous rappellerons au 06 12 34 56 78."]

    def test_correction_in_the_no(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        engine.on_utterance("06 12 34 56 78")
        again = engine.on_utterance("non, c'est 06 12 34 56 79")
        assert texts(again) == ["J'ai noté 06 12 34 56 79, c'est bien ça ?"]
        assert engine.on_utterance("oui").slots == (("telephone", "0612345679"),)

    def test_correction_without_no(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        engine.on_utterance("06 12 34 56 78")
        again = engine.on_utterance("zéro sept douze trente-quatre 56 78")
        assert texts(again) == ["J'ai noté 07 12 34 56 78, c'est bien ça ?"]

    def test_bare_no_asks_again(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        engine.on_utterance("06 12 34 56 78")
        turn = engine.on_utterance("non")
        assert texts(turn) == ["D'accord, reprenons.", "Quel est votre numéro de téléphone ?"]
        engine.on_utterance("07 12 34 56 78")
        assert engine.on_utterance("oui").slots == (("telephone", "0712345678"),)

    def test_keypad_answers_read_back(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        engine.on_utterance("06 12 34 56 78")
        assert engine.on_dtmf("5").actions == ()
        assert engine.on_dtmf("1").slots == (("telephone", "0612345678"),)


class TestValidation:
    def test_invalid_value_retries_then_hangs_up(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(CARE)
        retry = engine.on_utterance("je ne sais plus")
        assert texts(retry) == [
            "Excusez-moi, je n'ai pas compris.",
            "Quelle est la date des soins ?",
        ]
        last = engine.on_utterance("le 31 février")
        assert last.ended and last.actions[-1] == Hangup("slot not understood", Ending.UNRESOLVED)

    def test_silences_hang_up_as_no_input(self) -> None:
        """A slot given up after silences ends the call as no input, not as resolved."""
        engine = engine_at(OPEN)
        engine.on_utterance(CARE)
        turns = [engine.on_no_input() for _ in range(3)]
        last = next(turn for turn in turns if turn.ended)
        assert last.actions[-1] == Hangup("slot no input", Ending.NO_INPUT)

    def test_future_date_refused_for_past_slot(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(CARE)
        assert engine.on_utterance("demain").slots == ()

    def test_two_slots_then_templated_answer(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(CARE)
        turn = engine.on_utterance("avant-hier")
        assert turn.slots == (("date_soins", "2025-03-10"),)
        assert texts(turn) == ["Quel montant avez-vous payé ?"]
        done = engine.on_utterance("trente-deux euros cinquante")
        assert done.slots == (("montant", "32.50"),)
        assert texts(done) == ["Soins du 10 mars 2025 pour 32 euros 50, c'est noté."]
        assert engine.state.slots["date_soins"].value == "2025-03-10"

    def test_failure_transfers_by_default(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        for _ in range(2):
            assert not engine.on_utterance("je ne sais pas").ended
        last = engine.on_utterance("aucune idée")
        transfer = last.actions[-1]
        assert isinstance(transfer, Transfer) and last.ended
        assert transfer.reason == "slot telephone not understood"


class TestNir:
    """The NIR of the ``suivi_remboursement`` intent, said or keyed."""

    REQUEST = "où en est mon remboursement"

    def test_a_wrong_key_is_named(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(self.REQUEST)
        turn = engine.on_utterance("1 85 05 78 006 084 92")  # the key is 91
        assert texts(turn) == [
            "La clé ne correspond pas à ce numéro : un des chiffres est sans doute erroné.",
            "Votre numéro de sécurité sociale ?",
        ]
        heard = engine.on_utterance("1 85 05 78 006 084 91")
        assert texts(heard) == ["J'ai noté 1 85 05 78 006 084, clé 91, c'est bien ça ?"]

    def test_a_wrong_key_typed_is_named_too(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(self.REQUEST)
        for key in "18505780060849":
            assert engine.on_dtmf(key).actions == ()
        turn = engine.on_dtmf("2")  # the 15th key ends the entry
        assert texts(turn)[0].startswith("La clé ne correspond pas à ce numéro")

    def test_what_is_no_nir_at_all_is_not_understood(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(self.REQUEST)
        turn = engine.on_utterance("je ne sais plus")
        assert texts(turn)[0] == "Excusez-moi, je n'ai pas compris."

    @pytest.mark.parametrize("dept", ["2A", "2B"])
    def test_corsica_keyed_as_2_0(self, dept: str) -> None:
        first13 = f"19003{dept}12345678"[:13]
        key = f"{nir_key(first13):02d}"
        engine = engine_at(OPEN)
        engine.on_utterance(self.REQUEST)
        for digit in f"{first13[:5]}20{first13[7:]}{key}":
            turn = engine.on_dtmf(digit)
        assert texts(turn) == [
            f"J'ai noté 1 90 03 {dept} {first13[7:10]} {first13[10:13]}, clé {key}, c'est bien ça ?"
        ]
        assert engine.on_dtmf("1").slots == (("nir", f"{first13}{key}"),)


class TestKeypad:
    def test_digits_then_hash(self) -> None:
        engine = engine_at(OPEN)
        engine.on_dtmf("4")  # menu digit of date_soins
        for key in "150325":
            assert engine.on_dtmf(key).actions == ()
        turn = engine.on_dtmf("#")
        assert (
            turn.slots == ()
        )  # 15 March is in the future and texts(turn)[0] == "Excusez-moi, je n'ai pas compris."
        for key in "100325#":
            turn = engine.on_dtmf(key)
        assert turn.slots == (("date_soins", "2025-03-10"),)
        for key in "32*5#":
            turn = engine.on_dtmf(key)
        assert turn.slots == (("montant", "32.50"),)

    def test_fixed_length_completes_without_hash(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        for key in "061234567":
            engine.on_dtmf(key)
        assert texts(engine.on_dtmf("8")) == ["J'ai noté 06 12 34 56 78, c'est bien ça ?"]

    def test_star_starts_over(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        for key in "0699*061234567":
            engine.on_dtmf(key)
        assert texts(engine.on_dtmf("8")) == ["J'ai noté 06 12 34 56 78, c'est bien ça ?"]

    def test_silence_ends_a_keypad_entry(self) -> None:
        engine = engine_at(OPEN)
        engine.on_dtmf("4")
        for key in "100325":
            engine.on_dtmf(key)
        assert engine.on_no_input().slots == (("date_soins", "2025-03-10"),)


class TestSilence:
    def test_builtin_reprompt_then_failure(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        first = engine.on_no_input()
        assert texts(first) == ["Je ne vous entends pas.", "Quel est votre numéro de téléphone ?"]
        assert isinstance(engine.on_no_input().actions[-1], Transfer)

    def test_read_back_repeated_after_silence(self) -> None:
        engine = engine_at(OPEN)
        engine.on_utterance(PHONE)
        engine.on_utterance("06 12 34 56 78")
        assert texts(engine.on_no_input())[-1] == "J'ai noté 06 12 34 56 78, c'est bien ça ?"


class TestCollector:
    """The collector alone, with a per-slot silence policy."""

    @pytest.fixture
    def collector(self) -> SlotCollector:
        slot = Slot(
            name="code",
            type="postcode",
            prompt="Votre code postal ?",
            no_input=SlotNoInput(prompts=("Allô ?",), max_count=3),
            dtmf=False,
        )
        return SlotCollector(
            [slot],
            BUILTIN_SLOT_WORDING["fr"],
            language="fr-FR",
            today=dt.date(2025, 3, 12),
            variables={},
        )

    def test_policy(self, collector: SlotCollector) -> None:
        assert collector.begin() == ("Votre code postal ?",)
        assert collector.on_silence() == Ask(("Allô ?", "Votre code postal ?"))
        assert collector.on_silence() == Ask(("Allô ?", "Votre code postal ?"))
        assert collector.on_silence() == Failed("code", "no input")

    def test_keypad_off(self, collector: SlotCollector) -> None:
        assert collector.on_key("7") == Wait()
        assert collector.on_text("soixante-quinze zéro quinze") == Done((("code", "75015"),))
        assert collector.values["code"].value == "75015"

    def test_needs_slots(self) -> None:
        with pytest.raises(ValueError):
            SlotCollector([], BUILTIN_SLOT_WORDING["fr"], language="fr-FR", today=dt.date.today(),
                          variables={})  # fmt: skip


def test_slot_given_once_serves_later_intents() -> None:
    engine = engine_at(OPEN)
    engine.on_utterance(PHONE)
    engine.on_utterance("06 12 34 56 78")
    engine.on_utterance("oui")
    again = engine.on_utterance(PHONE)
    assert texts(again) == ["Nous vous rappellerons au 06 12 34 56 78."]


def test_now_may_be_a_clock() -> None:
    from callbot.dialplan import DialogEngine
    from tests.dialplan.flows import flows

    engine = DialogEngine(flows(), now=lambda: dt.datetime(2025, 3, 12, 9, 0, tzinfo=dt.UTC))
    engine.start()
    engine.on_utterance(CARE)
    assert engine.on_utterance("hier").slots == (("date_soins", "2025-03-11"),)
