"""Debian's Chromium, headless, with a fake microphone playing a WAV file."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage

CHROMIUM = Path("/usr/bin/chromium")


def chromium_args(mic: Path | None = None) -> list[str]:
    """Headless, offline flags; with ``mic``, a fake microphone playing that WAV."""
    args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    if mic is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic}",
        ]
    return args


def on_console(msg: ConsoleMessage, errors: list[str]) -> None:
    if msg.type == "error":
        errors.append(f"{msg.text} {msg.location}")
