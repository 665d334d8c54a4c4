"""Whisper's encoder window: accuracy and speed of short windows on real French speech.

Whisper was trained on 30 s windows and faster-whisper always pads to 30 s, so a 2 s
telephone utterance costs as much as a 30 s one. CTranslate2 accepts shorter encoder
inputs; this measures what that costs in accuracy, on Debian's real French prompts
after a G.711 mu-law round trip (as on the phone line): Whisper's own 30 s, a fixed
10 s window, and windows sized to the utterance (``asr.windows_s``). ``--batch N``
sends N utterances at once (batched decoding): the text must not change.

    nice -n 19 .venv/bin/python benchmarks/asr_window.py --files 60 \\
        --out benchmarks/results/asr-window.json"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import re
import statistics
import time
import unicodedata
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from callbot.audio.convert import decode, encode, resample
from callbot.audio.formats import ULAW_8K
from callbot.audio.wavfile import read_wav
from callbot.speech.asr import WhisperAsr, window_for
from callbot.speech.settings import AsrSettings

SOUNDS = Path("/usr/share/asterisk/sounds/fr_CA_f_June")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz")


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+", text)


def corpus(limit: int) -> list[tuple[Path, str]]:
    items = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8") as lines:
        listing = list(lines)
    for line in listing:
        name, sep, text = line.partition(":")
        path = SOUNDS / f"{name.strip()}.wav"
        if sep and path.is_file() and len(words(text)) >= 3 and "[" not in text:
            items.append((path, text.strip()))
    return items[:limit]


def label(windows: tuple[float, ...]) -> str:
    if windows == (30.0,):
        return "30 s (Whisper's own)"
    if len(windows) == 1 or windows[1:] == (30.0,):
        return f"{windows[0]:g} s (fixed)"
    return "/".join(f"{w:g}" for w in windows) + " s (sized)"


async def run(files: int, sets: list[tuple[float, ...]], batch: int, out: Path | None) -> dict:
    items = corpus(files)
    speech = []
    for path, reference in items:
        pcm, rate = read_wav(path)
        line = decode(ULAW_8K, encode(ULAW_8K, resample(pcm, rate, 8000)))
        speech.append((resample(line, 8000, 16000), reference))
    results = {}
    asr = None
    for windows in sets:
        settings = AsrSettings(
            model_dir=Path("models/whisper-base"),
            windows_s=windows,
            max_batch=batch,
            max_pending=max(8, batch),
            timeout_s=600.0,  # a busy machine is slow, not wrong
        )
        asr = WhisperAsr.load(settings)
        asr.warm_up()
        errors = reference_words = 0
        times: list[float] = []
        sizes: Counter[str] = Counter()
        started = time.monotonic()
        for first in range(0, len(speech), batch):
            group = speech[first : first + batch]
            transcripts = await asyncio.gather(*(asr.transcribe(pcm, "fr") for pcm, _ in group))
            for (_pcm, reference), transcript in zip(group, transcripts, strict=True):
                times.append(transcript.decode_s + transcript.queued_s)
                ref, hyp = words(reference), words(transcript.text)
                errors += Levenshtein.distance(ref, hyp)
                reference_words += len(ref)
                window = window_for(transcript.audio_s, windows)
                sizes[f"{window:g} s"] += 1
        elapsed = time.monotonic() - started
        asr.close()
        results[label(windows)] = {
            "wer_percent": round(100 * errors / reference_words, 1),
            "decode_ms_p50": round(1000 * statistics.median(times)),
            "decode_ms_max": round(1000 * max(times)),
            "utterances_per_s": round(len(times) / elapsed, 2),
            "windows": dict(sorted(sizes.items())),
        }
        print(label(windows), results[label(windows)], flush=True)
    sets_arg = ";".join(",".join(f"{w:g}" for w in windows) for windows in sets)
    report = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "command": f"python benchmarks/asr_window.py --files {files} --sets '{sets_arg}'"
        f" --batch {batch}",
        "files": len(items),
        "model": "whisper base"
        + (f", {asr.compute_type}, {asr.device}" if asr is not None else "")
        + ", beam 1",
        "results": results,
    }
    if out is not None:
        write_report(out, report)
    return report


def write_report(out: Path, report: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument(
        "--sets",
        default="30;10,30;10,20,30;8,10,20,30;5,10,20,30",
        help="window sizes to compare (asr.windows_s), ';' between sets",
    )
    parser.add_argument(
        "--batch", type=int, default=1, help="utterances sent at once (asr.max_batch)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sets = [tuple(float(w) for w in part.split(",")) for part in args.sets.split(";")]
    asyncio.run(run(args.files, sets, args.batch, args.out))
