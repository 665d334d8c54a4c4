"""Fuzzing the protocol parsers: any input gives events or the documented protocol error.

Two complementary runs, both bounded well under a minute on 2 cores:

* a deterministic mutation run of 100,000 inputs (mutated valid frames, JSON with values
  of the wrong type, deep nesting, random bytes) over every parser;
* hypothesis properties with structure-aware strategies (shrinks any failure).
"""

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callbot.errors import AriError, AudioSocketError, ChanWebsocketError
from callbot.protocols import ari, audiosocket
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_app as cw_app
from callbot.protocols import chan_websocket_asterisk as cwa
from tests.fuzz.harness import default_targets, fuzz, mutate_bytes, mutate_json

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_NAMES = ["MEDIA_START", "DTMF_END", "MEDIA_XOFF", "MEDIA_MARK_PROCESSED", "STATUS", "ERROR"]
ARI_TYPES = ["StasisStart", "ChannelDtmfReceived", "ChannelVarset", "PlaybackFinished", "X"]


def test_100k_generated_inputs_no_crash() -> None:
    report = fuzz(total_inputs=100_000, seed=1)
    assert report.inputs == 100_000
    assert report.crashes == [], report.crashes[:5]
    for name, target in report.targets.items():
        assert target.accepted > 0, f"{name}: no input was valid; the seeds are broken"
        assert sum(target.exceptions.values()) > 0, f"{name}: no input was rejected"
    assert report.elapsed_s < 60


def test_the_generator_is_deterministic() -> None:
    first, second = fuzz(600, seed=7), fuzz(600, seed=7)
    assert first.to_json()["targets"] == second.to_json()["targets"]


def test_mutators_change_their_input() -> None:
    import random

    rng = random.Random(3)
    seed = default_targets()[-1].seeds[0]
    assert any(mutate_bytes(seed, rng) != seed for _ in range(10))
    assert any(mutate_json(seed, rng) != seed for _ in range(10))


@FUZZ
@given(
    st.sampled_from(EVENT_NAMES),
    st.dictionaries(st.sampled_from(["channel_id", "format", "ptime", "id"]), json_values),
)
def test_chan_websocket_json_events(name: str, fields: dict[str, Any]) -> None:
    with contextlib.suppress(ChanWebsocketError):
        cw_app.parse_event(json.dumps({"event": name, **fields}))


@FUZZ
@given(st.text(max_size=300))
def test_chan_websocket_plain_events_and_commands(text: str) -> None:
    for parse in (
        lambda: cw_app.parse_event(text),
        lambda: cwa.parse_command(text, cw.ControlFormat.PLAIN),
        lambda: cwa.parse_command(text, cw.ControlFormat.JSON),
    ):
        with contextlib.suppress(ChanWebsocketError):
            parse()


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_audiosocket_stream_in_any_slices(chunks: list[bytes]) -> None:
    parser = audiosocket.FrameParser(audiosocket.Direction.FROM_ASTERISK)
    try:
        for chunk in [b"\x01\x00\x10" + bytes(16), *chunks]:
            parser.feed(chunk)
    except AudioSocketError:
        pass


@FUZZ
@given(
    st.sampled_from(ARI_TYPES),
    st.dictionaries(
        st.sampled_from(["channel", "args", "digit", "playback", "bridge"]), json_values
    ),
)
def test_ari_events(kind: str, fields: dict[str, Any]) -> None:
    with contextlib.suppress(AriError):
        ari.parse_event(json.dumps({"type": kind, **fields}))
