"""gsfm.ablation.speed: a study's variants timed together; the table, its file, its sentences
and its place in the notebooks' report. Nothing here asserts a speed: only what is recorded."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from gsfm.ablation.speed import (
    SPEED_COLUMNS,
    read_speed,
    speed_path,
    variant_speed,
    write_speed,
)
from gsfm.ablation.text import speed_text
from gsfm.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def timed() -> pd.DataFrame:
    return variant_speed("components", "smoke", rounds=2, videos=(0, 1), variants=["STCN", "GSFM"])


def test_variants_are_timed_on_the_same_videos_with_their_own_settings(timed) -> None:
    assert list(timed.columns) == list(SPEED_COLUMNS)
    assert timed["variant"].tolist() == ["STCN", "GSFM"]  # the study's order
    assert timed["reference"].tolist() == [True, False]
    # components scores every row with GSFM's inference settings
    assert timed["top_k"].tolist() == [50, 50] and timed["mem_every"].tolist() == [3, 3]
    assert set(timed["videos"]) == {"val_000_lookalike val_001_small"}
    assert set(timed["frames"]) == {48} and set(timed["rounds"]) == {2}
    assert (timed["height"] == 64).all() and (timed["width"] == 112).all()  # smoke's val size
    assert (timed["objects"] > 0).all() and timed["device"].iloc[0].startswith("cpu, ")
    assert (timed["fps_min"] <= timed["fps"]).all() and (timed["fps"] <= timed["fps_max"]).all()
    ref = timed.iloc[0]
    assert ref["ratio"] == ref["ratio_min"] == ref["ratio_max"] == 1.0
    assert timed.iloc[1]["ratio_min"] <= timed.iloc[1]["ratio"] <= timed.iloc[1]["ratio_max"]


def test_the_reference_missing_from_the_timing_leaves_no_ratio() -> None:
    t = variant_speed("generalization", "smoke", rounds=1, videos=(0,), variants=["STM-read"])
    assert t["top_k"].isna().all() and t["mem_every"].tolist() == [5]  # STM: no top-k
    assert math.isnan(t["ratio"].iloc[0])


def test_a_top_k_beside_none_is_written_as_an_integer(tmp_path: Path) -> None:
    t = variant_speed(
        "generalization", "smoke", rounds=1, videos=(0,), variants=["STCN-read", "STM-read"]
    )
    top_k = dict(zip(t["variant"], t["top_k"], strict=True))
    assert pd.isna(top_k["STM-read"]) and top_k["STCN-read"] > 0  # STM's read has no top-k
    path = write_speed(t, tmp_path)
    cells = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("variant")
    assert cells.loc["STCN-read", "top_k"] == str(int(top_k["STCN-read"]))  # "20", not "20.0"
    assert cells.loc["STM-read", "top_k"] == ""
    assert cells["mem_every"].tolist() == [str(m) for m in t["mem_every"]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rounds": 0}, "rounds must be a positive integer"),
        ({"rounds": True}, "rounds must be a positive integer"),
        ({"variants": ["GSFM", "+XYZ"]}, r"no variant\(s\) \['\+XYZ'\]"),
        ({"videos": ()}, "at least one validation video"),
    ],
)
def test_bad_timing_parameters_are_refused(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        variant_speed("components", "smoke", **kwargs)


def test_a_new_timing_replaces_its_device_only(tmp_path: Path, timed) -> None:
    assert read_speed(tmp_path, "components") is None
    path = write_speed(timed, tmp_path)
    assert path == speed_path(tmp_path, "components") and path.is_file()
    other = timed.assign(device="NVIDIA H200", fps=100.0)
    write_speed(other, tmp_path)
    write_speed(timed.assign(fps=1.0), tmp_path)  # the CPU timing again: replaces the first
    back = read_speed(tmp_path, "components")
    assert len(back) == 4 and set(back["device"]) == {timed["device"].iloc[0], "NVIDIA H200"}
    assert back.loc[back["device"] != "NVIDIA H200", "fps"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="no speed rows"):
        write_speed(timed.iloc[:0], tmp_path)
    path.write_text("study,variant\ncomponents,GSFM\n")
    with pytest.raises(ValueError, match=r"components_speed.csv: missing column\(s\)"):
        read_speed(tmp_path, "components")


def _table(**ratios: float) -> pd.DataFrame:
    rows = []
    for i, (variant, ratio) in enumerate(ratios.items()):
        rows.append(
            {**dict.fromkeys(SPEED_COLUMNS, 1), "study": "components", "variant": variant,
             "reference": i == 0, "profile": "cpu", "device": "cpu, 1 thread", "cpu_capability": "AVX512",
             "torch": "2.14.1", "videos": "a b c", "frames": 72, "height": 160, "width": 288,
             "rounds": 3, "fps": 8.0 * ratio, "ratio": ratio, "ratio_min": ratio - 0.1,
             "ratio_max": ratio + 0.1}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_speed_text_states_the_ratios_and_the_papers() -> None:
    text = speed_text(_table(STCN=1.0, GSFM=0.8), "components")
    assert (
        "timed together in one process (cpu, 1 thread, AVX512, torch 2.14.1; 3 interleaved" in text
    )
    assert "over 72 frames of 160×288 from 3 validation videos" in text
    assert (
        "STCN 8.00 FPS (reference); GSFM 6.40 FPS, ×0.80 of STCN "
        "(the median of the rounds' ratios, 0.70–0.90)." in text
    )
    assert "The paper (Table 5, one V100): GSFM ×0.76 of STCN (8.9 vs 11.7 FPS)." in text
    # no FPS in the paper's Table 4: no paper sentence
    assert "The paper" not in speed_text(_table(**{"STCN-read": 1.0}), "generalization")
    assert "not timed together yet" in speed_text(None, "components")
    rows = pd.DataFrame(
        {"variant": ["GSFM", "GSFM", "STCN", "STCN"], "split": "val", "seed": [0, 1, 0, 1],
         "eval_fps": [1.5, 4.5, 3.0, 3.3]}
    )  # fmt: skip
    spread = "one variant's eval_fps differs up to ×3.0 between its seeds (GSFM, val)"
    assert spread in speed_text(None, "components", rows)
    assert spread in speed_text(_table(STCN=1.0), "components", rows)
    assert "differs up to" not in speed_text(None, "components", rows[rows["seed"] == 0])
    assert "`python -m gsfm ablate --speed`" in speed_text(pd.DataFrame(), "components")


def test_the_report_takes_speed_from_the_timing_not_from_the_rows(tmp_path: Path) -> None:
    from gsfm.ablation.report import study_report

    for name in ("components.csv", "components_videos.csv"):
        shutil.copy(ROOT / "results" / "ablations" / name, tmp_path / name)
    without = study_report("components", "cpu", results_dir=tmp_path, figures_dir=None)
    assert without.summary["fps"].isna().all() and "not timed together yet" in without.text
    present = set(without.summary["variant"])
    assert {"STCN", "GSFM"} <= present  # the committed rows (more as the grid fills in)
    others = sorted(present - {"STCN"})
    ratios = {"STCN": 1.0} | {v: 0.5 + 0.1 * i for i, v in enumerate(others)}  # reference first
    write_speed(_table(**ratios), tmp_path)
    report = study_report("components", "cpu", results_dir=tmp_path, figures_dir=None)
    got = report.summary.drop_duplicates("variant").set_index("variant")["fps_ratio"]
    assert got.to_dict() == pytest.approx(ratios)
    assert "timed together in one process" in report.text
    assert "eval_fps" in report.summary.columns  # kept, as recorded


def test_ablate_speed_writes_the_table(tmp_path: Path, capsys) -> None:
    args = ["ablate", "--speed", "--study", "generalization", "--profile", "smoke", "--device"]
    assert main([*args, "cpu", "--threads", "1", "--rounds", "1", "--results", str(tmp_path)]) == 0
    table = read_speed(tmp_path, "generalization")
    assert table is not None and len(table) == 4 and set(table["rounds"]) == {1}
    assert "generalization: 4 variants timed on cpu, 1 thread" in capsys.readouterr().out
    assert main([*args, "cpu", "--rounds", "0", "--results", str(tmp_path)]) == 2
    assert "--rounds must be >= 1" in capsys.readouterr().err
