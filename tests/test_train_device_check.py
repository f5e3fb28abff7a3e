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
        assert _module().main(["--dry-run", "--out", str(tmp_path / "r.json")]) == 0
    finally:
        torch.set_num_threads(before)
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((tmp_path / "r.json").read_text())
    assert report["dry_run"] and report["profile"] == "smoke"
    # every phase timed, in order
    assert list(report["phases_s"]) == [
        "write_train_split", "read_train_split", "loader", "step", "inference",
        "gpu_training", "scoring",
    ]  # fmt: skip
    loader = report["loader"]
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
    training = report["gpu_training"]
    for name in ("gsfm", "stcn"):  # trained end to end in two processes at once, then scored
        assert training[name]["exit_code"] == 0 and training[name]["iterations"] == 2
        assert 0 <= report["scoring"][name]["J&F"] <= 100 and report["scoring"][name]["fps"] > 0
    assert training["encoder_init"] == "random"  # smoke starts from random weights


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
