"""The benchmark scripts still run (tiny sizes); they print figures, so only their output's
shape and the bounded-memory equality are checked, never a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from _scripts import load_script

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


def test_bench_train_step_parts_account_for_every_operator() -> None:
    bench = load_script(BENCH / "bench_train_step.py")
    counts = bench.count_parts("gsfm", profile="smoke")
    row = bench.measure("gsfm", "smoke", 0, True)  # the plain count of the same step
    phase: Counter[str] = Counter()
    for (name, _), n in counts.items():
        phase[name] += n
    assert phase["forward"] + phase["backward"] + phase["other"] == row["operators_fwd_bwd"]
    assert phase["optimizer"] == row["operators_optimizer"]
    for part in ("key_encoder", "value_encoder", "decoder", "memory read", "aggregate", "loss"):
        assert counts[("forward", part)] > 0 and counts[("backward", part)] > 0, part
    assert counts[("forward", "decoder.hfm")] > 0  # the smoke GSFM has an HFM


def test_bench_inference_bounded_memory_gives_the_same_masks(tmp_path: Path) -> None:
    out = _run("bench_inference.py", *TINY, "--chunk", "8", "--json", str(tmp_path / "b.json"))
    assert "gsfm: bounded-memory output identical to unbounded: True" in out
    assert "stcn: bounded-memory output identical to unbounded: True" in out
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert {(r["model"], r["bounded"]) for r in rows} == {
        (m, b) for m in ("gsfm", "stcn") for b in (False, True)
    }
    # the console line signs a memory change with a typographic minus, as the docs do
    bench = load_script(BENCH / "bench_inference.py")
    for change, shown in ((-3.2, "(−3 MB during propagation)"), (12.0, "(+12 MB during")):
        assert shown in bench._format_row({**rows[0], "inference_rss_increase_mb": change})


def test_reproducibility_rows_are_keyed_and_rescoring_adds_its_own_row(tmp_path: Path) -> None:
    """benchmarks/reproducibility.py at the smoke profile on one video: a rerun replaces its row,
    ``--run`` scores the same checkpoint again as a separate row with the same weights digest."""
    import pandas as pd

    common = ["--profile", "smoke", "--threads", "1", "--limit", "1"]
    paths = [
        "--runs-dir", str(tmp_path / "runs"),
        "--data-dir", str(tmp_path / "data"),
        "--out", str(tmp_path / "rows.csv"),
    ]  # fmt: skip
    _run("reproducibility.py", "--model", "stcn", "--seed", "3", *common, *paths)
    _run("reproducibility.py", "--model", "stcn", "--seed", "3", *common, *paths)
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert len(rows) == 1 and rows.loc[0, "model"] == "stcn" and rows.loc[0, "seed"] == 3
    run = tmp_path / "runs" / rows.loc[0, "run"]
    assert (run / "checkpoints" / "final.pt").is_file()
    _run("reproducibility.py", "--run", str(run), "--threads", "2", *paths[2:], "--limit", "1")
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert len(rows) == 2 and rows["weights_sha"].nunique() == 1
    assert sorted(rows["eval_threads"]) == [1, 2] and set(rows["threads"]) == {1}
    assert rows["J&F"].between(0, 100).all()


def test_reproducibility_summary_gives_the_seed_interval(tmp_path: Path) -> None:
    import pandas as pd

    rows = pd.DataFrame(
        {"model": ["gsfm"] * 4, "seed": [0, 1, 2, 0], "capability": ["AVX512"] * 4,
         "threads": [1] * 4, "eval_capability": ["AVX512"] * 3 + ["DEFAULT"],
         "eval_threads": [1] * 4, "J&F": [47.0, 49.0, 51.0, 47.5]}
    )  # fmt: skip
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = _run("reproducibility.py", "--summary", "--out", str(tmp_path / "rows.csv"))
    # seeds 0-2 scored under their own setting: mean 49, t(0.975, 2) * 2 / sqrt(3) = 4.97
    assert "49.0" in out and "4.97" in out and "0 1 2" in out
    assert "0.5" in out  # seed 0 rescored under another capability moved by 0.5
