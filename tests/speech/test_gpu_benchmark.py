"""benchmarks/gpu.py: its arguments, its report, and one real call on the CPU."""

import json
from pathlib import Path

from benchmarks import gpu


def test_defaults_are_the_gpu_levels_and_room_for_every_call() -> None:
    args = gpu.parse_args([])
    assert args.levels == [1, 8, 32, 64, 128, 192] and args.device == "cuda"
    overrides = gpu.server_overrides(gpu.parse_args(["--levels", "1,150", "--max-batch", "32"]))
    assert overrides["asr"]["max_batch"] == 32 and overrides["asr"]["max_pending"] >= 150
    assert overrides["security"]["max_concurrent_calls"] > 150
    assert overrides["asr"]["device"] == "cuda" and overrides["records"]["enabled"] is False


def test_a_level_is_summarised_from_the_callers_and_the_server_records(tmp_path: Path) -> None:
    results = [
        {"call_id": "a", "error": None, "latencies_ms": [500.0, 700.0, None]},
        {"call_id": "b", "error": None, "latencies_ms": [600.0, 900.0, 650.0]},
        {"call_id": "c", "error": "ConnectionRefusedError: refused"},
    ]
    records = [{"call_id": "a", "turns": [{"asr_s": 0.2}, {"asr_s": 0.4}, {"dtmf": "1"}]}]
    level = gpu.summarise_level(3, results, records)
    assert level["failed_calls"] == 1 and level["errors"] == ["ConnectionRefusedError: refused"]
    assert level["turns_measured"] == 5 and level["turns_unanswered"] == 1
    assert level["voice_to_voice_ms"] == {"p50": 650.0, "p95": 900.0, "max": 900.0}
    assert level["asr_ms"] == {"p50": 200.0, "p95": 400.0}
    level |= {"gpu": gpu.GpuSampler().summary(), "server_cpu_percent": 42}
    row = gpu.table([level]).splitlines()[-1]
    assert row.startswith("| 3 | 1 | 5 (1 unanswered) | 650 ms | 900 ms | 400 ms |")
    assert row.endswith("| 42 % |")
    gpu.write_report(tmp_path / "gpu.json", {"levels": [level]})
    assert json.loads((tmp_path / "gpu.json").read_text())["levels"][0]["calls"] == 3


async def test_one_real_call_on_the_cpu(models_dir: Path, tmp_path: Path) -> None:
    argv = ["--levels", "1", "--device", "cpu", "--turns", "1", "--ramp-up", "0"]
    argv += ["--model-dir", str(models_dir / "whisper-base"), "--out", str(tmp_path / "r.json")]
    report = await gpu.main(gpu.parse_args(argv))
    (level,) = report["levels"]
    assert level["failed_calls"] == 0 and level["turns_measured"] == 1
    assert level["voice_to_voice_ms"]["p50"] > 0 and level["asr_ms"]["p50"] > 0
    assert "cpu/int8" in report["asr"] and "--levels 1" in report["command"]
    assert json.loads((tmp_path / "r.json").read_text())["levels"] == report["levels"]
