"""Recognition bias: the vocabulary taken from a dialplan, and Whisper hearing it."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from callbot.dialplan import load_dialplan
from callbot.errors import ConfigError
from callbot.speech.asr import WhisperAsr
from callbot.speech.bias import MAX_CHARS, MODES, IntentWords, Vocabulary, build_vocabulary
from callbot.speech.settings import AsrSettings
from tests.conftest import bot_settings, speech_16k
from tests.speech.test_asr import phone_line, plain

DIALPLANS = sorted((Path(__file__).parents[2] / "dialplans").glob("*.yaml"))

INTENTS = [
    IntentWords(
        "la clé de récupération BitLocker",
        (
            "mon ordinateur demande une clé bitlocker",
            "écran de récupération au démarrage",
            "la récupération du disque",
        ),
    ),
    IntentWords(
        "votre problème de VPN",
        ("le VPN ne se connecte pas", "Comment configurer le VPN", "le vé pé enne"),
    ),
    IntentWords(None, ("mon ordinateur ne démarre pas", "le PC est en panne")),
]


def vocabulary_of(path: Path) -> Vocabulary:
    plan = load_dialplan(path)
    return build_vocabulary((IntentWords(i.label, i.examples) for i in plan.intents), "fr-FR")


def test_acronyms_and_names_first_then_the_words_of_one_intent() -> None:
    vocabulary = build_vocabulary(INTENTS, "fr-FR")
    assert vocabulary.language == "fr"
    assert vocabulary.labels == ("la clé de récupération BitLocker", "votre problème de VPN")
    # Acronyms (two capitals or a digit) before names, each as the dialplan writes it.
    assert vocabulary.terms[:3] == ("VPN", "BitLocker", "PC")
    assert "récupération" in vocabulary.terms  # a label word of one intent
    assert "Comment" not in vocabulary.terms  # a capital that only opens a sentence
    assert "ordinateur" not in vocabulary.terms  # said by two intents: tells nothing
    assert "enne" not in vocabulary.terms  # a misspelling said once


def test_each_mode_writes_its_own_text() -> None:
    vocabulary = build_vocabulary(INTENTS, "fr")
    assert vocabulary.text("off", 300) == ""
    assert vocabulary.text("hotwords", 300).startswith("VPN, BitLocker, PC, ")
    assert "la clé" not in vocabulary.text("hotwords", 300)
    # The labels, then the rare words they do not already say, as sentences.
    assert vocabulary.text("prompt", 300) == (
        "La clé de récupération BitLocker, votre problème de VPN. PC."
    )
    # The bound keeps whole words, the most telling first.
    assert vocabulary.text("hotwords", 20) == "VPN, BitLocker, PC"
    assert vocabulary.text("prompt", 70) == "La clé de récupération BitLocker. VPN, PC, problème."
    with pytest.raises(ValueError, match="bias mode"):
        vocabulary.text("loud", 300)


@pytest.mark.parametrize("path", DIALPLANS, ids=lambda p: p.stem)
def test_shipped_dialplans_give_a_bounded_and_deterministic_text(path: Path) -> None:
    first, again = vocabulary_of(path), vocabulary_of(path)
    assert first == again
    for mode in MODES[1:]:
        for max_chars in (100, 300, MAX_CHARS):
            text = first.text(mode, max_chars)
            assert max_chars * 0.6 < len(text) <= max_chars, (mode, text)
            assert text == again.text(mode, max_chars)


def test_the_helpdesk_vocabulary_holds_its_rare_words() -> None:
    terms = vocabulary_of(DIALPLANS[0].parent / "helpdesk-fr.yaml").text("hotwords", 300)
    for word in ("BitLocker", "VPN", "Teams", "Outlook", "hameçonnage", "habilitation"):
        assert word in terms


def test_an_unknown_mode_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=r"asr\.bias"):
        AsrSettings(bias="always")
    with pytest.raises(ConfigError, match=r"asr\.bias_max_chars"):
        AsrSettings(bias_max_chars=MAX_CHARS + 1)


def spelled(*letters: str) -> np.ndarray:
    """Letters said one by one by the real recorded voice of the Asterisk prompts."""
    gap = np.zeros(1920, dtype=np.int16)  # 120 ms
    parts = [speech_16k(f"letters/{letter}") for letter in letters]
    return phone_line(np.concatenate([parts[0], gap, parts[1]]))


async def test_the_dialplan_words_reach_whisper(models_dir: Path) -> None:
    """The real recorded letters "P", "C": without bias Whisper writes two letters;
    with the dialplan's words in its prompt, the acronym the dialplan writes."""
    audio = spelled("p", "c")
    vocabulary = build_vocabulary(INTENTS, "fr-FR")
    expected = {
        "off": (None, None),
        "hotwords": (None, vocabulary.text("hotwords", 300)),
        "prompt": (f"Support informatique. {vocabulary.text('prompt', 300)}", None),
    }
    said = {}
    for mode, bias in expected.items():
        initial = "Support informatique." if mode == "prompt" else None
        settings = AsrSettings(
            model_dir=models_dir / "whisper-base", bias=mode, initial_prompt=initial
        )
        asr = WhisperAsr.load(settings)
        try:
            asr.use_vocabulary(vocabulary)
            assert asr.bias("fr") == bias
            assert asr.bias("en") == (initial, None)  # another language's utterance: no bias
            said[mode] = plain((await asr.transcribe(audio, "fr")).text).split()
        finally:
            asr.close()
    assert said["off"] == ["p", "c"], said
    assert said["hotwords"] == ["pc"], said
    assert said["prompt"] == ["pc"], said


async def test_a_reloaded_dialplan_biases_the_next_utterances(
    models_dir: Path, tmp_path: Path
) -> None:
    """The app gives Whisper the loaded dialplan's words, and a hot reload its new ones."""
    from callbot.app.service import Engines

    line = tmp_path / "helpdesk-fr.yaml"
    text = (DIALPLANS[0].parent / "helpdesk-fr.yaml").read_text(encoding="utf-8")
    line.write_text(text, encoding="utf-8")
    settings = bot_settings(models_dir, line, asr={"bias": "hotwords", "bias_max_chars": 100})
    engines = await asyncio.to_thread(Engines.load, settings)
    try:
        assert "BitLocker" in (engines.asr.bias("fr")[1] or "")
        line.write_text(text.replace("BitLocker", "FileVault"), encoding="utf-8")
        watch = asyncio.create_task(engines.dialplans.watch(0.05, on_reload=engines.prepare))
        try:
            async with asyncio.timeout(10):
                while "FileVault" not in (engines.asr.bias("fr")[1] or ""):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            watch.cancel()
        assert "BitLocker" not in (engines.asr.bias("fr")[1] or "")
    finally:
        engines.asr.close()


async def test_a_long_bias_does_not_cut_the_transcript_short(models_dir: Path) -> None:
    """CTranslate2 counts the prompt in the generation limit: the bias's tokens come on
    top of the utterance's own budget, or a 7 s prompt lost its second half."""
    settings = AsrSettings(
        model_dir=models_dir / "whisper-base", bias="hotwords", bias_max_chars=MAX_CHARS
    )
    asr = WhisperAsr.load(settings)
    try:
        asr.use_vocabulary(vocabulary_of(DIALPLANS[0].parent / "assurance-maladie.yaml"))
        assert len(asr.bias("fr")[1] or "") > MAX_CHARS - 60
        # "Composez le nouveau numéro de poste suivi du dièse ou, pour un service
        # immédiat, appuyez sur dièse dès maintenant."
        said = plain((await asr.transcribe(phone_line(speech_16k("agent-newlocation")))).text)
    finally:
        asr.close()
    assert said.split()[-1] == "maintenant", said
