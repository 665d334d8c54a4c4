"""Settings, read once at start-up into frozen objects and passed down.

Sources, later ones winning: built-in defaults, a TOML file (``--config`` or
``CALLBOT_CONFIG``), then environment variables ``CALLBOT_<SECTION>_<KEY>``
(e.g. ``CALLBOT_SERVER_PORT=8080``, ``CALLBOT_ARI_URL=http://127.0.0.1:8088``).
Secrets may also come from files: ``CALLBOT_ARI_PASSWORD_FILE=/run/secrets/ari``.
Unknown sections or keys and ill-typed values are errors, not silently ignored.
See ``callbot.example.toml`` for every setting.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.bridge.settings import AriSettings
from callbot.cluster.settings import ClusterSettings
from callbot.errors import ConfigError
from callbot.handover.settings import HandoverSettings
from callbot.pipeline.settings import CallSettings
from callbot.privacy.settings import PrivacySettings
from callbot.provisioning.choice import WhisperChoice, choose_whisper
from callbot.provisioning.model_descriptors import load_model_catalog
from callbot.records.settings import RecordsSettings
from callbot.security.settings import SecuritySettings
from callbot.speech.settings import AsrSettings, TtsSettings, VadSettings

ENV_PREFIX = "CALLBOT_"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    """Listening address. Beyond loopback, ``serve`` refuses to start unless every role has
    credentials (``media_username``/``media_password``, ``[security]``,
    ``handover.console_token``) and AudioSocket is allowed out explicitly."""
    port: int = 8080
    """HTTP port: softphone page, health, and the chan_websocket endpoint ``/media``."""
    audiosocket: bool = True
    """Run the AudioSocket server (fallback media path for older Asterisk)."""
    audiosocket_port: int = 9092
    """AudioSocket TCP port (0: any free port)."""
    media_username: str | None = None
    """User asked of Asterisk's ``websocket_client`` (Basic auth) on ``/media``."""
    media_password: str | None = field(default=None, repr=False)
    """Basic auth for the media endpoint (Asterisk's websocket_client supports it); or
    keep only its hash, in ``security.media_password_hash``."""
    softphone: bool = True
    """Serve the browser softphone page at ``/`` (role ``ops``; beyond loopback only with
    ``security.softphone_beyond_loopback``)."""
    drain_timeout_s: float = 20.0
    """On SIGTERM: how long calls in progress may go on by themselves before each caller
    is handed to a human with the call's context (keep systemd's ``TimeoutStopSec`` above
    this plus ~15 s). A second SIGTERM/SIGINT hands them over at once."""
    header_timeout_s: float = 10.0
    """An HTTP request (websocket upgrades included) whose request line and headers have
    not all arrived this long after the connection opened, or after its first byte on a
    kept-alive connection, is closed: half-open requests cannot pile up."""


@dataclass(frozen=True, slots=True)
class BackofficeSettings:
    authorization: str | None = field(default=None, repr=False)
    """``Authorization`` header sent with every dialplan hook, e.g. ``Bearer <token>``;
    from ``CALLBOT_BACKOFFICE_AUTHORIZATION_FILE`` in production, never logged."""


@dataclass(frozen=True, slots=True)
class Settings:
    models_dir: Path = Path("models")
    """Where ``callbot models pull`` and ``callbot voices pull`` install what the bot loads."""
    dialplan: Path = Path("dialplans/assurance-maladie.yaml")
    """The dialplan the bot runs; an edited file is reloaded (``dialplan_reload_s``)."""
    data_dir: Path = Path("data")
    """Where callbot keeps what it writes about calls, unless a section names another
    place: the records database (``records.url``) and its spool, the hand-over store
    (``handover.store_path``). Relative: to the directory callbot starts in. Every store
    of caller data is listed in the README's "Privacy"."""
    log_level: str = "INFO"
    """``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``."""
    log_format: str = "text"
    """``text`` or ``json``."""
    server: ServerSettings = field(default_factory=ServerSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    call: CallSettings = field(default_factory=CallSettings)
    ari: AriSettings = field(default_factory=AriSettings)
    backoffice: BackofficeSettings = field(default_factory=BackofficeSettings)
    records: RecordsSettings = field(default_factory=RecordsSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    handover: HandoverSettings = field(default_factory=HandoverSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    dialplan_reload_s: float = 2.0
    """How often ``serve`` looks for a changed dialplan file (0: never)."""

    @property
    def whisper_dir(self) -> Path:
        """The Whisper model to load: ``asr.model_dir``, else the folder of ``asr.model``."""
        if self.asr.model_dir != Path():
            return self.asr.model_dir
        return self.whisper_choice().path

    def whisper_choice(self) -> WhisperChoice:
        """``asr.model`` resolved (``auto``: by device and by what is installed)."""
        catalog = load_model_catalog()
        return choose_whisper(
            self.models_dir, self.asr.model, self.asr.device, catalog, _cuda_visible
        )

    @property
    def voices_dir(self) -> Path:
        return self.tts.voices_dir or self.models_dir / "voices"


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read settings from ``path`` (or ``$CALLBOT_CONFIG``), the environment and overrides."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    config_path = path or (Path(env["CALLBOT_CONFIG"]) if env.get("CALLBOT_CONFIG") else None)
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config_path}: {exc}") from exc
    _merge(data, _from_env(env))
    _merge(data, dict(overrides or {}))
    settings: Settings = _build(Settings, data, "")
    settings = placed(settings)
    if settings.asr.model_dir == Path():
        settings = dataclasses.replace(
            settings, asr=dataclasses.replace(settings.asr, model_dir=settings.whisper_dir)
        )
    return settings


def _cuda_visible() -> bool:
    """Whether CTranslate2 sees a GPU (imported only when the answer matters)."""
    from callbot.speech.asr import resolve_device

    return resolve_device("auto") == "cuda"


def placed(settings: Settings) -> Settings:
    """``settings`` with every store of caller data the sections leave unset in
    ``data_dir``: the records (and their spool), the hand-over store beside them."""
    records = settings.records.placed(settings.data_dir)
    handover = settings.handover.placed(records.sqlite_path, settings.data_dir)
    return dataclasses.replace(settings, records=records, handover=handover)


def _merge(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """``CALLBOT_SECTION_KEY`` (and ``..._FILE``) variables as nested settings."""
    sections = {
        "server", "asr", "tts", "vad", "call", "ari", "backoffice", "records", "privacy",
        "security", "handover", "cluster",
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == "CALLBOT_CONFIG":
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key.endswith("_file"):
            try:
                value = Path(value).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{name}: cannot read {value}: {exc}") from exc
            key = key[: -len("_file")]
        section, _, rest = key.partition("_")
        if section in sections and rest:
            out.setdefault(section, {})[rest] = value
        else:
            out[key] = value
    return out


def _build(cls: type[Any], data: Mapping[str, Any], where: str) -> Any:
    label = where.rstrip(".") or "settings"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{label}: unknown setting(s) {', '.join(unknown)}")
    kwargs = {name: _convert(hints[name], value, f"{where}{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{label}: {exc}") from exc


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            return None
        return _convert(options[0], value, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{where}.")
    if origin is tuple:  # tuple[X, ...]: a TOML array, or "a, b" from the environment
        items = _list(value) if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(items))
    try:
        if hint is bool:
            return _boolean(value)
        if hint in (int, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return hint(value)
        if hint is Path:
            return Path(value)
        if hint is str:
            if not isinstance(value, str | int | float):
                raise ValueError(value)
            return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from exc
    return value


def _list(text: str) -> list[str]:
    """``a, b`` (also ``[a, b]``, ``["a", "b"]``, ``()``) as a list of strings."""
    text = text.strip()
    if text[:1] + text[-1:] in ("[]", "()"):
        text = text[1:-1]
    return [item.strip().strip("'\"") for item in text.split(",") if item.strip()]


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)
