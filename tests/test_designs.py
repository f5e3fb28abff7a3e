"""gsfm.ablation.designs: the design pilot's table, on rows whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ablation_stats import BASE, VIDEOS, run_rows, video_rows

from gsfm.ablation import stats
from gsfm.ablation.designs import (
    MORE_VIDEOS_SPLIT,
    compare_designs,
    comparison_status,
    design_pilot,
    paired_table,
    planning_table,
    pooled_differences,
    split_replication,
)
from gsfm.ablation.store import load_study
from gsfm.analysis import calibrated

PATTERN = np.array([1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 0.25, -0.25])  # sums to 0


def _write(
    folder: Path,
    seed_shifts: dict[int, float],
    video_noise: float,
    train_s: float,
    split: str = "val",
) -> None:
    """A components study where GSFM = the twin + the seed's shift + a video pattern."""
    rows, vids = {"STCN": {}, "+LFM+HFM+boundary": {}, "GSFM": {}}, {}
    vids = {k: {} for k in rows}
    for seed, shift in seed_shifts.items():
        twin = BASE + seed
        gsfm = twin + shift + video_noise * np.roll(PATTERN, seed)
        for name, scores in (("STCN", twin - 5.0), ("+LFM+HFM+boundary", twin), ("GSFM", gsfm)):
            vids[name][seed], rows[name][seed] = scores, float(scores.mean())
    folder.mkdir(parents=True)
    table = run_rows(rows, study="components", split=split).assign(train_s=train_s)
    table.to_csv(folder / "components.csv", index=False)
    videos = video_rows(vids, study="components", split=split)
    videos.to_csv(folder / "components_videos.csv", index=False)


def test_each_design_gets_its_seed_spread_video_spread_and_cost(tmp_path: Path) -> None:
    _write(tmp_path / "a", {0: -3.0, 1: 1.0, 2: -1.0}, video_noise=4.0, train_s=3600.0)
    _write(tmp_path / "b", {0: 0.5}, video_noise=0.0, train_s=1800.0)
    out = design_pilot({"a": tmp_path / "a", "b": tmp_path / "b"}).set_index(["design", "pair"])
    twin = out.loc[("a", "GSFM − +LFM+HFM+boundary")]
    assert twin["per_seed"] == "-3.00 +1.00 -1.00" and twin["n_seeds"] == 3
    assert twin["seed_sd"] == pytest.approx(2.0)  # SD of -3, 1, -1
    assert twin["seed_var"] == pytest.approx(est_components_seed(tmp_path / "a"))
    assert twin["video_sd"] == pytest.approx(4.0 * PATTERN.std(ddof=1))
    assert twin["train_h_per_seed"] == pytest.approx(2.0)  # both runs of a seed, in hours
    d = np.array([[s + 4.0 * v for v in np.roll(PATTERN, k)] for k, s in enumerate((-3, 1, -1))])
    est = calibrated.estimate(d)
    assert (twin["low"], twin["high"]) == pytest.approx((est.low, est.high))
    assert twin["mde"] == pytest.approx(calibrated.minimum_detectable_effect(est.se, est.df))
    main = out.loc[("a", "GSFM − STCN")]
    assert main["mean"] == pytest.approx(5.0 + (-3 + 1 - 1) / 3)
    # verdicts on the paper's claim: GSFM above STCN; the twins (one network) at 0
    assert main["verdict"] == twin["verdict"] == "unresolved"  # both intervals hold 0 here
    assert out.loc[("b", "GSFM − +LFM+HFM+boundary"), "verdict"] == "unresolved"  # one seed
    _write(tmp_path / "c", {0: -3.0, 1: -3.0, 2: -3.0}, video_noise=0.0, train_s=60.0)
    steady = design_pilot({"c": tmp_path / "c"}).set_index("pair")["verdict"]
    assert steady["GSFM − +LFM+HFM+boundary"] == "contradicted"  # one network, 3 below its twin
    assert steady["GSFM − STCN"] == "confirmed"  # +2 at every seed and video
    one = out.loc[("b", "GSFM − +LFM+HFM+boundary")]  # one seed: no spread over seeds
    assert one["n_seeds"] == 1 and np.isnan(one["seed_sd"]) and np.isnan(one["low"])
    assert one["video_sd"] == 0.0 and one["train_h_per_seed"] == pytest.approx(1.0)


def est_components_seed(folder: Path) -> float:
    """The twin pair's seed variance component, straight from the estimator."""
    tables = load_study(folder, "components", "cpu")
    d, _ = paired_table(tables.rows, tables.videos, "GSFM", "+LFM+HFM+boundary", "val")
    return calibrated.estimate(d.to_numpy()).components.seed


def test_a_pair_without_both_variants_is_left_out(tmp_path: Path) -> None:
    _write(tmp_path / "a", {0: 1.0, 1: 2.0}, video_noise=1.0, train_s=60.0)
    videos = pd.read_csv(tmp_path / "a" / "components_videos.csv", dtype={"sequence": str})
    rows = pd.read_csv(tmp_path / "a" / "components.csv")
    d, cost = paired_table(rows, videos, "GSFM", "attention", "val")
    assert d.empty and cost.empty
    d, cost = paired_table(rows, videos, "GSFM", "STCN", "val")
    assert d.shape == (2, len(VIDEOS)) and cost.tolist() == [120.0, 120.0]
    assert design_pilot({"a": tmp_path / "a"}, pairs=[("GSFM", "attention")]).empty
    assert design_pilot({"missing": tmp_path / "none"}).empty


def test_planning_table_pools_a_studys_components_and_needs_fewer_seeds_with_more_videos(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "a", {0: -3.0, 1: 1.0, 2: -1.0}, video_noise=4.0, train_s=60.0)
    table = planning_table(tmp_path / "a", n_videos=(8, 80, 800)).set_index("study")
    assert list(table.index) == ["components"]  # the other studies have no rows here
    row = table.loc["components"]
    assert row["seeds_now"] == 3 and row["videos_now"] == len(VIDEOS)
    tables = load_study(tmp_path / "a", "components", "cpu")
    every = [("+LFM+HFM+boundary", "STCN"), ("GSFM", "STCN"), ("GSFM", "+LFM+HFM+boundary")]
    diffs = stats.paired_differences(tables.rows, tables.videos, every)  # the study's pairs
    for part in ("seed", "video", "residual"):
        assert row[f"var_{part}"] == pytest.approx(diffs[f"var_{part}"].mean())
    pooled = calibrated.Components(
        row["var_seed"], row["var_video"], row["var_residual"], 3, len(VIDEOS)
    )
    for n in (8, 80, 800):
        assert row[f"seeds_at_{n}_videos"] == calibrated.seeds_for_half_width(
            pooled, 2.0, n_videos=n
        )
    assert row["seeds_at_8_videos"] >= row["seeds_at_80_videos"] >= row["seeds_at_800_videos"]


def test_a_design_over_two_folders_pools_seeds_each_paired_within_its_own_folder(
    tmp_path: Path,
) -> None:
    """Two renderings of a split: every seed's differences come from its own folder, the seeds
    are pooled, and a seed in both folders is refused, naming both."""
    _write(tmp_path / "r1", {0: -3.0, 1: 1.0}, video_noise=4.0, train_s=3600.0)
    _write(tmp_path / "r2", {2: -1.0}, video_noise=4.0, train_s=1800.0)
    _write(tmp_path / "whole", {0: -3.0, 1: 1.0, 2: -1.0}, video_noise=4.0, train_s=3600.0)
    both = design_pilot({"both": [tmp_path / "r1", tmp_path / "r2"]}).set_index("pair")
    whole = design_pilot({"whole": tmp_path / "whole"}).set_index("pair")
    twin = "GSFM − +LFM+HFM+boundary"
    assert both.loc[twin, "per_seed"] == "-3.00 +1.00 -1.00" and both.loc[twin, "n_seeds"] == 3
    for col in ("mean", "seed_sd", "video_sd", "low", "high", "mde"):
        assert both.loc[twin, col] == pytest.approx(whole.loc[twin, col])
    assert both.loc[twin, "train_h_per_seed"] == pytest.approx((2 + 2 + 1) / 3)
    table = pooled_differences([tmp_path / "r1", tmp_path / "r2"], "GSFM", "+LFM+HFM+boundary")
    assert list(table.index) == [0, 1, 2] and table.shape[1] == both.loc[twin, "n_videos"]
    assert table.mean(axis=1).to_list() == pytest.approx([-3.0, 1.0, -1.0])
    _write(tmp_path / "r3", {1: 0.0}, video_noise=1.0, train_s=60.0)
    with pytest.raises(ValueError, match=r"seed 1 .*r1 and .*r3"):
        design_pilot({"clash": [tmp_path / "r1", tmp_path / "r3"]})
    videos = pd.read_csv(tmp_path / "r2" / "components_videos.csv", dtype={"sequence": str})
    videos.assign(sequence="other_" + videos["sequence"]).to_csv(
        tmp_path / "r2" / "components_videos.csv", index=False
    )  # another split's videos: nothing to pool video by video
    with pytest.raises(ValueError, match="share no scored video"):
        design_pilot({"both": [tmp_path / "r1", tmp_path / "r2"]})
    with pytest.raises(FileNotFoundError, match=r"'gone': no results folder .*nowhere"):
        design_pilot({"gone": [tmp_path / "r1", tmp_path / "nowhere"]})
    (tmp_path / "empty").mkdir()  # a folder without this profile's rows adds no seed
    alone = design_pilot({"a": [tmp_path / "r1", tmp_path / "empty"]}).set_index("pair")
    assert alone.loc["GSFM − +LFM+HFM+boundary", "n_seeds"] == 2


def test_split_replication_pairs_each_seed_on_both_splits(tmp_path: Path) -> None:
    _write(tmp_path / "a", {3: -2.0, 4: 1.0, 5: 0.5}, video_noise=2.0, train_s=60.0)
    more = {3: -1.0, 4: 3.0}  # seed 5 not scored on the second split
    _write(tmp_path / "a96", more, video_noise=1.0, train_s=60.0, split=MORE_VIDEOS_SPLIT)
    out = split_replication({"a": tmp_path / "a"}, {"a": tmp_path / "a96"})
    twin = out[out["pair"] == "GSFM − +LFM+HFM+boundary"].set_index("seed")
    assert twin.index.tolist() == [3, 4]  # the seeds scored on both
    assert twin["diff_1"].tolist() == pytest.approx([-2.0, 1.0])
    assert twin["diff_2"].tolist() == pytest.approx([-1.0, 3.0])
    se = PATTERN.std(ddof=1) / np.sqrt(len(PATTERN))
    assert twin["se_1"].tolist() == pytest.approx([2 * se, 2 * se])
    assert twin["se_2"].tolist() == pytest.approx([se, se])
    assert (twin["videos_1"] == len(PATTERN)).all() and (twin["videos_2"] == len(PATTERN)).all()
    # the second split read from the first split's folder: no rows, nothing paired
    assert split_replication({"a": tmp_path / "a"}, {"a": tmp_path / "a"}).empty


def test_compare_designs_sets_the_spread_of_one_designs_seeds_against_the_others(
    tmp_path: Path,
) -> None:
    """Design a's seed means spread (−3, +1, −1: SD 2) far more than b's (0.4, 0.5, 0.6: SD
    0.1): the F ratio of their seed mean squares is (2 / 0.1)², and its p is small; the other
    way round it is near 1. A design without the pair gives an empty frame."""
    _write(tmp_path / "a", {0: -3.0, 1: 1.0, 2: -1.0}, video_noise=4.0, train_s=60.0)
    _write(tmp_path / "b", {0: 0.4, 1: 0.5, 2: 0.6}, video_noise=4.0, train_s=60.0)
    folders = {"a": tmp_path / "a", "b": tmp_path / "b"}
    out = compare_designs(folders, "a", "b").iloc[0]
    assert out["ratio"] == pytest.approx((2.0 / 0.1) ** 2) and (out["df1"], out["df2"]) == (2, 2)
    assert out["p"] < 0.05 and compare_designs(folders, "b", "a").iloc[0]["p"] > 0.95
    assert (out["seeds_first"], out["n_videos"]) == (3, len(VIDEOS))
    row = design_pilot(folders).set_index(["design", "pair"]).loc[("b", "GSFM − +LFM+HFM+boundary")]
    d = pooled_differences(tmp_path / "b", "GSFM", "+LFM+HFM+boundary")
    assert row["seed_var_upper"] == pytest.approx(calibrated.seed_part_upper(d.to_numpy()))
    assert compare_designs({**folders, "c": tmp_path / "none"}, "a", "c").empty


def test_comparison_status_gives_each_comparison_its_own_seeds_or_none(tmp_path: Path) -> None:
    _write(tmp_path / "a", {0: -3.0, 1: 1.0, 2: -1.0}, video_noise=4.0, train_s=3600.0)
    _write(tmp_path / "b", {0: 0.5}, video_noise=0.0, train_s=1800.0)
    wanted = [("components", "GSFM", "STCN"), ("components", "GSFM", "+LFM+HFM+boundary"),
              ("placement", "freqL+freqF", "freqL+freqH")]  # fmt: skip
    out = comparison_status(tmp_path / "a", wanted, split="val").set_index("pair")
    main = out.loc["GSFM − STCN"]
    pilot = design_pilot({"a": tmp_path / "a"}).set_index("pair").loc["GSFM − STCN"]
    for column in ("n_seeds", "per_seed", "mean", "low", "high", "mde", "verdict"):
        assert main[column] == pilot[column]  # the pilot's summary, for any study's pair
    d = pooled_differences(tmp_path / "a", "GSFM", "STCN")
    comps = calibrated.variance_components(d.to_numpy())
    assert main["seeds_for_half_width_2"] == calibrated.seeds_for_half_width(comps, 2.0)
    assert out.loc["freqL+freqF − freqL+freqH", "n_seeds"] == 0  # no placement rows here
    assert np.isnan(out.loc["freqL+freqF − freqL+freqH", "mean"])
    one = comparison_status(tmp_path / "b", wanted[:1], split="val").iloc[0]
    assert one["n_seeds"] == 1 and np.isnan(one["low"]) and np.isnan(one["seeds_for_half_width_2"])
    assert one["verdict"] == "unresolved"
    # a design in the wrong split has no rows: nothing is made up
    assert comparison_status(tmp_path / "a", wanted[:1])["n_seeds"].tolist() == [0]
    with pytest.raises(FileNotFoundError, match="no results folder"):
        comparison_status(tmp_path / "mistyped", wanted, split="val")  # not "no runs" everywhere
