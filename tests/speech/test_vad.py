"""End-of-turn detection on real recorded French speech."""

import numpy as np

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.speech.vad import (
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    TurnDetector,
    VadSettings,
)
from tests.conftest import speech_16k

SILENCE_1S = np.zeros(PIPELINE_RATE_HZ, dtype=np.int16)


def run(detector: TurnDetector, pcm: np.ndarray, chunk: int = 320) -> list:
    events = []
    for start in range(0, pcm.size, chunk):
        events.extend(detector.feed(pcm[start : start + chunk]))
    return events


def test_one_utterance_gives_one_start_and_one_end() -> None:
    speech = speech_16k("agent-pass")  # "Composez votre mot de passe suivi du dièse."
    events = run(TurnDetector(VadSettings()), np.concatenate([SILENCE_1S, speech, SILENCE_1S]))
    kinds = [type(e) for e in events if not isinstance(e, SpeechPaused)]
    assert kinds == [SpeechStarted, SpeechEnded]
    events = [e for e in events if not isinstance(e, SpeechPaused)]
    start, end = events
    assert 0.9 <= start.at_sample / PIPELINE_RATE_HZ <= 1.4
    # The end of speech is found within 150 ms of the end of the recording's voice.
    assert abs(end.at_sample / PIPELINE_RATE_HZ - (1.0 + speech.size / PIPELINE_RATE_HZ)) < 0.3
    assert end.pcm.size >= speech.size * 0.8


def test_odd_chunk_sizes_give_the_same_events() -> None:
    audio = np.concatenate([SILENCE_1S, speech_16k("vm-password"), SILENCE_1S])
    a = run(TurnDetector(VadSettings()), audio, chunk=320)
    b = run(TurnDetector(VadSettings()), audio, chunk=77)

    def key(event: object) -> tuple[type, int]:
        return type(event), getattr(event, "at_sample", getattr(event, "voiced_frames", 0))

    assert [key(e) for e in a] == [key(e) for e in b]


def test_silence_and_hiss_are_not_speech() -> None:
    rng = np.random.default_rng(1)
    hiss = (rng.normal(0, 30, PIPELINE_RATE_HZ * 3)).astype(np.int16)  # about -60 dBFS
    assert run(TurnDetector(VadSettings()), np.concatenate([SILENCE_1S, hiss])) == []


def test_a_click_is_discarded() -> None:
    click = speech_16k("agent-pass")[4000 : 4000 + 3200]  # 200 ms of voice
    settings = VadSettings(start_ms=100, min_speech_ms=400)
    events = run(TurnDetector(settings), np.concatenate([SILENCE_1S, click, SILENCE_1S]))
    assert [type(e) for e in events] == [SpeechStarted, SpeechDiscarded]


def test_two_sentences_with_a_long_pause_are_two_turns() -> None:
    one, two = speech_16k("vm-password"), speech_16k("auth-thankyou")
    audio = np.concatenate([SILENCE_1S, one, SILENCE_1S, two, SILENCE_1S])
    ends = [e for e in run(TurnDetector(VadSettings()), audio) if isinstance(e, SpeechEnded)]
    assert len(ends) == 2


def test_long_speech_is_cut_at_the_maximum() -> None:
    speech = np.concatenate([speech_16k("conf-adminmenu-162")] * 2)
    settings = VadSettings(max_utterance_s=3.0, stop_ms=2000)
    ends = [e for e in run(TurnDetector(settings), speech) if isinstance(e, SpeechEnded)]
    assert ends and all(e.pcm.size <= 3.4 * PIPELINE_RATE_HZ for e in ends)


def test_a_pause_offers_the_utterance_early_and_identical_to_the_final_one() -> None:
    speech = speech_16k("check-number-dial-again")
    events = run(TurnDetector(VadSettings()), np.concatenate([SILENCE_1S, speech, SILENCE_1S]))
    paused = [e for e in events if isinstance(e, SpeechPaused)]
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert paused and len(ended) == 1
    last = paused[-1]
    # No voice after the last pause: the early audio is exactly the final audio.
    assert last.voiced_frames == ended[0].voiced_frames
    assert np.array_equal(last.pcm, ended[0].pcm)
    # The pause comes before the end of the turn.
    assert events.index(last) < events.index(ended[0])


def test_speculation_can_be_switched_off() -> None:
    speech = speech_16k("check-number-dial-again")
    events = run(TurnDetector(VadSettings(speculative_ms=0)), np.concatenate([speech, SILENCE_1S]))
    assert not any(isinstance(e, SpeechPaused) for e in events)
