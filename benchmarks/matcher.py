"""Intent matching at 300 confusable intents: latency per utterance, and accuracy.

A dialplan of that size is generated (seeded, so every run matches the same one): 100
invented "objects" (the card, the account...), each with three "actions" (lost,
ordered, updated...) taken from 30, so each intent shares its object with two others
and its action with about ten, the way "carte Vitale perdue / commande / mise à jour"
do. Each intent has 8 examples and two words of its own; phrasings also carry words
drawn from 2,000 that say nothing about the topic, so the vocabulary is about as large
as a real dialplan's. Held-out phrasings are built from other sentence frames (some
name the topic by one of its own words only), half with a word misspelled.

Latency is the wall time of one ``IntentMatcher.match`` call on one core (rapidfuzz
``workers=1``), index already built, the best of ``--repeats`` runs per phrasing (what
matching costs, without the waits of a busy machine). Accuracy uses the thresholds
that ``callbot dialplan accuracy --calibrate`` would suggest for this dialplan.

    .venv/bin/python benchmarks/matcher.py --out benchmarks/results/matcher.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

from callbot.dialplan import IntentMatcher, decide
from callbot.dialplan.tooling.accuracy import AccuracyReport, CaseResult
from callbot.dialplan.tooling.calibration import calibrate
from callbot.dialplan.tooling.testset import Case

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "matcher.json"
LANGUAGE = "fr-FR"
SYLLABLES = "ca ro mi te lu pa ne so ri ver tion ment bor fa gi du lo sec mar pil tan".split()  # noqa: SIM905
EXAMPLE_FRAMES = (
    "j'ai un problème de {o} {a} {c}",
    "mon {o} est {a}",
    "je voudrais {a} mon {o} {c}",
    "{o} {a}",
    "le {o} {d1} {c}",
    "c'est pour le {o} {a} {d2}",
    "{a} {o} {d1}",
    "j'appelle pour {d2} du {o} {c}",
)
HELD_OUT_FRAMES = (
    "bonjour euh mon {o} il est {a} {c}",
    "c'est au sujet de {a} le {o}",
    "le {d1} {c} {a}",
    "je crois que mon {o} est {a} {c}",
    "{o} {d2} s'il vous plaît",
)
CONTEXT_WORDS = 2000
"""Words any phrasing may carry besides its topic ("hier", "encore", "depuis"...)."""


def _words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def _misspelled(rng: random.Random, text: str) -> str:
    """One letter of one long word replaced, as a recognition slip would."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 7]
    if not long_words:
        return text
    i = rng.choice(long_words)
    k = rng.randrange(1, len(words[i]) - 1)
    words[i] = words[i][:k] + rng.choice("aeiou") + words[i][k + 1 :]
    return " ".join(words)


def generate(
    intents: int = 300, seed: int = 7
) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """(examples by intent, held-out (phrasing, intent) pairs)."""
    rng = random.Random(seed)
    taken: set[str] = set()
    objects = _words(rng, (intents + 2) // 3, taken)
    actions = _words(rng, 30, taken)
    context = _words(rng, CONTEXT_WORDS, taken)
    examples: dict[str, list[str]] = {}
    held_out: list[tuple[str, str]] = []
    for n in range(intents):
        slots = {
            "o": objects[n // 3],
            "a": actions[(n * 7 + n // 3) % len(actions)],
            "d1": _words(rng, 1, taken)[0],
            "d2": _words(rng, 1, taken)[0],
        }
        intent = f"intent_{n:03d}"
        examples[intent] = [
            frame.format(**slots, c=rng.choice(context)) for frame in EXAMPLE_FRAMES
        ]
        for k, frame in enumerate(HELD_OUT_FRAMES):
            text = frame.format(**slots, c=rng.choice(context))
            held_out.append((_misspelled(rng, text) if k % 2 else text, intent))
    return examples, held_out


def run(intents: int, seed: int, repeats: int) -> dict[str, object]:
    examples, held_out = generate(intents, seed)
    started = time.perf_counter()
    matcher = IntentMatcher(examples, LANGUAGE)
    build_ms = (time.perf_counter() - started) * 1000
    matcher.match(held_out[0][0])  # warm caches

    results = []
    for k, (text, intent) in enumerate(held_out):
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            match = matcher.match(text)
            best = min(best, (time.perf_counter() - t0) * 1000)
        decision = decide(match.confidence, high=1.0, low=0.0)  # decided once calibrated
        results.append(
            CaseResult(
                Case(text, intent, k + 1, 1), match.intent, *(match.confidence, decision, best)
            )
        )
    report = AccuracyReport("generated", "clean", intents, tuple(results), build_ms)
    calibration = calibrate([report])
    vocabulary = {w for texts in examples.values() for t in texts for w in t.split()}
    return {
        "intents": intents,
        "examples": sum(len(v) for v in examples.values()),
        "vocabulary": len(vocabulary),
        "held_out_phrasings": len(held_out),
        "index_build_ms": round(build_ms, 1),
        "latency_ms": {
            "repeats": repeats,
            "p50": round(report.latency_ms(0.5), 3),
            "p95": round(report.latency_ms(0.95), 3),
            "max": round(report.latency_ms(1.0), 3),
        },
        "top1": round(report.shares.top1, 4),
        "calibration": calibration.to_json(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="latency: best of N per phrase")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    figures = run(args.intents, args.seed, args.repeats)
    latency: dict[str, float] = figures["latency_ms"]  # type: ignore[assignment]
    calibration: dict[str, Any] = figures["calibration"]  # type: ignore[assignment]
    shares = calibration["clean"]
    print(
        f"{figures['intents']} intents, {figures['examples']} examples, "
        f"{figures['vocabulary']} words, {figures['held_out_phrasings']} held-out phrasings; "
        f"index built in {figures['index_build_ms']} ms"
    )
    print(f"match: p50 {latency['p50']} ms, p95 {latency['p95']} ms, max {latency['max']} ms")
    print(
        f"top-1 {figures['top1']:.1%}; at high {calibration['high']}, low {calibration['low']}: "
        f"right {shares['right']:.1%}, wrong {shares['wrong']:.1%}, "
        f"confirm {shares['confirm']:.1%}, fallback {shares['fallback']:.1%}"
    )
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "command": "python benchmarks/matcher.py",
        **figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
