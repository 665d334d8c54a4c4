"""Manifest validation, WAV reading, and deterministic regeneration of the shipped corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from callbot.audio.wavfile import read_wav, ulaw_wav_bytes
from callbot.errors import ConfigError
from callbot.loadtest.build import build_corpus, digit_words
from callbot.loadtest.corpus import load_corpus, trim_trailing_silence
from callbot.simulator.script import DtmfTurn, SilenceTurn, SpeechTurn

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "audio" / "corpus" / "manifest.yaml"
DIALPLAN = REPO / "tests" / "pipeline" / "dialplans" / "call-fr.yaml"


def write_manifest(tmp_path: Path, calls: object, **top: object) -> Path:
    path = tmp_path / "manifest.yaml"
    doc = {"version": 1, "dialplan": str(DIALPLAN), "calls": calls, **top}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def speech(text: str = "mot de passe", **extra: object) -> dict[str, object]:
    return {"text": text, "make": {"recordings": ["fr_CA_f_June/vm-password"]}, **extra}


def test_shipped_manifest_is_valid_and_large_enough() -> None:
    corpus = load_corpus(MANIFEST)
    assert len(corpus.calls) >= 40
    assert corpus.dialplan_path == (REPO / "audio" / "corpus" / "dialplan.yaml").resolve()
    kinds = {t.kind for c in corpus.calls for t in c.turns}
    assert kinds == {"speech", "dtmf"}
    assert any(c.noise_snr_db for c in corpus.calls)
    assert any(t.barge_in_s is not None for c in corpus.calls for t in c.turns)
    sources = {
        "tts" if t.make.tts else "digits" if t.make.digits else "recordings"
        for c in corpus.calls
        for t in c.turns
        if t.make is not None
    }
    assert sources == {"tts", "digits", "recordings"}


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        ([{"id": "a", "outcome": "answered", "turns": [speech(intent="nope")]}], "'nope' is not"),
        ([{"id": "a", "outcome": "answered", "turns": []}], "calls.0.turns"),
        ([{"id": "a", "outcome": "maybe", "turns": [speech()]}], "calls.0.outcome"),
        ([{"id": "a", "outcome": "answered", "turns": [{"dtmf": 3}]}], "calls.0.turns.0.dtmf"),
        (
            [{"id": "a", "outcome": "answered", "turns": [speech(dtmf="1")]}],
            "exactly one of speech",
        ),
        (
            [{"id": "a", "outcome": "answered", "turns": [{"dtmf": "1", "barge_in_s": 1}]}],
            "only speech can barge in",
        ),
        (
            [{"id": "a", "outcome": "answered", "turns": [{"make": {"tts": "fr"}}]}],
            "give text",
        ),
        (
            [
                {
                    "id": "a",
                    "outcome": "answered",
                    "turns": [speech(make={"digits": "1", "tts": "fr"})],
                }
            ],
            "exactly one of tts",
        ),
        (
            [
                {"id": "a", "outcome": "answered", "turns": [speech()]},
                {"id": "a", "outcome": "answered", "turns": [speech()]},
            ],
            "appears twice",
        ),
        ([{"id": "a", "outcome": "answered", "turns": [speech()], "extra": 1}], "calls.0.extra"),
    ],
)
def test_invalid_manifests_are_refused(tmp_path: Path, calls: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_corpus(write_manifest(tmp_path, calls))


def test_missing_dialplan_is_refused(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, [{"id": "a", "outcome": "answered", "turns": [speech()]}])
    path.write_text(path.read_text().replace(str(DIALPLAN), "nowhere.yaml"))
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_corpus(path)


def test_missing_wav_without_recipe_is_reported(tmp_path: Path) -> None:
    turn = {"text": "bonjour", "audio": "mine.wav"}
    corpus = load_corpus(
        write_manifest(tmp_path, [{"id": "a", "outcome": "answered", "turns": [turn]}])
    )
    with pytest.raises(ConfigError, match=r"mine\.wav: missing"):
        build_corpus(corpus)


def test_script_of_a_call(tmp_path: Path) -> None:
    turns = [
        {"silence_s": 1.5},
        speech(intent="mot_de_passe", barge_in_s=2.0, gap_s=0.5),
        {"dtmf": "0"},
    ]
    path = write_manifest(tmp_path, [{"id": "a", "outcome": "transferred", "turns": turns}])
    corpus = load_corpus(path)
    assert build_corpus(corpus) == 1
    assert build_corpus(corpus) == 0  # only missing files are made
    silence, said, keys = corpus.turns(corpus.calls[0])
    assert silence == SilenceTurn(1.5)
    assert keys == DtmfTurn("0")
    assert isinstance(said, SpeechTurn)
    assert (said.reference, said.barge_in_s, said.sample_rate_hz) == ("mot de passe", 2.0, 16000)
    assert not said.pcm[:8000].any()  # gap_s of silence first
    assert said.pcm.size > 8000 + 16000  # the ~1.1 s recording follows


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_corpus_generation_is_deterministic(tmp_path: Path) -> None:
    corpus = load_corpus(MANIFEST)
    digests = []
    for name in ("one", "two"):
        corpus.manifest = corpus.manifest.model_copy(update={"audio_dir": str(tmp_path / name)})
        build_corpus(corpus, force=True)
        digests.append(_digests(tmp_path / name))
    assert digests[0] == digests[1]
    speech_turns = sum(t.kind == "speech" for c in corpus.calls for t in c.turns)
    assert len(digests[0]) == speech_turns
    pcm, rate = read_wav(tmp_path / "one" / "01-attestation-droits-1.wav")
    assert rate == 8000 and pcm.size > 8000


def test_ulaw_wav_round_trip(tmp_path: Path) -> None:
    pcm = (np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)
    path = tmp_path / "tone.wav"
    path.write_bytes(ulaw_wav_bytes(pcm))
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[20:22] == b"\x07\x00"  # WAVE_FORMAT_MULAW
    back, rate = read_wav(path)
    assert rate == 8000
    assert np.abs(back.astype(int) - pcm).max() < 300  # μ-law quantisation only


def test_trailing_silence_is_trimmed() -> None:
    tone = (np.sin(np.arange(3200) / 3) * 5000).astype(np.int16)
    pcm = np.concatenate([tone, np.zeros(4800, dtype=np.int16)])
    assert trim_trailing_silence(pcm).size == 3200


@pytest.mark.parametrize(
    ("group", "words"),
    [
        ("7", ["7"]),
        ("06", ["0", "6"]),
        ("12", ["12"]),
        ("34", ["30", "4"]),
        ("21", ["20", "et", "1"]),
        ("75", ["60", "15"]),
        ("80", ["80"]),
        ("93", ["80", "13"]),
        ("123", ["1", "2", "3"]),
    ],
)
def test_digit_groups_use_french_number_names(group: str, words: list[str]) -> None:
    assert digit_words(group) == words
