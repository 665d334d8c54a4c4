"""Debian's Chromium, headless, with a fake microphone playing a WAV file: the one way
the browser tests launch it (through the ``chromium`` fixture of tests/web/conftest.py,
which marks them ``browser``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_S = 15.0
"""Default bound on the launch and on every page step."""

Launch = Callable[..., AbstractAsyncContextManager[Browser]]
"""What the ``chromium`` fixture gives: :func:`launch`."""


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


@asynccontextmanager
async def launch(mic: Path | None = None, timeout_s: float = TIMEOUT_S) -> AsyncIterator[Browser]:
    """Chromium started with :func:`chromium_args`, closed on the way out."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=chromium_args(mic),
            timeout=timeout_s * 1000,
        )
        try:
            yield browser
        finally:
            await browser.close()


async def watched_page(
    owner: Browser | BrowserContext,
    errors: list[str],
    *,
    timeout_s: float = TIMEOUT_S,
    viewport: tuple[int, int] | None = None,
) -> Page:
    """A new page whose script errors and console errors land in ``errors``."""
    page = await owner.new_page()
    page.set_default_timeout(timeout_s * 1000)
    if viewport is not None:
        await page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: on_console(msg, errors))
    return page


def on_console(msg: ConsoleMessage, errors: list[str]) -> None:
    if msg.type == "error":
        errors.append(f"{msg.text} {msg.location}")
