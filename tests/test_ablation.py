"""gsfm.ablation and ``python -m gsfm ablate``: studies as data, resumable rows, no half rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from gsfm.ablation.runner import Task, plan, run_ablation
from gsfm.ablation.schema import (
    KEY,
    OBJECT_COLUMNS,
    RUN_COLUMNS,
    TABLE_SCHEMAS,
    VIDEO_COLUMNS,
    check_objects,
    check_table,
    check_videos,
    part_rows,
    run_scores,
)
from gsfm.ablation.store import write_rows
from gsfm.ablation.studies import (
    STUDIES,
    EvalSplit,
    Study,
    Variant,
    get_studies,
    split_arguments,
    split_label,
)
from gsfm.cli import main
from gsfm.config import model_config

ROOT = Path(__file__).resolve().parents[1]


def test_studies_follow_the_paper_rows() -> None:
    assert list(STUDIES) == ["sigma", "placement", "components", "generalization", "small_objects"]
    sigma = STUDIES["sigma"]
    assert sigma.reference.label == "sigma=7" and sigma.reference.overrides == {}
    relative = [v for v in sigma.variants if v.overrides.get("sigma_mode") == "relative"]
    assert [round(v.overrides["sigma"] * 24, 6) for v in relative] == [3, 5, 7, 10, 15]
    # each relative σ against the paper's σ in its mode, which is compared with 7 bins
    baselines = sigma.baselines()
    assert [baselines[v.label] for v in relative] == ["sigma=7/24 relative"] * 2 + ["sigma=7"] + [
        "sigma=7/24 relative"
    ] * 2
    assert baselines["sigma=3"] == "sigma=7" and "sigma=7" not in baselines
    assert len(sigma.splits) == 2  # scored at a second size too
    placement = {v.label: v.overrides for v in STUDIES["placement"].variants}
    assert len(placement) == 6 and placement["freqL+freqH"] == {"lfm": "low", "hfm": "high"}
    assert placement["attention+freqH"]["lfm"] == "attention"
    # the reference placement is GSFM itself: the same run as every other GSFM row
    assert model_config("gsfm", "cpu", **placement["freqL+freqH"]) == model_config("gsfm", "cpu")
    comps = STUDIES["components"]
    assert comps.reference.model == "stcn" and comps.reference.overrides == {}
    assert {tuple(sorted(v.inference.items())) for v in comps.variants} == {
        (("mem_every", 3), ("top_k", 50))
    }  # one inference setting for every row: only training differs
    gen = {v.label: v for v in STUDIES["generalization"].variants}
    assert (
        gen["STM-read"].overrides == {"affinity": "dot"}
        and gen["STM-read"].inference["top_k"] is None
    )
    assert STUDIES["small_objects"].per_object


def test_bad_studies_and_variants_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown study"):
        get_studies(["sigma", "colour"])
    with pytest.raises(ValueError, match="unknown model option"):
        Variant("x", overrides={"sigmaa": 3})
    with pytest.raises(ValueError, match="inference"):
        Variant("x", inference={"topk": 3})
    with pytest.raises(ValueError, match="exactly one reference"):
        Study("s", "-", "?", (Variant("a"), Variant("b")))
    with pytest.raises(ValueError, match="repeat"):
        Study("s", "-", "?", (Variant("a", reference=True), Variant("a")))
    with pytest.raises(ValueError, match="'b' is compared with 'c', which is not another"):
        Study("s", "-", "?", (Variant("a", reference=True), Variant("b", compare_to="c")))
    with pytest.raises(ValueError, match="the reference is compared with nothing"):
        Variant("a", reference=True, compare_to="b")
    with pytest.raises(ValueError, match="extra pair \\('a', 'c'\\) must name two different"):
        Study(
            "s", "-", "?", (Variant("a", reference=True), Variant("b")), extra_pairs=(("a", "c"),)
        )


def test_the_components_extra_pair_differs_only_in_the_key_conv_biases() -> None:
    """What the components study's notebook text says of GSFM vs STCN+LFM+HFM+boundary."""
    study = STUDIES["components"]
    assert study.extra_pairs == (("GSFM", "+LFM+HFM+boundary"),)
    variants = {v.label: v for v in study.variants}
    a, b = (variants[label] for label in study.extra_pairs[0])
    assert a.inference == b.inference == {"top_k": 50, "mem_every": 3}  # scored alike
    ra, rb = (Task(study, v, 0).run_config("cpu") for v in (a, b))
    assert {k for k in ra if ra[k] != rb[k]} == {"model_name", "model"}  # same data, training
    ma, mb = ra["model"], rb["model"]
    # top_k and mem_every act at inference only (training reads the whole memory)
    assert {k for k in ma if ma[k] != mb[k]} == {"name", "key_conv_bias", "top_k", "mem_every"}


def test_split_sizes_scale_with_the_profile() -> None:
    assert split_arguments("smoke", EvalSplit()) == {"height": 64, "width": 112, "limit": 3}
    assert split_arguments("cpu", EvalSplit("val", 1.5)) == {"height": 240, "width": 432}
    assert split_label("cpu", EvalSplit("val", 1.5)) == "val-240x432"
    assert split_label("cpu", EvalSplit("small")) == "small"
    more = EvalSplit("val", version="val96-v1")  # another benchmark version: its name says so
    assert split_arguments("cpu", more) == {"height": 160, "width": 288, "version": "val96-v1"}
    assert split_label("cpu", more) == "val-val96-v1"
    assert split_label("cpu", EvalSplit("val", 1.5, "val96-v1")) == "val-val96-v1-240x432"


def test_plan_goes_seed_by_seed_and_skips_written_rows(tmp_path: Path) -> None:
    studies = get_studies(["placement", "small_objects"])
    tasks = plan(studies, [0, 1], "smoke", tmp_path, max_variants=2)
    assert [(t.study.name, t.variant.label, t.seed) for t in tasks] == [
        ("placement", "freqL+freqH", 0), ("placement", "freqF+freqH", 0),
        ("small_objects", "STCN", 0), ("small_objects", "GSFM", 0),
        ("placement", "freqL+freqH", 1), ("placement", "freqF+freqH", 1),
        ("small_objects", "STCN", 1), ("small_objects", "GSFM", 1),
    ]  # fmt: skip
    # small_objects has two splits: a task is done only when both rows exist (complete rows:
    # the results tables are checked on read)
    row = {"study": "small_objects", "variant": "STCN", "seed": 0, "profile": "smoke",
           "overrides": "{}", "inference": "{}", "model": "stcn", "reference": True,
           "run": "stcn-smoke-seed0-x", "train_s": 1.0, "eval_fps": 2.0, "JF": 40.0, "J": 39.0,
           "F": 41.0}  # fmt: skip
    pd.DataFrame([{**row, "split": "val"}]).to_csv(tmp_path / "small_objects.csv", index=False)
    assert len(plan(studies, [0, 1], "smoke", tmp_path, max_variants=2)) == 8
    pd.DataFrame([{**row, "split": s} for s in ("val", "small")]).to_csv(
        tmp_path / "small_objects.csv", index=False
    )
    left = plan(studies, [0, 1], "smoke", tmp_path, max_variants=2)
    assert ("small_objects", "STCN", 0) not in [
        (t.study.name, t.variant.label, t.seed) for t in left
    ]
    assert len(left) == 7
    # a row written under another definition of the variant (here other inference settings)
    # does not count: the task is done again
    pd.DataFrame(
        [{**row, "split": s, "inference": '{"top_k": 50}'} for s in ("val", "small")]
    ).to_csv(tmp_path / "small_objects.csv", index=False)
    assert len(plan(studies, [0, 1], "smoke", tmp_path, max_variants=2)) == 8


def _ablate_args(tmp: Path) -> list[str]:
    return [
        "ablate", "--study", "placement", "--seeds", "0", "--profile", "smoke",
        "--device", "cpu", "--max-variants", "2", "--runs-dir", str(tmp / "runs"),
        "--results", str(tmp / "results"), "--data-dir", str(tmp / "data"), "--quiet",
    ]  # fmt: skip


def test_rows_carry_provenance_and_a_second_run_adds_nothing(tmp_path: Path) -> None:
    tasks = run_ablation(
        ["placement"], [0], profile="smoke", device="cpu", max_variants=2, progress=False, jobs=2,
        runs_dir=tmp_path / "runs", results_dir=tmp_path / "results", data_dir=tmp_path / "data",
    )  # fmt: skip
    assert len(tasks) == 2  # trained by two worker processes at once
    rows = pd.read_csv(tmp_path / "results" / "placement.csv")
    videos = pd.read_csv(tmp_path / "results" / "placement_videos.csv")
    assert sorted(rows["variant"]) == ["freqF+freqH", "freqL+freqH"]
    assert rows["reference"].tolist().count(True) == 1
    for col in ("git_commit", "config_hash", "data_hash", "device", "torch", "train_s", "eval_fps"):
        assert rows[col].notna().all(), col
    assert set(rows["profile"]) == {"smoke"} and set(rows["split"]) == {"val"}
    assert rows["JF"].between(0, 100).all() and (rows["frames"] > 0).all()
    assert rows.loc[0, "config_hash"] != rows.loc[1, "config_hash"]  # two trainings
    assert len(videos) == 2 * 3  # 3 smoke videos per variant
    assert not videos.duplicated(subset=[*KEY, "sequence"]).any()
    before = {p.name: p.read_bytes() for p in (tmp_path / "results").iterdir()}
    assert main(_ablate_args(tmp_path)) == 0  # the same grid again: nothing to do
    after = {p.name: p.read_bytes() for p in (tmp_path / "results").iterdir()}
    assert after == before


def _rows(path: Path) -> int:
    try:
        return len(pd.read_csv(path))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


def test_killed_after_one_row_resumes_without_duplicates(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gsfm", *_ablate_args(tmp_path)]
    table = tmp_path / "results" / "placement.csv"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while _rows(table) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _rows(table) == 1, "killed after the first row: exactly one row is written"
    assert main(_ablate_args(tmp_path)) == 0
    rows = pd.read_csv(table)
    videos = pd.read_csv(tmp_path / "results" / "placement_videos.csv")
    assert len(rows) == 2 and not rows.duplicated(subset=list(KEY)).any()
    assert not videos.duplicated(subset=[*KEY, "sequence"]).any() and len(videos) == 6
    assert rows.notna().all().all()  # no half row
    assert not list((tmp_path / "results").glob("*.tmp*"))  # no temporary files left behind


def test_no_training_starts_after_the_time_limit(tmp_path: Path, monkeypatch, capsys) -> None:
    ticks = iter([0.0, 0.5])  # the limit is set at 0 s; the first training starts at 0.5 s
    monkeypatch.setattr(
        "gsfm.ablation.runner._clock", lambda: next(ticks, 2.0)
    )  # then 2 s: past 1 s
    kw = dict(profile="smoke", device="cpu", max_variants=2, progress=False,
              runs_dir=tmp_path / "runs", results_dir=tmp_path / "results",
              data_dir=tmp_path / "data")  # fmt: skip
    done = run_ablation(["placement"], [0], time_limit=1.0, **kw)
    assert [t.variant.label for t in done] == ["freqL+freqH"]  # the reference, trained first
    assert "time limit of 1 s reached: 1 task(s) left" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "results" / "placement.csv")["variant"].tolist() == [
        "freqL+freqH"
    ]
    # limit 0 with two jobs (the worker-pool path): no training starts and nothing is written
    monkeypatch.setattr("gsfm.ablation.runner._clock", time.monotonic)
    assert run_ablation(["placement"], [0], time_limit=0, jobs=2, **kw) == []
    assert "1 task(s) left" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "results" / "placement.csv")) == 1
    assert main([*_ablate_args(tmp_path), "--time-limit", "-1"]) == 2
    assert "--time-limit must be >= 0 seconds, got -1.0" in capsys.readouterr().err


def test_score_only_scores_finished_runs_on_another_split_and_trains_nothing(
    tmp_path: Path, capsys
) -> None:
    kw = dict(profile="smoke", device="cpu", progress=False, runs_dir=tmp_path / "runs",
              data_dir=tmp_path / "data")  # fmt: skip
    run_ablation(["placement"], [0], variants=["freqL+freqH"], results_dir=tmp_path / "r", **kw)
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    more = [EvalSplit("val", version="val96-v1")]
    out = tmp_path / "r96"
    # a dry run lists what would be scored: the task with a finished run, not the other one
    listed = run_ablation(["placement"], [0], max_variants=2, splits=more, train=False,
                          results_dir=out, dry_run=True, **kw)  # fmt: skip
    assert [t.variant.label for t in listed] == ["freqL+freqH"]
    assert "1 task(s) have no finished run" in capsys.readouterr().err
    assert not out.exists()  # nothing written by a dry run
    argv = ["ablate", "--study", "placement", "--seeds", "1", "--profile", "smoke", "--quiet",
            "--score-only", "--score-on", "val96-v1", "--dry-run", "--results", str(out),
            "--runs-dir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert main(argv) == 0  # seed 1 has no run: nothing to score, and not "every row is in"
    said = capsys.readouterr()
    assert said.out.strip() == f"nothing to score into {out}."
    assert "6 task(s) have no finished run" in said.err  # all six placements
    done = run_ablation(["placement"], [0], max_variants=2, splits=more, train=False,
                        results_dir=out, **kw)  # fmt: skip
    assert [t.variant.label for t in done] == ["freqL+freqH"]  # the one with a finished run
    assert "1 task(s) have no finished run" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir()) == runs
    rows = pd.read_csv(out / "placement.csv")
    videos = pd.read_csv(out / "placement_videos.csv")
    assert rows["split"].tolist() == ["val-val96-v1"] and rows["run"].tolist() == runs
    first = pd.read_csv(tmp_path / "r" / "placement_videos.csv")
    assert len(videos) == len(first) == 3  # smoke: 3 videos of each split
    assert set(videos["sequence"]) == set(first["sequence"])  # the same names, ...
    assert (videos["JF"].to_numpy() != first["JF"].to_numpy()).any()  # ... other videos
    with pytest.raises(ValueError, match="name at least one split"):
        run_ablation(["placement"], [0], splits=[], results_dir=out, **kw)


@pytest.mark.parametrize(
    ("version", "message"),
    [("val97-v1", "unknown synthetic benchmark version 'val97-v1'"),
     ("small-v1", "synth-small-v1 has no 'val' split")],
)  # fmt: skip
def test_score_on_a_version_without_a_val_split_is_refused_even_in_a_dry_run(
    tmp_path: Path, capsys, version: str, message: str
) -> None:
    argv = ["ablate", "--study", "placement", "--seeds", "0", "--profile", "smoke",
            "--score-only", "--score-on", version, "--dry-run", "--quiet",
            "--results", str(tmp_path / "r")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


_WRITER = """
import sys, time
from pathlib import Path
import pandas as pd
from gsfm.ablation.runner import Task
from gsfm.ablation.store import write_rows
from gsfm.ablation.studies import get_studies
results, first, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
study = get_studies("placement")[0]
while not go.exists():
    time.sleep(0.01)
for seed in range(first, first + 25):
    key = {"study": "placement", "variant": study.reference.label, "seed": seed,
           "split": "val", "profile": "smoke"}
    rows = pd.DataFrame([{**key, "JF": 50.0}])
    videos = pd.DataFrame([{**key, "sequence": "v0", "JF": 50.0}])
    write_rows(results, Task(study, study.reference, seed), (rows, videos, pd.DataFrame()))
"""


def test_two_processes_writing_one_study_lose_no_rows(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), str(first), str(go)], env=env
        )
        for first in (0, 100)
    ]
    time.sleep(0.5)
    go.touch()  # both start writing at once (each waits for this file after its imports)
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    for name in ("placement.csv", "placement_videos.csv"):
        seeds = sorted(pd.read_csv(tmp_path / name)["seed"])
        assert seeds == [*range(25), *range(100, 125)], name  # every row of both writers


def test_a_new_row_leaves_the_earlier_lines_as_they_were(tmp_path: Path) -> None:
    # generalization's STM-read has no top-k: its empty `top_k` once retyped the column of
    # the rows already written, turning their 20 into 20.0
    study = get_studies("generalization")[0]
    ref, other = study.variants[0], study.variants[1]

    def write(variant: Variant, seed: int, top_k: float, jf: float) -> None:
        key = {"study": study.name, "variant": variant.label, "seed": seed, "split": "val",
               "profile": "smoke"}  # fmt: skip
        rows = pd.DataFrame([{**key, "top_k": top_k, "JF": jf}])
        videos = pd.DataFrame([{**key, "sequence": "v0", "JF": jf}])
        write_rows(tmp_path, Task(study, variant, seed), (rows, videos, pd.DataFrame()))

    write(ref, 0, 20, 0.1 + 0.2)
    write(ref, 1, 20, 47.5)
    before = (tmp_path / "generalization.csv").read_text().splitlines()
    assert before[1].split(",")[-2:] == ["20", "0.30000000000000004"]
    write(other, 0, float("nan"), 36.5)  # no top-k, as the scores table gives it
    after = (tmp_path / "generalization.csv").read_text().splitlines()
    assert after[:3] == before and len(after) == 4
    assert after[3].split(",")[-2:] == ["", "36.5"]
    write(ref, 1, 20, 48.0)  # the same key again: replaced, not added
    table = pd.read_csv(tmp_path / "generalization.csv")
    assert len(table) == 3 and table["JF"].tolist() == [0.1 + 0.2, 36.5, 48.0]
    assert table["top_k"].isna().tolist() == [False, True, False]


def test_a_damaged_results_file_is_one_clear_error_and_stays(tmp_path: Path) -> None:
    study = get_studies("placement")[0]
    key = {"study": "placement", "variant": study.reference.label, "seed": 0, "split": "val",
           "profile": "smoke"}  # fmt: skip
    tables = (pd.DataFrame([{**key, "JF": 50.0}]), pd.DataFrame(), pd.DataFrame())
    damaged = tmp_path / "placement.csv"
    damaged.write_text("study,JF\nplacement,50.0\n")  # no variant, seed, split or profile
    with pytest.raises(ValueError, match=r"placement\.csv: missing column\(s\) \['variant'"):
        write_rows(tmp_path, Task(study, study.reference, 0), tables)
    assert damaged.read_text() == "study,JF\nplacement,50.0\n"


def test_a_run_trained_on_another_device_type_is_not_reused(tmp_path: Path) -> None:
    import json

    from gsfm.ablation.runner import _find_run
    from gsfm.experiments import trained_run

    task = plan(get_studies(["placement"]), [0], "smoke", tmp_path, max_variants=1)[0]
    run = trained_run("gsfm", "smoke", seed=0, runs_dir=tmp_path / "runs", device="cpu",
                      progress=False, **task.variant.overrides)  # fmt: skip
    assert _find_run(task, "smoke", [tmp_path / "runs"], {}, "cpu") == run
    config = json.loads((run / "config.json").read_text())
    config["provenance"]["device"] = "cuda:0 (NVIDIA H200)"  # as if trained on a GPU
    (run / "config.json").write_text(json.dumps(config))
    assert _find_run(task, "smoke", [tmp_path / "runs"], {}, "cpu") is None
    assert _find_run(task, "smoke", [tmp_path / "runs"], {}, "cuda") == run


def test_a_study_without_rows_says_how_to_produce_them(tmp_path: Path) -> None:
    from gsfm.ablation.report import study_report

    report = study_report("placement", "cpu", results_dir=tmp_path, figures_dir=tmp_path)
    assert report.figure is None and report.tables is None
    assert "python -m gsfm ablate --study placement --profile cpu" in report.text
    assert not list(tmp_path.iterdir())  # nothing written
    with pytest.raises(ValueError, match="unknown study"):
        study_report("colour", "cpu", results_dir=tmp_path)


@pytest.mark.parametrize(
    "study", ["sigma", "placement", "components", "generalization", "small_objects"]
)
def test_a_study_whose_reference_has_no_rows_yet_is_reported(study: str, tmp_path: Path) -> None:
    """An interrupted grid can leave a study without its reference variant: the report says
    so and compares what it can (the paper's own pairs), instead of failing."""
    from gsfm.ablation.report import study_report

    reference = get_studies(study)[0].reference.label
    for path in (ROOT / "results" / "ablations").glob(f"{study}*.csv"):
        table = pd.read_csv(path)
        if "variant" in table.columns:
            table = table[table["variant"] != reference]
        table.to_csv(tmp_path / path.name, index=False)
    if pd.read_csv(tmp_path / f"{study}.csv").empty:
        pytest.skip(f"the committed {study} rows are all the reference's")
    report = study_report(study, "cpu", results_dir=tmp_path, figures_dir=tmp_path / "fig")
    assert f"The reference variant {reference!r} has no rows yet" in report.text
    assert report.figure is not None and report.path is not None and report.path.is_file()
    assert report.differences.empty or reference not in set(report.differences["baseline"])


def test_load_study_keeps_one_profile_and_one_device(tmp_path: Path) -> None:
    from gsfm.ablation.schema import RUN_COLUMNS
    from gsfm.ablation.store import load_study

    blank = {**dict.fromkeys(RUN_COLUMNS, "-"), "overrides": "{}", "inference": "{}"}
    rows = [
        {**blank, "study": "placement", "variant": v, "reference": v == "freqL+freqH",
         "seed": s, "split": "val", "profile": p, "device": d, "JF": 50.0, "J": 50.0, "F": 50.0,
         "train_s": 1.0, "eval_fps": 1.0, "objects": 1, "frames": 1}
        for v in ("freqL+freqH", "freqF+freqH")
        for s, p, d in ((0, "cpu", "cpu, 1 thread"), (1, "cpu", "cpu, 1 thread"),
                        (0, "cpu", "NVIDIA H200"), (0, "gpu", "NVIDIA H200"))
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "placement.csv", index=False)
    t = load_study(tmp_path, "placement", "cpu")
    assert set(t.rows["device"]) == {"cpu, 1 thread"} and len(t.rows) == 4  # the larger group
    assert t.device_note == (
        "Left out, so that no comparison mixes devices: 2 rows trained on NVIDIA H200."
    )
    # the same label with other CPU kernels (AVX2) is another device; rows whose runs did not
    # record their kernels (seeds 0, 1 here) stay with the device's most common recorded set
    same = {**rows[0], "variant": "freqF+freqH", "reference": False}
    rows += [{**same, "seed": 2, "cpu_capability": "AVX2"}]
    rows += [{**r, "seed": 3, "cpu_capability": "AVX512"} for r in (rows[0], same)]
    pd.DataFrame(rows).to_csv(tmp_path / "placement.csv", index=False)
    t = load_study(tmp_path, "placement", "cpu")
    assert sorted(set(t.rows["seed"].astype(int))) == [0, 1, 3]
    assert t.device_note == (
        "Left out, so that no comparison mixes devices: 2 rows trained on NVIDIA H200; 1 row "
        "trained on cpu, 1 thread (AVX2). 4 of the rows kept come from runs that did not "
        "record their CPU kernel set; the others are AVX512."
    )
    assert set(load_study(tmp_path, "placement", "cpu", "NVIDIA H200").rows["seed"]) == {0}
    assert load_study(tmp_path, "placement", "paper") is None


def test_rows_of_another_device_type_are_refused_and_workers_change_the_run(tmp_path: Path) -> None:
    from gsfm.ablation.runner import Task
    from gsfm.ablation.store import check_one_device_type

    row = {"study": "placement", "variant": "freqL+freqH", "seed": 0, "split": "val"}
    pd.DataFrame([{**row, "profile": "cpu", "device": "cpu, 1 thread"}]).to_csv(
        tmp_path / "placement.csv", index=False
    )
    studies = get_studies(["placement"])
    check_one_device_type(tmp_path, studies, "cpu", "cpu")  # the same kind: fine
    check_one_device_type(tmp_path, studies, "gpu", "cuda")  # another profile: fine
    with pytest.raises(ValueError, match="must not mix devices.*ablations-cuda"):
        check_one_device_type(tmp_path, studies, "cpu", "cuda")
    task = Task(STUDIES["placement"], STUDIES["placement"].reference, 0)
    assert task.train_key("cpu") != task.train_key("cpu", num_workers=8)
    assert task.run_config("cpu", num_workers=8)["train"]["num_workers"] == 8


@contextmanager
def _held_elsewhere(lock: Path) -> Iterator[None]:
    """Hold ``lock`` through a file of its own, as another process does (``exclusive`` lets the
    process that holds a lock enter it again)."""
    import fcntl

    with lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def test_a_run_another_process_trains_is_skipped_and_left_alone(tmp_path: Path, capsys) -> None:
    """Two `ablate` commands on one machine must not both train (or delete) one run folder:
    the second skips it and leaves its tasks for the next call."""
    from gsfm.experiments import run_name, trained_run
    from gsfm.files import Busy, exclusive

    kw = dict(profile="smoke", device="cpu", max_variants=2, progress=False,
              runs_dir=tmp_path / "runs", results_dir=tmp_path / "results",
              data_dir=tmp_path / "data")  # fmt: skip
    ref, other = plan(
        get_studies(["placement"]), [0], "smoke", tmp_path / "results", max_variants=2
    )
    name = run_name(other.run_config("smoke"))
    started = tmp_path / "runs" / name  # the other process's run, before its first checkpoint
    (started / "checkpoints").mkdir(parents=True)
    (started / "log.csv").write_text("iteration\n")
    lock = tmp_path / "runs" / f".{name}.lock"
    with _held_elsewhere(lock):  # held as the other process's trained_run holds it
        with pytest.raises(Busy, match=f"{name} is being trained by another process"):
            trained_run(other.variant.model, "smoke", seed=0, runs_dir=tmp_path / "runs",
                        device="cpu", progress=False, **other.variant.overrides)  # fmt: skip
        done = run_ablation(["placement"], [0], **kw)
        assert [t.variant.label for t in done] == [ref.variant.label]
        err = capsys.readouterr().err
        assert f"skipped: {started} is being trained by another process" in err
        assert "1 task(s) skipped because another process is training their runs" in err
        assert run_ablation(["placement"], [0], jobs=2, **kw) == []  # the worker-pool path
        assert "1 task(s) skipped" in capsys.readouterr().err
        assert (started / "log.csv").read_text() == "iteration\n"  # neither deleted nor resumed
        assert pd.read_csv(tmp_path / "results" / "placement.csv")["variant"].tolist() == [
            ref.variant.label
        ]
    with exclusive(lock, wait=False):  # released with the block (and by a dying process)
        pass


def test_the_writer_and_the_readers_share_one_schema(tmp_path: Path) -> None:
    """The companion rows the runner and the small-split scorer write (``part_rows``, from the
    scorer's columns) are what ``check_table`` and the statistics' checks read: the key first,
    every typed column, J&F ×100; a scorer table without a column is refused by name."""
    per_video = pd.DataFrame(
        {"sequence": ["0001", "b"], "J&F-Mean": [0.5, 0.25], "J-Mean": [0.4, 0.2],
         "F-Mean": [0.6, 0.3], "fps": [3.0, 4.0]}
    )  # fmt: skip
    per_object = per_video.assign(object=["1", "2"], area_share=[0.01, 0.002])
    key = {"study": "small_objects", "variant": "GSFM", "seed": 0, "split": "val"}
    key["profile"] = "cpu"
    for kind, scores, columns, check in (
        ("videos", per_video, VIDEO_COLUMNS, check_videos),
        ("objects", per_object, OBJECT_COLUMNS, check_objects),
    ):
        rows = part_rows(scores, kind, **key)
        assert list(rows.columns[: len(KEY)]) == list(KEY)
        assert set(rows.columns) == {*columns, "profile"} >= set(TABLE_SCHEMAS[kind])
        assert rows["JF"].tolist() == [50.0, 25.0]
        path = tmp_path / f"small_objects_{kind}.csv"
        rows.to_csv(path, index=False)
        text = check_table(path, kind)  # as written
        assert text["sequence"].tolist() == ["0001", "b"]  # names stay text
        checked = check(pd.read_csv(path, dtype={"sequence": str, "object": str}))
        assert checked["JF"].tolist() == [50.0, 25.0]
    with pytest.raises(KeyError, match="area"):
        part_rows(per_video, "objects", **key)
    summary = pd.Series(
        {"fps": 3.14159, "top_k": 50, "mem_every": 3, "J&F-Mean": 0.5, "J-Mean": 0.4,
         "F-Mean": 0.6, "n_objects": 2, "frames": 24}
    )  # fmt: skip
    scores = run_scores(summary)  # the main row's score columns, named as the readers want them
    assert {k for k, t in TABLE_SCHEMAS[""].items() if t == "float"} - {"train_s"} <= set(scores)
    assert set(scores) - {"top_k", "mem_every"} <= set(RUN_COLUMNS)  # what check_rows reads
    assert (scores["JF"], scores["eval_fps"], scores["frames"]) == (50.0, 3.142, 24)
