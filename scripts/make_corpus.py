#!/usr/bin/env python3
"""Regenerate the load-test corpus WAVs from audio/corpus/manifest.yaml, deterministically.

    .venv/bin/python scripts/make_corpus.py            # only the missing WAVs
    .venv/bin/python scripts/make_corpus.py --force    # all of them

Needs espeak-ng and Debian's asterisk-core-sounds-fr/-en (scripts/setup.sh installs them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callbot.errors import CallbotError
from callbot.loadtest.build import SOUNDS_DIR, build_corpus
from callbot.loadtest.corpus import load_corpus

DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "audio" / "corpus" / "manifest.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", nargs="?", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--force", action="store_true", help="rewrite every WAV")
    parser.add_argument("--sounds-dir", type=Path, default=SOUNDS_DIR)
    args = parser.parse_args(argv)
    try:
        corpus = load_corpus(args.manifest)
        written = build_corpus(corpus, args.sounds_dir, force=args.force)
    except CallbotError as exc:
        print(f"make_corpus: {exc}", file=sys.stderr)
        return 1
    print(f"{corpus.path}: {len(corpus.calls)} calls, {written} WAV files written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
