"""Test support for provisioning: a loopback HTTP "hub", fake voices, descriptors."""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from callbot.provisioning import InstalledModel


@dataclass
class Hub:
    """A tiny HTTP server standing in for the Hugging Face hub."""

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    """URL path -> body."""
    redirects: dict[str, str] = field(default_factory=dict)
    """URL path -> path it redirects to (the hub redirects LFS files to a CDN)."""
    requests: list[str] = field(default_factory=list)


def make_handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hub.requests.append(self.path)
            if self.path in hub.redirects:
                self.send_response(302)
                self.send_header("Location", hub.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = hub.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_voice_files(name: str, *, sample_rate_hz: int = 22050) -> dict[str, bytes]:
    """A voice's two files with the JSON fields callbot reads (not a usable model)."""
    language, _, quality = name.split("-")
    config = {
        "audio": {"sample_rate": sample_rate_hz, "quality": quality},
        "language": {"code": language},
        "num_speakers": 1,
    }
    return {
        f"{name}.onnx": f"fake onnx model {name}".encode(),
        f"{name}.onnx.json": json.dumps(config).encode(),
    }


def install_fake_voice(voices_dir: Path, name: str) -> None:
    folder = voices_dir / name
    folder.mkdir(parents=True)
    for file_name, data in fake_voice_files(name).items():
        (folder / file_name).write_bytes(data)


def write_descriptor(
    catalog_dir: Path,
    name: str,
    files: dict[str, bytes],
    *,
    url_base: str | None = "https://huggingface.co/acme/voices/resolve/0123abc",
    pinned: bool = True,
    sample_rate_hz: int = 22050,
) -> Path:
    language, _, quality = name.split("-")
    lines = [
        f"name: {name}",
        f"language: {language}",
        f"quality: {quality}",
        f"sample_rate_hz: {sample_rate_hz}",
        "license: test fixture",
        "files:",
    ]
    for file_name, data in files.items():
        lines.append(f"  - name: {file_name}")
        if url_base is not None:
            lines.append(f"    url: {url_base}/{file_name}")
        lines.append(f"    sha256: {sha(data) if pinned else 'null'}")
        lines.append(f"    size_bytes: {len(data)}")
    catalog_dir.mkdir(parents=True, exist_ok=True)
    path = catalog_dir / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_model_descriptor(
    catalog_dir: Path,
    name: str,
    files: dict[str, bytes],
    *,
    repo: str = "acme/faster-whisper-test",
    revision: str = "0123456789abcdef0123456789abcdef01234567",
) -> Path:
    """A Whisper descriptor pinning ``files`` (hashes computed here) at ``revision``."""
    lines = [f"name: {name}", f"repo: {repo}", f"revision: {revision}", "license: MIT", "files:"]
    for file_name, data in files.items():
        lines += [f"  - name: {file_name}", f"    sha256: {sha(data)}"]
        lines.append(f"    size_bytes: {len(data)}")
    catalog_dir.mkdir(parents=True, exist_ok=True)
    path = catalog_dir / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class WhisperPull:
    """Result of the session's one Whisper pull."""

    models_dir: Path
    models: list[InstalledModel]
    elapsed_s: float
