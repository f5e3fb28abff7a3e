"""scripts/device_check.sh: what can be checked without a GPU (dry run; clear failure)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def _module():
    return load_script(ROOT / "benchmarks" / "device_check.py")


@pytest.mark.slow
def test_dry_run_prints_the_full_report(tmp_path, capsys):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _module().main(["--dry-run", "--out", str(tmp_path)]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if line.startswith("[device_check] ")]
    (path,) = tmp_path.glob("cpu-*-dry-run.json")
    report = json.loads(path.read_text())
    assert report == json.loads(out[out.index("\n{") + 1 :])  # the final JSON, printed
    assert report["dry_run"] and report["profile"] == "smoke"
    # every phase timed, in order, each with its progress line
    phases = [
        "write_train_split", "read_train_split", "loader", "step", "inference",
        "cuda_graphs_refused", "gpu_training", "scoring",
    ]  # fmt: skip
    assert list(report["phases_s"]) == phases
    assert [line.split()[1].rstrip(":") for line in progress[1:]] == phases
    assert "errors" not in report and "skipped" not in report
    loader = report["loader"]
    assert loader["synth-train"]["workers"] == 1  # a worker process ran
    assert (
        loader["synth-train"]["samples_per_s"] > 0 and loader["synth stream"]["samples_per_s"] > 0
    )
    steps = report["step"]
    assert [s["model"] for s in steps] == ["gsfm", "stcn"]
    assert all(s["losses_finite"] and s["seconds_per_step"] > 0 for s in steps)
    assert all(s["peak_memory_mb"] is None for s in steps)  # a CUDA figure; none on the CPU
    assert report["loader_over_step"] == pytest.approx(
        loader["synth-train"]["samples_per_s"] / steps[0]["samples_per_s"], rel=1e-2
    )
    inf = report["inference"]
    assert inf["fps_ratio_gsfm_over_stcn"] is not None and inf["verdict"]
    assert "bf16" in json.dumps(inf)  # the autocast path ran on the CPU
    refused = report["cuda_graphs_refused"]
    assert refused["refused"] and "needs a CUDA model" in refused["error"]
    training = report["gpu_training"]
    for name in ("gsfm", "stcn"):  # trained end to end in two processes at once, then scored
        assert training[name]["exit_code"] == 0 and training[name]["iterations"] == 2
        assert 0 <= report["scoring"][name]["J&F"] <= 100 and report["scoring"][name]["fps"] > 0
    assert training["encoder_init"] == "random"  # smoke starts from random weights


@pytest.mark.slow
def test_a_killed_dry_run_keeps_the_phases_it_finished(tmp_path):
    """The report is rewritten after every phase: killed (SIGKILL, no chance to clean up)
    right after phase 2, the JSON on disk holds phases 1 and 2 and nothing after."""
    import os
    import signal
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "device_check.py"), "--dry-run",
         "--out", str(tmp_path)],
        stdout=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    seen = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if line.startswith("[device_check] step:"):
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert any(line.startswith("[device_check] step: ok") for line in seen), seen
    (path,) = tmp_path.glob("*.json")
    report = json.loads(path.read_text())
    assert list(report["phases_s"]) == ["write_train_split", "read_train_split", "loader", "step"]
    assert report["loader"]["synth-train"]["samples_per_s"] > 0
    assert [s["model"] for s in report["step"]] == ["gsfm", "stcn"]
    assert "inference" not in report and "gpu_training" not in report


def test_a_phase_that_does_not_fit_the_budget_is_skipped_and_said(tmp_path, capsys):
    module = _module()
    report: dict = {"phases_s": {}}
    phases = module.Phases(report, tmp_path / "r.json", budget=10, estimates={"slow": 60})
    assert phases.run("quick", lambda: {"x": 1}) == {"x": 1}
    assert phases.run("slow", lambda: pytest.fail("a skipped phase must not run")) is None
    assert phases.run("broken", lambda: 1 / 0) is None
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["quick"] == {"x": 1} and list(saved["phases_s"]) == ["quick", "broken"]
    assert "needs about 60 s" in saved["skipped"]["slow"]
    assert saved["errors"]["broken"].startswith("ZeroDivisionError")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[device_check] quick: ok")
    assert out[1].startswith("[device_check] slow: skipped (needs about 60 s")
    assert out[2].startswith("[device_check] broken: failed (ZeroDivisionError")


def test_the_report_goes_to_out_or_dollar_out(tmp_path, monkeypatch):
    module = _module()
    args = type("A", (), {"out": None, "dry_run": True})()
    monkeypatch.delenv("OUT", raising=False)
    assert module._report_path(args, "cpu") is None  # a dry run writes only when told where
    monkeypatch.setenv("OUT", str(tmp_path))
    assert module._report_path(args, "cpu").parent == tmp_path
    args.dry_run = False
    assert module._report_path(args, "NVIDIA H100").name.startswith("nvidia-h100-")


def test_the_report_file_is_named_for_the_device():
    module = _module()
    assert module.device_slug("NVIDIA H200") == "nvidia-h200"
    assert module.device_slug("Tesla V100-SXM2-16GB") == "tesla-v100-sxm2-16gb"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_without_cuda_the_script_fails_fast_and_clearly():
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device_check.sh")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "CUDA is not available" in proc.stderr and proc.stdout == ""
