"""Make one pinned file present: keep it if verified, else try each origin in turn.

The origin order is the policy (hub first for models, a local folder first for
voices); an origin that is unreachable, lacks the file, or delivers bytes that
fail the pin is logged and the next one is tried. Only when every origin failed
does the caller get a :class:`~callbot.errors.ModelError` listing why each one
failed, so ops can tell "offline" from "tampered".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callbot.errors import ModelError
from callbot.provisioning.files import (
    FileSpec,
    IntegrityError,
    ProgressFn,
    check_installed,
    install_stream,
    remove_stale_partials,
)
from callbot.provisioning.sources import Fetcher, Origin, SourceFailed

logger = logging.getLogger(__name__)

ALREADY_INSTALLED = "already installed"


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one file."""

    path: Path
    sha256: str
    source: str
    """:data:`ALREADY_INSTALLED`, or the label of the origin it came from."""
    pinned: bool
    """False when the file had no pinned sha256 (installed with ``allow_unpinned``)."""


def ensure_file(
    dest_dir: Path,
    spec: FileSpec,
    origins: Sequence[Origin],
    fetcher: Fetcher,
    *,
    allow_unpinned: bool = False,
    progress: ProgressFn | None = None,
    what: str = "",
    hint: str = "",
) -> FileResult:
    """Install ``spec`` under ``dest_dir`` from the first origin that delivers it intact.

    ``what`` names the model or voice in messages; ``hint`` ends the error
    message (what ops can do). Raises :class:`ModelError`.
    """
    dest = dest_dir / spec.name
    label = f"{what}/{spec.name}" if what else spec.name
    pinned = spec.sha256 is not None
    if not pinned and not allow_unpinned:
        raise ModelError(
            f"{label} has no pinned sha256, so its content cannot be checked; "
            "pin it in its descriptor, or pass --allow-unpinned to install it anyway "
            "(the computed sha256 is printed so it can be pinned)"
        )
    sha = check_installed(dest, spec)
    if sha is not None:
        return FileResult(dest, sha, ALREADY_INSTALLED, pinned)
    remove_stale_partials(dest)
    if dest.exists():
        logger.warning("%s is present but does not match its pin; replacing it", dest)

    created_dir = not dest_dir.exists()
    failures: list[str] = []
    for origin in origins:
        try:
            chunks = fetcher.stream(origin)
            with contextlib.closing(chunks):
                sha = install_stream(dest, spec, chunks, progress=progress, label=label)
        except SourceFailed as exc:
            logger.info("%s: %s: %s", label, origin.label, exc)
            failures.append(f"{origin.label}: {exc}")
            continue
        except IntegrityError as exc:
            logger.warning("%s: %s delivered a bad file: %s", label, origin.label, exc)
            failures.append(f"{origin.label}: REFUSED, {exc}")
            continue
        except OSError as exc:
            raise ModelError(f"cannot write {dest}: {exc}") from exc
        logger.info("%s installed from %s (sha256 %s)", label, origin.label, sha)
        return FileResult(dest, sha, origin.label, pinned)

    if created_dir:  # leave nothing behind: not even an empty folder
        with contextlib.suppress(OSError):
            dest_dir.rmdir()
    reasons = "\n  - ".join(failures) or "no origin is configured for it"
    message = f"could not install {label} into {dest_dir}:\n  - {reasons}"
    raise ModelError(f"{message}\n{hint}" if hint else message)
