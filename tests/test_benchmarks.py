"""The benchmark scripts still run (tiny sizes); they print figures, so only their output's
shape and the bounded-memory equality are checked, never a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gsfm.runtime import project_root

BENCH = project_root(Path(__file__).parent) / "benchmarks"
TINY = ["--frames", "3", "--height", "64", "--width", "96", "--threads", "1"]


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_inference_parts_prints_every_variant() -> None:
    out = _run("bench_inference_parts.py", *TINY)
    rows = [line for line in out.splitlines() if line.startswith(("GSFM", "STCN"))]
    assert len(rows) == 5, out
    assert "decoder.hfm" in rows[0] and "lfm" in rows[0]  # hooks timed both modules
    assert "decoder.hfm" not in rows[1]  # HFM off


def test_bench_inference_bounded_memory_gives_the_same_masks(tmp_path: Path) -> None:
    out = _run("bench_inference.py", *TINY, "--chunk", "8", "--json", str(tmp_path / "b.json"))
    assert "gsfm: bounded-memory output identical to unbounded: True" in out
    assert "stcn: bounded-memory output identical to unbounded: True" in out
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert {(r["model"], r["bounded"]) for r in rows} == {
        (m, b) for m in ("gsfm", "stcn") for b in (False, True)
    }
