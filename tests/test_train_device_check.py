"""scripts/device_check.sh: what can be checked without a GPU (dry run; clear failure)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location(
        "device_check", ROOT / "benchmarks" / "device_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    assert [t["model"] for t in report["train"]] == ["gsfm", "stcn"]
    assert all(t["losses_finite"] and t["seconds_per_iteration"] > 0 for t in report["train"])
    inf = report["inference"]
    assert inf["gsfm"]["fps"] > 0 and inf["stcn"]["fps"] > 0
    assert (inf["gsfm"]["top_k"], inf["stcn"]["top_k"]) == (50, 20)
    assert inf["fps_ratio_gsfm_over_stcn"] == pytest.approx(
        inf["gsfm"]["fps"] / inf["stcn"]["fps"], rel=1e-3
    )


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
