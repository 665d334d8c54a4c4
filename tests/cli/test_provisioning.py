"""The ``models`` and ``voices`` subcommands, run through a real argparse parser."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from callbot.cli import provisioning as cli
from tests.provisioning.support import (
    Hub,
    WhisperPull,
    closed_port_url,
    fake_voice_files,
    sha,
    write_descriptor,
    write_model_descriptor,
)


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="callbot")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_models_pull_on_an_installed_model_reports_it(
    whisper_pull: WhisperPull, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _run("models", "pull", "--models-dir", str(whisper_pull.models_dir), "--offline")
    out = capsys.readouterr().out
    assert status == 0
    assert f"whisper-base: ready in {whisper_pull.models_dir / 'whisper-base'}" in out
    assert out.count("already installed") == 4


def test_models_dir_comes_from_the_environment(
    whisper_pull: WhisperPull, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.MODELS_DIR_ENV, str(whisper_pull.models_dir))
    assert _run("models", "pull", "--hub-url", closed_port_url()) == 0
    assert str(whisper_pull.models_dir) in capsys.readouterr().out


def test_voices_pull_unpinned_prints_the_sha_to_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "fr_FR-siwis-medium"
    data = fake_voice_files(name)
    write_descriptor(tmp_path / "catalog", name, data, pinned=False)
    (tmp_path / "drop").mkdir()
    for file_name, body in data.items():
        (tmp_path / "drop" / file_name).write_bytes(body)
    common = ["--models-dir", str(tmp_path / "m"), "--catalog", str(tmp_path / "catalog")]
    common += ["--from", str(tmp_path / "drop"), "--offline"]

    assert _run("voices", "pull", name, *common) == 1
    assert "--allow-unpinned" in capsys.readouterr().err

    assert _run("voices", "pull", name, *common, "--allow-unpinned") == 0
    out = capsys.readouterr().out
    assert f"{name} (fr_FR, medium, 22050 Hz): ready in {tmp_path / 'm' / 'voices' / name}" in out
    assert f"UNPINNED {name}.onnx: sha256 {sha(data[name + '.onnx'])}" in out


def test_voices_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "fr_FR-gilles-low"
    write_descriptor(tmp_path / "catalog", name, fake_voice_files(name))
    status = _run(
        "voices", "list", "--models-dir", str(tmp_path), "--catalog", str(tmp_path / "catalog")
    )
    assert status == 0
    assert capsys.readouterr().out.split() == [name, "fr_FR", "low", "not", "installed"]


def test_bad_catalogue_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fr_FR-x-low.yaml").write_text("name: fr_FR-x-low\n", encoding="utf-8")
    assert _run("voices", "list", "--catalog", str(tmp_path)) == 1
    assert "error: " in capsys.readouterr().err


def test_progress_printer_prints_each_tenth_once() -> None:
    out = io.StringIO()
    printer = cli.ProgressPrinter(out, min_bytes=10)
    for done in range(0, 101, 5):
        printer("model.bin", done, 100)
    printer("small.txt", 5, 5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1] == "  model.bin: 100% of 0.0 MB"


TINY = {
    "config.json": b"{}",
    "tokenizer.json": b'{"model": {}}',
    "vocabulary.txt": b"<|endoftext|>\n",
    "model.bin": b"\x01\x02" * 2048,
}
TINY_PREFIX = "/acme/faster-whisper-test/resolve/0123456789abcdef0123456789abcdef01234567"


def test_models_pull_named_model_over_http_then_list_it(
    tmp_path: Path, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    write_model_descriptor(tmp_path / "catalog", "tiny-test", TINY)
    for name, data in TINY.items():
        hub.files[f"{TINY_PREFIX}/{name}"] = data
    common = ["--models-dir", str(tmp_path / "m"), "--catalog", str(tmp_path / "catalog")]

    assert _run("models", "list", *common) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == [
        "tiny-test",
        "0",
        "MB",
        "not",
        "installed",
    ]

    assert _run("models", "pull", "--model", "tiny-test", "--hub-url", hub.base_url, *common) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "m" / "whisper-tiny-test"
    assert f"whisper-tiny-test: ready in {folder}" in out
    assert out.count(f"hub {cli.DEFAULT_HUB_URL}/acme/faster-whisper-test/resolve/") == 4
    assert (folder / "model.bin").read_bytes() == TINY["model.bin"]

    assert _run("models", "list", *common) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == [
        "tiny-test", "0", "MB", "installed", str(folder)
    ]  # fmt: skip


def test_models_pull_unknown_name_lists_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("models", "pull", "--model", "large", "--models-dir", str(tmp_path)) == 1
    assert capsys.readouterr().err == (
        "error: unknown Whisper model 'large' "
        "(known models: base, small, medium, large-v3-turbo, large-v3)\n"
    )
    assert not any(tmp_path.iterdir())


def test_models_list_shows_the_shipped_catalogue_and_what_auto_loads(
    whisper_pull: WhisperPull, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("models", "list", "--models-dir", str(whisper_pull.models_dir)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        "base", "small", "medium", "large-v3-turbo", "large-v3"
    ]  # fmt: skip
    assert lines[0].split()[1:] == [
        "148",
        "MB",
        "installed",
        str(whisper_pull.models_dir / "whisper-base"),
    ]
    assert lines[-1] == 'asr.model = "auto" loads base on a CPU, base on a GPU ' + (
        f"(models dir: {whisper_pull.models_dir})"
    )
