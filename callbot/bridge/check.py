"""``callbot asterisk check``: is the running Asterisk ready for this callbot? One line each.

Asked over ARI with callbot's own settings (``[ari]``), in this order:

* ``asterisk``: the version (``GET /asterisk/info``), compared with what the media
  transport needs (chan_websocket: 20.16+, 22.6+, 23+; ``f(json)``: 20.18+, 22.8+, 23.2+);
* ``modules``: the modules of :data:`MODULES` loaded and running (``GET /asterisk/modules``);
* ``websocket_client <name>``: the connection externalMedia dials (there is no ARI
  resource for websocket_client, but its sorcery object is readable through
  ``GET /asterisk/config/dynamic/res_websocket_client/websocket_client/<name>``);
* ``ARI app <app>``: registered, i.e. ``callbot serve`` is connected
  (``GET /applications/<app>``; a WARN when not: the check works without it);
* ``queue <name>``: every queue the dialplan can transfer to, callbot's fallback
  extension and the dialplan's ``CALLBOT_FALLBACK_QUEUE`` global, each asked with
  ``QUEUE_EXISTS()``. ``GET /asterisk/variable`` reads global variables only, so the
  function is read on a probe channel: a ``Local`` channel created with
  ``POST /channels/create`` into a Stasis app of its own (``<app>-check``, never the
  bot's), never dialled (no dialplan runs), hung up right after;
* ``sounds_dir``: writable here, for the summaries agents hear (a local check).

Nothing secret is printed: the websocket_client object lists its password, only its
``uri`` (without user info) and ``connection_type`` are shown; text from Asterisk is
printed with control characters replaced, so it cannot forge lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from callbot.bridge.ari_client import AriClient, AriHttpError
from callbot.bridge.settings import AriSettings, MediaTransport
from callbot.dialplan.model import Dialplan
from callbot.dialplan.queues import queue_uses
from callbot.errors import AriError
from callbot.protocols import ari
from callbot.protocols import ari_asterisk as system

Status = Literal["OK", "WARN", "FAIL"]

FALLBACK_VARIABLE = "CALLBOT_FALLBACK_QUEUE"
PROBE_ENDPOINT = "Local/probe@callbot-check"
"""The probe channel: requested, never dialled, so the context need not exist."""


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<4} {_printable(self.subject)}: {_printable(self.detail)}"


@dataclass(frozen=True, slots=True)
class ModuleNeed:
    name: str
    """The module file, ``res_ari.so``."""
    why: str
    required: bool = True
    """False: a WARN when missing (a feature degrades, calls still work)."""
    transport: MediaTransport | None = None
    """Only needed with this media transport."""


MODULES: tuple[ModuleNeed, ...] = (
    ModuleNeed("res_ari.so", "ARI"),
    ModuleNeed("res_ari_model.so", "ARI"),
    ModuleNeed("res_ari_events.so", "ARI events websocket"),
    ModuleNeed("res_ari_channels.so", "ARI channels"),
    ModuleNeed("res_ari_bridges.so", "ARI bridges"),
    ModuleNeed("res_ari_applications.so", "ARI event subscriptions"),
    ModuleNeed("res_ari_asterisk.so", "this check"),
    ModuleNeed("res_stasis.so", "Stasis apps"),
    ModuleNeed("res_stasis_answer.so", "answering callers"),
    ModuleNeed("res_stasis_playback.so", "the agent's summary"),
    ModuleNeed("app_stasis.so", "Stasis()"),
    ModuleNeed("res_http_websocket.so", "ARI events websocket"),
    ModuleNeed("res_websocket_client.so", "websocket_client.conf", True, MediaTransport.WEBSOCKET),
    ModuleNeed("res_sorcery_config.so", "websocket_client.conf", True, MediaTransport.WEBSOCKET),
    ModuleNeed("chan_websocket.so", "the bot's media leg", True, MediaTransport.WEBSOCKET),
    ModuleNeed("res_audiosocket.so", "AudioSocket", True, MediaTransport.AUDIOSOCKET),
    ModuleNeed("chan_audiosocket.so", "the bot's media leg", True, MediaTransport.AUDIOSOCKET),
    ModuleNeed("app_queue.so", "human queues"),
    ModuleNeed("res_musiconhold.so", "hold music"),
    ModuleNeed("app_dial.so", "ringing agents"),
    ModuleNeed("app_stack.so", "agent screening (Dial U(), b())"),
    ModuleNeed("pbx_config.so", "extensions.conf"),
    ModuleNeed("func_channel.so", "CHANNEL(language)"),
    ModuleNeed("func_logic.so", "IF() in [callbot-queues]"),
    ModuleNeed("bridge_simple.so", "bridging caller and bot"),
    ModuleNeed("bridge_softmix.so", "mixing bridges", False),
    ModuleNeed("format_wav.so", "playing the summary WAV", False),
    ModuleNeed("codec_resample.so", "16 kHz bot audio to 8 kHz trunks", False),
    ModuleNeed("codec_ulaw.so", "G.711 trunks and phones", False),
    ModuleNeed("codec_alaw.so", "G.711 trunks and phones", False),
    ModuleNeed("res_timing_timerfd.so", "timing for playback and bridges", False),
    ModuleNeed("app_playback.so", "the goodbye after a failed queue", False),
    ModuleNeed("func_callerid.so", "CALLERID()", False),
    ModuleNeed("func_uri.so", "URIENCODE() in [callbot-direct]", False),
    ModuleNeed("app_audiosocket.so", "[callbot-audiosocket]", False),
)
"""What a deployment loads (``asterisk/README.md`` lists the same, with the core's
``Local`` channels, which are no module)."""

CHAN_WEBSOCKET_SINCE = {20: 16, 22: 6, 23: 0}
"""First minor release with chan_websocket, by major release."""
JSON_CONTROL_SINCE = {20: 18, 22: 8, 23: 2}
"""First minor release whose chan_websocket takes ``f(json)``, by major release."""
_RELEASE = re.compile(r"^(?:certified[-/])?(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class QueueNeed:
    name: str
    origin: str
    """Why it is needed: ``intent fraude``, ``ari.fallback_extension``..."""


def queue_needs(dialplan: Dialplan | None, settings: AriSettings) -> list[QueueNeed]:
    """The dialplan's queues, then callbot's fallback extension when it is a queue."""
    needs: list[QueueNeed] = []
    if dialplan is not None:
        needs += [QueueNeed(u.queue, _origin(dialplan, u.path)) for u in queue_uses(dialplan)]
    if settings.fallback_context == settings.queue_context and settings.fallback_extension:
        needs.append(QueueNeed(settings.fallback_extension, "ari.fallback_extension"))
    return needs


def _origin(dialplan: Dialplan, path: tuple[str | int, ...]) -> str:
    """``default transfer``, ``route 1``, ``intent fraude``: where the dialplan names it."""
    if path[0] == "intents" and isinstance(path[1], int):
        return f"intent {dialplan.intents[path[1]].id}"
    if path[:2] == ("transfer", "routes"):
        return f"route {path[2]}"
    return "default transfer"


def modules_needed(transport: MediaTransport) -> tuple[ModuleNeed, ...]:
    return tuple(m for m in MODULES if m.transport in (None, transport))


async def check_asterisk(
    settings: AriSettings, queues: Sequence[QueueNeed], connections: Sequence[str] = ()
) -> list[Check]:
    """Every ARI check, in order; stops after the first when ARI cannot be used at all."""
    if not settings.url:
        return [Check("FAIL", "ARI", "ari.url is not set: callbot runs without Asterisk")]
    async with AriClient(settings) as client:
        try:
            version = system.parse_version(await client.request(system.get_info("system")))
        except AriHttpError as exc:
            return [_unusable(settings, exc)]
        except AriError as exc:
            return [Check("FAIL", "ARI", f"{settings.base_url}: {exc}")]
        results = [_version_check(version, settings)]
        results += await _module_checks(client, settings.transport)
        websocket = settings.transport is MediaTransport.WEBSOCKET
        names = [settings.websocket_connection] if websocket else []
        for name in dict.fromkeys([*names, *connections]):
            results.append(await _connection_check(client, name))
        results.append(await _app_check(client, settings.app))
        fallback, needs = await _fallback_queue(client), list(queues)
        if fallback.status != "OK":
            results.append(fallback)
        else:
            needs.append(QueueNeed(fallback.detail, FALLBACK_VARIABLE))
    results += await _queue_checks(settings, _merged(needs))
    return results


def check_sounds_dir(path: Path | None) -> Check:
    """``ari.sounds_dir`` exists and a file can be created in it (here, not on Asterisk)."""
    if path is None:
        return Check("WARN", "sounds_dir", "ari.sounds_dir is not set: agents hear no summary")
    if not path.is_dir():
        return Check("FAIL", "sounds_dir", f"{path}: no such directory")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".callbot-check-"):
            pass
    except OSError as exc:
        return Check("FAIL", "sounds_dir", f"{path}: not writable ({exc.strerror})")
    return Check("OK", "sounds_dir", f"{path}: writable")


# --------------------------------------------------------------------------- the checks


def _unusable(settings: AriSettings, exc: AriHttpError) -> Check:
    url = settings.base_url
    if exc.status_code is None:
        return Check("FAIL", "ARI", f"{url}: unreachable (http.conf, res_ari.so?)")
    if exc.status_code in (401, 403):
        return Check("FAIL", "ARI", f"{url}: user {settings.username!r} refused (ari.conf)")
    message = system.error_message(exc.body)
    return Check("FAIL", "ARI", f"{url}: GET /asterisk/info: {exc.status_code} {message}")


def _version_check(version: str, settings: AriSettings) -> Check:
    match = _RELEASE.match(version)
    if match is None:
        return Check("OK", "asterisk", f"version {version} (release not compared)")
    release = (int(match[1]), int(match[2]))
    if settings.transport is MediaTransport.WEBSOCKET:
        if not _at_least(release, CHAN_WEBSOCKET_SINCE):
            detail = (
                "chan_websocket needs 20.16+, 22.6+ or 23+ (else media_transport = audiosocket)"
            )
            return Check("FAIL", "asterisk", f"version {version}: {detail}")
        if "f(json)" in settings.transport_data and not _at_least(release, JSON_CONTROL_SINCE):
            detail = "f(json) needs 20.18+, 22.8+ or 23.2+: set ari.transport_data to ''"
            return Check("WARN", "asterisk", f"version {version}: {detail}")
    return Check("OK", "asterisk", f"version {version}")


def _at_least(release: tuple[int, int], since: dict[int, int]) -> bool:
    major, minor = release
    return major > max(since) or (major in since and minor >= since[major])


async def _module_checks(client: AriClient, transport: MediaTransport) -> list[Check]:
    try:
        loaded = system.parse_module_list(await client.request(system.list_modules()))
    except AriError as exc:
        return [Check("FAIL", "modules", f"cannot list them: {exc}")]
    status = {m.name: m for m in loaded}
    needs = modules_needed(transport)
    missing = [n for n in needs if n.name not in status or not status[n.name].running]
    required = [f"{n.name} ({n.why})" for n in missing if n.required]
    optional = [f"{n.name} ({n.why})" for n in missing if not n.required]
    count = sum(n.required for n in needs)
    results = [
        Check("FAIL", "modules", "not running: " + ", ".join(required))
        if required
        else Check("OK", "modules", f"{count} required modules running")
    ]
    if optional:
        results.append(Check("WARN", "modules", "not running: " + ", ".join(optional)))
    return results


async def _connection_check(client: AriClient, name: str) -> Check:
    subject = f"websocket_client {name}"
    try:
        request = system.get_config_object(*system.WEBSOCKET_CLIENT_CONFIG, name)
        config = system.parse_config_object(await client.request(request))
    except AriHttpError as exc:
        message = system.error_message(exc.body)
        if exc.status_code == 404 and message.startswith("Object with id"):
            message = f"no [{name}] in websocket_client.conf (externalMedia answers 400)"
        elif exc.status_code == 404 and message.startswith("configClass"):
            message = "res_websocket_client.so is not loaded"
        return Check("FAIL", subject, message)
    except AriError as exc:
        return Check("WARN", subject, f"cannot read it: {exc}")
    kind = config.get("connection_type")
    detail = f"{_without_userinfo(config.get('uri'))} ({kind})"
    if kind != "per_call_config":
        return Check("WARN", subject, f"{detail}: callbot expects per_call_config")
    return Check("OK", subject, detail)


async def _app_check(client: AriClient, app: str) -> Check:
    try:
        await client.request(system.get_application(app))
    except AriHttpError as exc:
        if exc.status_code == 404:
            detail = "not registered: callbot serve is not connected (Stasis() fails meanwhile)"
            return Check("WARN", f"ARI app {app}", detail)
        return Check("FAIL", f"ARI app {app}", system.error_message(exc.body))
    return Check("OK", f"ARI app {app}", "registered: callbot serve is connected")


async def _fallback_queue(client: AriClient) -> Check:
    """OK with the queue name as detail, or the line to print."""
    try:
        request = system.get_global_var(FALLBACK_VARIABLE)
        value = system.parse_variable(await client.request(request))
    except AriError as exc:
        return Check("WARN", FALLBACK_VARIABLE, f"cannot read it: {exc}")
    if not value:
        detail = "not set ([globals] of extensions.conf): no queue when callbot is down"
        return Check("WARN", FALLBACK_VARIABLE, detail)
    return Check("OK", FALLBACK_VARIABLE, value)


async def _queue_checks(settings: AriSettings, needs: Sequence[QueueNeed]) -> list[Check]:
    """``QUEUE_EXISTS()`` of each queue, read on a probe channel (see the module docstring)."""
    if not needs:
        return []
    probe_settings = dataclasses.replace(settings, app=f"{settings.app}-check")
    async with AriClient(probe_settings) as probe:
        events = probe.events()
        try:
            try:
                async with asyncio.timeout(settings.request_timeout_s):
                    await anext(events)  # EventsConnected: the probe app is registered
                endpoint, app = PROBE_ENDPOINT, probe_settings.app
                channel = ari.parse_channel(
                    await probe.request(system.create_channel(endpoint, app))
                )
            except (TimeoutError, AriError) as exc:
                reason = "no events websocket" if isinstance(exc, TimeoutError) else str(exc)
                return [Check("WARN", "queues", f"cannot probe them: {reason}")]
            try:
                return [await _queue_check(probe, channel.id, need) for need in needs]
            finally:
                with contextlib.suppress(AriError):
                    await probe.hangup(channel.id)
        finally:
            await events.aclose()


async def _queue_check(client: AriClient, channel_id: str, need: QueueNeed) -> Check:
    subject = f"queue {need.name}"
    try:
        request = system.get_channel_var(channel_id, f"QUEUE_EXISTS({need.name})")
        exists = system.parse_variable(await client.request(request))
    except AriHttpError as exc:
        reason = system.error_message(exc.body)
        return Check("FAIL", subject, f"QUEUE_EXISTS() failed: {reason} (app_queue.so?)")
    except AriError as exc:
        return Check("FAIL", subject, str(exc))
    if exists == "1":
        return Check("OK", subject, f"defined ({need.origin})")
    return Check("FAIL", subject, f"not defined in queues.conf ({need.origin}): transfers fail")


def _merged(needs: Sequence[QueueNeed]) -> list[QueueNeed]:
    """One need per queue (any case), its origins joined."""
    origins: dict[str, tuple[str, list[str]]] = {}
    for need in needs:
        found = origins.setdefault(need.name.lower(), (need.name, []))[1]
        if need.origin not in found:
            found.append(need.origin)
    return [QueueNeed(name, ", ".join(found)) for name, found in origins.values()]


def _without_userinfo(uri: str) -> str:
    parts = urlsplit(uri)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)
