"""Whisper's encoder window: accuracy and speed of short windows on real French speech.

Whisper was trained on 30 s windows and faster-whisper always pads to 30 s, so a 2 s
telephone utterance costs as much as a 30 s one. CTranslate2 accepts shorter encoder
inputs; this measures what that costs in accuracy, on Debian's real French prompts
after a G.711 mu-law round trip (as on the phone line).

    .venv/bin/python benchmarks/asr_window.py --files 50 --out benchmarks/results/asr-window.json
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import statistics
import time
import unicodedata
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from callbot.audio.convert import decode, encode, resample
from callbot.audio.formats import ULAW_8K
from callbot.audio.wavfile import read_wav
from callbot.speech.asr import WhisperAsr
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


async def run(files: int, windows: list[float], out: Path | None) -> dict:
    items = corpus(files)
    results = {}
    for window in windows:
        asr = WhisperAsr.load(AsrSettings(model_dir=Path("models/whisper-base"), window_s=window))
        errors = reference_words = 0
        times = []
        for path, reference in items:
            pcm, rate = read_wav(path)
            line = decode(ULAW_8K, encode(ULAW_8K, resample(pcm, rate, 8000)))
            started = time.monotonic()
            transcript = await asr.transcribe(resample(line, 8000, 16000), "fr")
            times.append(time.monotonic() - started)
            ref, hyp = words(reference), words(transcript.text)
            errors += Levenshtein.distance(ref, hyp)
            reference_words += len(ref)
        asr.close()
        label = "30 s (stock)" if window >= 30 else f"{window:g} s"
        results[label] = {
            "wer_percent": round(100 * errors / reference_words, 1),
            "decode_ms_p50": round(1000 * statistics.median(times)),
            "decode_ms_max": round(1000 * max(times)),
        }
        print(label, results[label], flush=True)
    report = {
        "command": f"python benchmarks/asr_window.py --files {files}",
        "files": len(items),
        "model": "whisper base, int8, cpu, beam 1",
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
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--windows", default="30,10,8")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    asyncio.run(run(args.files, [float(w) for w in args.windows.split(",")], args.out))
