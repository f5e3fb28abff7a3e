"""gsfm.ablation.stats, .schema, .store, .text and .paper: statistics against scipy called
directly, hand-computable cases, the Table 6 buckets, the sentences' verdicts, the paper's numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gsfm.ablation import schema, store
from gsfm.ablation import stats as A
from gsfm.ablation import text as T
from gsfm.ablation.paper import PAPER_STUDIES, paper_pairs, paper_rows
from gsfm.ablation.studies import STUDIES
from gsfm.analysis.wording import interval

VIDEOS = [f"v{i:02d}" for i in range(8)]
BASE = np.array([31.0, 44.5, 52.0, 60.25, 38.0, 71.5, 47.0, 55.0])  # per-video reference scores


def run_rows(
    scores: dict[str, dict[int, float]],
    study: str = "placement",
    split: str = "val",
    overrides: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """A ``<study>.csv`` table: {variant: {seed: J&F}}; the first variant is the reference."""
    first = next(iter(scores))
    out = []
    for variant, by_seed in scores.items():
        for seed, jf in by_seed.items():
            out.append(
                {
                    "study": study,
                    "variant": variant,
                    "reference": variant == first,
                    "model": "gsfm",
                    "overrides": json.dumps((overrides or {}).get(variant, {})),
                    "inference": "{}",
                    "seed": seed,
                    "split": split,
                    "profile": "cpu",
                    "device": "cpu",
                    "torch": "2.14.1",
                    "amp": False,
                    "git_commit": "abc1234",
                    "config_hash": "c0",
                    "data_hash": "d0",
                    "train_s": 10.0,
                    "eval_fps": 3.0,
                    "JF": jf,
                    "J": jf - 1.0,
                    "F": jf + 1.0,
                    "objects": 12,
                    "frames": 160,
                }
            )
    return pd.DataFrame(out)


def video_rows(
    scores: dict[str, dict[int, np.ndarray]], study: str = "placement", split: str = "val"
) -> pd.DataFrame:
    """A ``<study>_videos.csv`` table: {variant: {seed: per-video J&F}}."""
    out = []
    for variant, by_seed in scores.items():
        for seed, values in by_seed.items():
            for name, jf in zip(VIDEOS, values, strict=False):
                out.append(
                    {
                        "study": study,
                        "variant": variant,
                        "seed": seed,
                        "split": split,
                        "sequence": name,
                        "JF": jf,
                        "J": jf,
                        "F": jf,
                    }
                )
    return pd.DataFrame(out)


def study(shift: float, seeds=(0, 1, 2), noise: float = 0.0, variant: str = "freqH+freqH"):
    """Rows and videos for reference freqL+freqH and ``variant`` = reference + ``shift`` (+ a
    fixed per-video ``noise`` pattern that averages to zero)."""
    pattern = noise * np.array([1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 0.25, -0.25])
    vids, rows = {"freqL+freqH": {}, variant: {}}, {"freqL+freqH": {}, variant: {}}
    for s in seeds:
        ref = BASE + s  # each seed moves every video alike
        var = ref + shift + np.roll(pattern, s)
        vids["freqL+freqH"][s], vids[variant][s] = ref, var
        rows["freqL+freqH"][s], rows[variant][s] = ref.mean(), var.mean()
    return run_rows(rows), video_rows(vids)


# --- over seeds ----------------------------------------------------------------------------


def test_seed_summary_is_scipys_student_t_interval():
    rows = run_rows({"freqL+freqH": {0: 40.0, 1: 42.0, 2: 47.0}, "freqH+freqH": {5: 38.5}})
    s = A.seed_summary(rows).set_index("variant")
    x = np.array([40.0, 42.0, 47.0])
    low, high = stats.t.interval(0.95, df=2, loc=x.mean(), scale=stats.sem(x))
    ref = s.loc["freqL+freqH"]
    assert ref["n_seeds"] == 3 and ref["seeds"] == "0,1,2" and bool(ref["reference"])
    assert ref["mean"] == pytest.approx(43.0)
    assert ref["std"] == pytest.approx(np.std(x, ddof=1))
    assert (ref["low"], ref["high"]) == pytest.approx((low, high))
    assert ref["ci95"] == pytest.approx((high - low) / 2)
    assert (ref["J"], ref["F"]) == pytest.approx((42.0, 44.0))
    one = s.loc["freqH+freqH"]
    assert one["n_seeds"] == 1 and one["mean"] == 38.5
    assert math.isnan(one["ci95"]) and math.isnan(one["std"]) and math.isnan(one["low"])
    text = T.summary_text(A.seed_summary(rows))
    assert "freqL+freqH (reference) 43.0 ± " in text and "(3 seeds)" in text
    assert "freqH+freqH 38.5 (1 seed: no interval)" in text and "One seed gives no interval" in text
    assert "different seeds (seeds 0,1,2: freqL+freqH; seeds 5: freqH+freqH)" in text
    same = T.summary_text(A.seed_summary(run_rows({"a": {0: 1.0, 1: 2.0}, "b": {0: 3.0, 1: 4.0}})))
    assert "different seeds" not in same


def test_seed_summary_keeps_splits_apart():
    a = run_rows({"freqL+freqH": {0: 40.0, 1: 44.0}}, split="val")
    b = run_rows({"freqL+freqH": {0: 60.0}}, split="val-240x432")
    s = A.seed_summary(pd.concat([a, b]))
    assert list(s["split"]) == ["val", "val-240x432"]
    assert list(s["mean"]) == [42.0, 60.0] and list(s["n_seeds"]) == [2, 1]


# --- paired differences --------------------------------------------------------------------


def test_paired_difference_is_scipys_paired_bootstrap():
    rows, vids = study(shift=-1.0, seeds=(0, 1, 2), noise=2.0)
    rows.loc[rows["variant"] == "freqH+freqH", "JF"] += [0.0, 0.8, -0.3]  # seeds differ
    d = A.paired_differences(rows, vids, n_resamples=999, random_state=7).iloc[0]
    # each video averaged over the three seeds, then paired over videos
    v = vids.groupby(["variant", "sequence"])["JF"].mean()
    a, b = v["freqH+freqH"].to_numpy(), v["freqL+freqH"].to_numpy()
    want = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=999,
        confidence_level=0.95,
        method="BCa",
        random_state=7,
    ).confidence_interval
    assert d["variant"] == "freqH+freqH" and d["baseline"] == "freqL+freqH"
    assert d["n_seeds"] == 3 and d["n_videos"] == 8 and d["method"] == "BCa"
    assert d["diff"] == pytest.approx(np.mean(a - b)) == pytest.approx(-1.0)
    assert (d["low"], d["high"]) == pytest.approx((want.low, want.high))
    assert d["distinguishable"] == (want.high < 0 or want.low > 0)
    # seed level: the per-seed differences of the split means, Student-t (scipy's paired t-test)
    ra = rows[rows["variant"] == "freqH+freqH"].sort_values("seed")["JF"].to_numpy()
    rb = rows[rows["variant"] == "freqL+freqH"].sort_values("seed")["JF"].to_numpy()
    ci = stats.ttest_rel(ra, rb).confidence_interval(0.95)
    assert d["seed_n"] == 3 and d["seed_diff"] == pytest.approx(np.mean(ra - rb))
    assert ci.high - ci.low > 1.0  # a real interval, not a degenerate one
    assert (d["seed_low"], d["seed_high"]) == pytest.approx((ci.low, ci.high))
    # the same random_state gives the same interval, another one a different one
    again = A.paired_differences(rows, vids, n_resamples=999, random_state=7).iloc[0]
    other = A.paired_differences(rows, vids, n_resamples=999, random_state=8).iloc[0]
    assert again["low"] == d["low"] and other["low"] != d["low"]


def test_identical_variants_differ_by_zero_and_are_not_distinguishable():
    rows, vids = study(shift=0.0)
    d = A.paired_differences(rows, vids).iloc[0]
    assert d["diff"] == 0 and (d["low"], d["high"]) == (0, 0)
    assert not d["distinguishable"] and d["method"] == "constant"
    assert d["seed_diff"] == 0 and not d["seed_distinguishable"]
    assert (d["estimate"], d["est_low"], d["est_high"]) == (0, 0, 0) and d["verdict"] == "bounded"
    text = T.differences_text(A.paired_differences(rows, vids))
    assert "freqH+freqH − freqL+freqH +0.0 [+0.0, +0.0] (within noise, bounded" in text


@pytest.mark.parametrize("shift", [2.5, -0.75])
def test_a_constant_shift_is_the_difference_and_is_distinguishable(shift):
    rows, vids = study(shift=shift)
    d = A.paired_differences(rows, vids).iloc[0]
    assert d["diff"] == pytest.approx(shift)
    assert (d["low"], d["high"]) == pytest.approx((shift, shift))
    assert d["distinguishable"] and d["seed_distinguishable"]
    assert d["seed_diff"] == pytest.approx(shift)


def test_only_the_seeds_both_variants_have_are_paired():
    rows, vids = study(shift=1.0, seeds=(0, 1, 2))
    far = (vids["variant"] == "freqH+freqH") & (vids["seed"] == 0)
    vids.loc[far, "JF"] += 100.0  # a seed the reference lacks must not count
    rows.loc[(rows["variant"] == "freqH+freqH") & (rows["seed"] == 0), "JF"] += 100.0
    keep = ~((vids["variant"] == "freqL+freqH") & (vids["seed"] == 0))
    rows = rows[~((rows["variant"] == "freqL+freqH") & (rows["seed"] == 0))]
    d = A.paired_differences(rows, vids[keep]).iloc[0]
    assert d["n_seeds"] == 2 and d["seed_n"] == 2
    assert d["diff"] == pytest.approx(1.0) and d["seed_diff"] == pytest.approx(1.0)


def test_a_video_scored_for_one_side_only_is_an_error_not_a_shorter_average():
    rows, vids = study(shift=1.0)
    gap = ~((vids["variant"] == "freqH+freqH") & (vids["seed"] == 1) & (vids["sequence"] == "v03"))
    with pytest.raises(ValueError, match=r"split 'val': v03 is scored for 'freqL\+freqH' but not "
                       r"for 'freqH\+freqH' at seed 1 \(1 unit\(s\) differ\)"):  # fmt: skip
        A.paired_differences(rows, vids[gap])
    objects = object_rows({"STCN": 0.0, "GSFM": 1.0})
    gone = (objects["variant"] == "GSFM") & (objects["seed"] == 2) & (objects["object"] == "b")
    with pytest.raises(ValueError, match="v1/b is scored for 'STCN' but not for 'GSFM' at seed 2"):
        A.bucket_differences(objects[~gone], "STCN")


def test_too_few_videos_give_no_interval():
    rows, vids = study(shift=3.0, noise=1.0)
    few = vids[vids["sequence"].isin(VIDEOS[: A.MIN_UNITS - 1])]
    d = A.paired_differences(rows, few).iloc[0]
    assert d["n_videos"] == A.MIN_UNITS - 1 and d["method"] == "none"
    assert math.isnan(d["low"]) and not d["distinguishable"]
    assert math.isnan(d["est_low"]) and d["verdict"] == "unresolved"
    text = T.differences_text(A.paired_differences(rows, few))
    assert "No interval (one seed, or no per-video scores in common): freqH+freqH" in text
    assert "beyond noise" not in text and "within noise" not in text  # none was tested


def test_one_seed_still_pairs_videos_and_says_the_seed_is_not_resolved():
    rows, vids = study(shift=-2.0, seeds=(0,), noise=0.5)
    d = A.paired_differences(rows, vids).iloc[0]
    assert d["n_seeds"] == 1 and d["distinguishable"]
    assert d["seed_n"] == 1 and math.isnan(d["seed_low"]) and not d["seed_distinguishable"]
    assert math.isnan(d["est_low"]) and math.isnan(d["p"])  # one seed: no calibrated interval
    text = T.differences_text(A.paired_differences(rows, vids))
    assert "No interval (one seed, or no per-video scores in common): freqH+freqH" in text


def test_a_studys_extra_pairs_are_compared_where_both_have_rows():
    rows = run_rows(
        {"STCN": {0: 40.0}, "+LFM+HFM+boundary": {0: 45.0}, "GSFM": {0: 44.0}}, study="components"
    )
    extra = [("GSFM", "+LFM+HFM+boundary"), ("GSFM", "+HFM")]  # +HFM has no rows
    pairs = A.comparison_pairs(rows, extra=extra)
    assert pairs == [("+LFM+HFM+boundary", "STCN"), ("GSFM", "STCN"), extra[0]]


def test_pairs_default_to_the_reference_and_include_the_papers_comparisons():
    names = {
        "STCN-read": {0: 40.0},
        "STCN-read+freq": {0: 42.0},
        "STM-read": {0: 35.0},
        "STM-read+freq": {0: 37.0},
    }
    rows = run_rows(names, study="generalization")
    pairs = A.comparison_pairs(rows)
    assert pairs[:3] == [
        ("STCN-read+freq", "STCN-read"),
        ("STM-read", "STCN-read"),
        ("STM-read+freq", "STCN-read"),
    ]
    assert ("STM-read+freq", "STM-read") in pairs and len(pairs) == 4
    vids = video_rows({v: {0: BASE + s[0] - 40} for v, s in names.items()}, "generalization")
    d = A.paired_differences(rows, vids, pairs)
    stm = d[(d["variant"] == "STM-read+freq") & (d["baseline"] == "STM-read")].iloc[0]
    assert stm["diff"] == pytest.approx(2.0) and stm["distinguishable"]
    with pytest.raises(ValueError, match="'nope' is in neither table"):
        A.paired_differences(rows, vids, [("nope", "STM-read")])


# --- reading and checking ------------------------------------------------------------------


def test_read_ablation_round_trip_and_errors_name_the_file(tmp_path: Path):
    rows, vids = study(shift=1.0)
    rows.to_csv(tmp_path / "placement.csv", index=False)
    vids.to_csv(tmp_path / "placement_videos.csv", index=False)
    t = store.read_ablation(tmp_path, "placement")
    assert t.objects is None and len(t.videos) == len(vids)
    assert list(t.videos["sequence"].unique()) == VIDEOS  # "v00" etc. stay text
    objects = pd.DataFrame([{"study": "placement", "variant": "freqL+freqH", "seed": 0,
                             "split": "val", "sequence": "0001", "object": "01", "area": 0.01,
                             "JF": 50.0, "J": 50.0, "F": 50.0}])  # fmt: skip
    objects.to_csv(tmp_path / "placement_objects.csv", index=False)
    t = store.read_ablation(tmp_path, "placement")
    assert (t.objects["sequence"].item(), t.objects["object"].item()) == ("0001", "01")
    assert t.rows["reference"].dtype == bool and A.reference_variant(t.rows) == "freqL+freqH"
    with pytest.raises(FileNotFoundError, match="sigma.csv"):
        store.read_ablation(tmp_path, "sigma")
    rows.drop(columns=["JF"]).to_csv(tmp_path / "placement.csv", index=False)
    with pytest.raises(ValueError, match=r"placement\.csv lacks the column\(s\) \['JF'\]"):
        store.read_ablation(tmp_path, "placement")
    bad = rows.copy()
    bad["seed"] = bad["seed"].astype(float) + 0.5
    bad.to_csv(tmp_path / "placement.csv", index=False)
    with pytest.raises(ValueError, match=r"placement\.csv: column 'seed' must hold integers"):
        store.read_ablation(tmp_path, "placement")


def test_bad_tables_get_one_clear_error():
    rows, vids = study(shift=1.0)
    with pytest.raises(ValueError, match="duplicate rows"):
        schema.check_rows(pd.concat([rows, rows.iloc[:1]]))
    with pytest.raises(ValueError, match="expected one reference variant, found 2"):
        A.reference_variant(rows.assign(reference=True))
    with pytest.raises(
        ValueError, match=r"split 'val' was scored on different data \(\['d0', 'd1'\]\)"
    ):
        schema.check_rows(rows.assign(data_hash=["d0", "d1"] * 3))
    with pytest.raises(ValueError, match="both reference and not"):
        schema.check_rows(rows.assign(reference=[True, False] * 3))
    with pytest.raises(ValueError, match="mixes studies"):
        schema.check_videos(vids.assign(study=["a", "b"] * (len(vids) // 2)))
    with pytest.raises(ValueError, match="'JF' has missing or non-numeric values"):
        schema.check_videos(vids.assign(JF=["x"] + list(vids["JF"].iloc[1:])))
    with pytest.raises(ValueError, match="videos table is study 'sigma', rows table is"):
        A.paired_differences(rows, vids.assign(study="sigma"))
    with pytest.raises(ValueError, match="metric must be one of"):
        A.seed_summary(rows, metric="G")


def videos_like(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-video scores whose mean is each row's J&F: BASE moved to that mean."""
    per_video = {
        v: {s: BASE + jf - BASE.mean() for s, jf in g.set_index("seed")["JF"].items()}
        for v, g in rows.groupby("variant")
    }
    return video_rows(per_video, str(rows["study"].iloc[0]))


# --- σ -------------------------------------------------------------------------------------


def _sigma_rows(means: dict[float, float], seeds=(0, 1)) -> pd.DataFrame:
    scores = {f"sigma={s:g}": {k: m + 0.5 * k for k in seeds} for s, m in means.items()}
    overrides = {f"sigma={s:g}": {"sigma": s, "sigma_mode": "bins"} for s in means}
    overrides["sigma=7"] = {}  # the reference runs with ModelConfig's defaults
    ordered = {"sigma=7": scores.pop("sigma=7"), **scores}
    return run_rows(ordered, study="sigma", overrides=overrides)


def test_sigma_table_reads_overrides_and_defaults():
    rows = _sigma_rows({3: 40.0, 7: 45.0, 15: 41.0})
    rel = run_rows(
        {"rel-0.29": {0: 44.0}},
        study="sigma",
        overrides={"rel-0.29": {"sigma": 0.29, "sigma_mode": "relative"}},
    )
    t = A.sigma_table(pd.concat([rows, rel.assign(reference=False)]))
    assert list(zip(t["sigma_mode"], t["sigma"], strict=True)) == [
        ("bins", 3.0),
        ("bins", 7.0),
        ("bins", 15.0),
        ("relative", 0.29),
    ]
    assert t.loc[t["sigma"] == 7.0, "variant"].item() == "sigma=7"
    bad = rows.copy()
    bad.loc[bad["variant"] == "sigma=3", "overrides"] = "{sigma: 3"
    with pytest.raises(ValueError, match="variant 'sigma=3': overrides is not JSON"):
        A.sigma_table(bad)


def test_sigma_text_follows_the_peak():
    at_seven = T.sigma_text(A.sigma_table(_sigma_rows({3: 40.0, 7: 45.0, 15: 41.0})))
    assert "highest mean J&F is at σ = 7" in at_seven and "That is the paper's choice" in at_seven
    rows = _sigma_rows({3: 48.0, 7: 45.0, 15: 41.0})
    elsewhere = T.sigma_text(A.sigma_table(rows))
    assert "highest mean J&F is at σ = 3" in elsewhere
    assert "The paper's choice, σ = 7, is −3.0 from the peak" in elsewhere
    with_gap = T.sigma_text(A.sigma_table(rows), A.paired_differences(rows, videos_like(rows)))
    assert "Paired, that gap is beyond noise (over seeds and videos [+3.0, +3.0])." in with_gap
    # one seed: the gap over videos says nothing about another seed
    one = _sigma_rows({3: 48.0, 7: 45.0}, seeds=(0,))
    vids = videos_like(one)
    vids.loc[vids["variant"] == "sigma=3", "JF"] += np.resize([0.5, -0.5], 8)  # not constant
    text = T.sigma_text(A.sigma_table(one), A.paired_differences(one, vids))
    assert "Paired, that gap is beyond the noise over videos, but with one seed the noise " in text
    assert "distinguishable from noise over videos and over seeds" not in text


def _relative_rows(means: dict[int, float], seeds=(0, 1)) -> pd.DataFrame:
    """Rows of the relative σ variants (σ/24 of the map side), labelled as the study does."""
    return run_rows(
        {f"sigma={s}/24 relative": {k: m + 0.5 * k for k in seeds} for s, m in means.items()},
        study="sigma",
        overrides={
            f"sigma={s}/24 relative": {"sigma": s / 24, "sigma_mode": "relative"} for s in means
        },
    ).assign(reference=False)


def test_relative_sigmas_are_compared_with_the_papers_sigma_in_their_mode():
    baselines = {  # the sigma study's own pairing (gsfm.ablation.studies.Study.baselines)
        **{f"sigma={s}": "sigma=7" for s in (3, 5, 10, 15)},
        **{f"sigma={s}/24 relative": "sigma=7/24 relative" for s in (3, 5, 10, 15)},
        "sigma=7/24 relative": "sigma=7",
    }
    rows = pd.concat([_sigma_rows({3: 40.0, 7: 45.0}), _relative_rows({3: 41.0, 15: 44.0})])
    # without 7/24 relative, the relative σ have no baseline: never compared with 7 bins
    assert A.comparison_pairs(rows, baselines) == [("sigma=3", "sigma=7")]
    # without a pairing, every variant is compared with the reference
    assert ("sigma=3/24 relative", "sigma=7") in A.comparison_pairs(rows)
    rows = pd.concat([rows, _relative_rows({7: 47.0})])
    pairs = A.comparison_pairs(rows, baselines)
    assert set(pairs) == {
        ("sigma=3", "sigma=7"),
        ("sigma=3/24 relative", "sigma=7/24 relative"),
        ("sigma=15/24 relative", "sigma=7/24 relative"),
        ("sigma=7/24 relative", "sigma=7"),  # the mode itself, at the paper's σ
    }
    assert paper_pairs("sigma") == [
        ("sigma=3", "sigma=7"),
        ("sigma=15", "sigma=7"),
        ("sigma=3/24 relative", "sigma=7/24 relative"),
        ("sigma=15/24 relative", "sigma=7/24 relative"),
    ]
    diffs = A.paired_differences(rows, videos_like(rows), pairs)
    text = T.sigma_text(A.sigma_table(rows), diffs, rows=rows)
    assert "σ relative to the map side, val: the highest mean J&F is at σ = 7/24" in text
    assert "That is the paper's choice, σ = 7/24." in text
    assert "σ in bins, val: the highest mean J&F is at σ = 7 " in text
    ordering = T.paper_ordering_text(diffs, "sigma")
    assert "sigma=3/24 relative vs sigma=7/24 relative: the paper lower (Fig. 6(a))" in ordering
    assert "sigma=15/24 relative vs sigma=7/24 relative: the paper lower" in ordering
    assert "Not measured here: sigma=15 vs sigma=7." in ordering
    peak = pd.concat([_sigma_rows({7: 45.0}), _relative_rows({5: 52.0, 7: 47.0})])
    text = T.sigma_text(A.sigma_table(peak))
    assert "at σ = 5/24 (52.2" in text and "The paper's choice, σ = 7/24, is −5.0" in text


def test_sigma_label_names_relative_sigmas_in_the_papers_bins():
    assert T.sigma_label(7.0, "bins") == "7"
    assert T.sigma_label(7 / 24, "relative") == "7/24"
    assert T.sigma_label(0.29, "relative") == "0.29 of the map side"
    assert T.sigma_label(2.5, None) == "2.5"


# --- small objects -------------------------------------------------------------------------

AREAS = {"a": 0.001, "b": 0.004, "c": 0.006, "d": 0.02, "e": 0.049, "f": 0.05, "g": 0.3}


def object_rows(gain: dict[str, float], seeds=(0, 1, 2)) -> pd.DataFrame:
    """Objects with the areas above, each in its own video; variant score = 50 + gain + seed +
    a fixed per-object offset."""
    out = []
    for variant, g in gain.items():
        for s in seeds:
            for i, (obj, area) in enumerate(AREAS.items()):
                jf = 50.0 + g + s + (i % 3)
                out.append(
                    {
                        "study": "small_objects",
                        "variant": variant,
                        "seed": s,
                        "split": "val",
                        "sequence": f"v{i}",
                        "object": obj,
                        "area": area,
                        "JF": jf,
                        "J": jf,
                        "F": jf,
                    }
                )
    return pd.DataFrame(out)


def test_bucket_counts_are_the_papers_nested_buckets():
    counts = A.bucket_counts(object_rows({"STCN": 0.0, "GSFM": 1.0})).set_index("bucket")
    # under 5 %: a-e (0.05 itself is not under 5 %); under 1 %: a-c; under 0.5 %: a, b
    assert counts["n_objects"].to_dict() == {"<5%": 5, "<1%": 3, "<0.5%": 2}
    assert counts["n_total"].unique().tolist() == [7]
    assert counts.loc["<0.5%", "n_videos"] == 2
    assert [t for _, t in A.SIZE_BUCKETS] == [0.05, 0.01, 0.005]


def test_bucket_scores_average_objects_per_seed_then_seeds():
    objects = object_rows({"STCN": 0.0, "GSFM": 2.0})
    s = A.bucket_scores(objects).set_index(["bucket", "variant"])
    small = objects[(objects["variant"] == "STCN") & (objects["area"] < 0.01)]
    per_seed = small.groupby("seed")["JF"].mean().to_numpy()
    low, high = stats.t.interval(0.95, df=2, loc=per_seed.mean(), scale=stats.sem(per_seed))
    r = s.loc[("<1%", "STCN")]
    assert r["n_objects"] == 3 and r["n_seeds"] == 3
    assert r["mean"] == pytest.approx(per_seed.mean())
    assert (r["low"], r["high"]) == pytest.approx((low, high))
    d = A.bucket_differences(objects, "STCN").set_index("bucket")
    assert d.loc["<5%", "diff"] == pytest.approx(2.0) and d.loc["<5%", "distinguishable"]
    assert d.loc["<5%", "n_objects"] == 5
    assert d.loc["<0.5%", "method"] == "none"  # 2 objects: no interval


def test_bucket_difference_is_scipys_bootstrap_over_objects():
    objects = object_rows({"STCN": 0.0, "GSFM": 1.0})
    objects.loc[objects["variant"] == "GSFM", "JF"] += np.tile(
        [0.3, -1.2, 2.0, 0.1, -0.4, 0.9, -0.7], 3
    )
    d = A.bucket_differences(objects, "STCN", n_resamples=999, random_state=3)
    r = d[d["bucket"] == "<5%"].iloc[0]
    per = objects[objects["area"] < 0.05].groupby(["variant", "sequence", "object"])["JF"].mean()
    a, b = per["GSFM"].to_numpy(), per["STCN"].to_numpy()
    want = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=999,
        method="BCa",
        random_state=3,
    ).confidence_interval
    assert (r["low"], r["high"]) == pytest.approx((want.low, want.high))


def test_bucket_difference_resamples_whole_videos():
    """Objects of one video are not independent draws: the interval resamples videos, as
    scipy's paired bootstrap of the per-video sums with the pooled mean difference."""
    rng = np.random.default_rng(7)
    rows = []
    for v in range(6):  # 6 videos of 2 small objects each, 2 seeds
        for k in range(2):
            shift = rng.normal(1.0, 1.5)
            for seed in (0, 1):
                for variant, g in (("STCN", 0.0), ("GSFM", shift)):
                    jf = 40.0 + 3 * v + k + seed + g
                    rows.append({"study": "small_objects", "variant": variant, "seed": seed,
                                 "split": "val", "sequence": f"v{v}", "object": f"o{k}",
                                 "area": 0.002, "JF": jf, "J": jf, "F": jf})  # fmt: skip
    objects = pd.DataFrame(rows)
    r = A.bucket_differences(objects, "STCN", n_resamples=999, random_state=3).iloc[0]
    assert r["n_objects"] == 12 and r["n_videos"] == 6
    per = objects.groupby(["variant", "sequence", "object"])["JF"].mean()
    # the same sums as the code: with 6 videos many resamples tie with the estimate, and BCa's
    # bias correction counts those below it, so even a last-bit rounding difference shows
    sum_a = per["GSFM"].groupby(level="sequence").sum().to_numpy()
    sum_b = per["STCN"].groupby(level="sequence").sum().to_numpy()
    counts = per["GSFM"].groupby(level="sequence").size().to_numpy().astype(float)
    want = stats.bootstrap(
        (sum_a, sum_b, counts),
        lambda x, y, n, axis: (x.sum(axis) - y.sum(axis)) / n.sum(axis),
        paired=True, vectorized=True, n_resamples=999, method="BCa", random_state=3,
    ).confidence_interval  # fmt: skip
    assert r["diff"] == pytest.approx((sum_a.sum() - sum_b.sum()) / counts.sum())
    assert (r["low"], r["high"]) == pytest.approx((want.low, want.high))
    few = objects[objects["sequence"].isin(["v0", "v1", "v2", "v3"])]  # 8 objects, 4 videos
    assert A.bucket_differences(few, "STCN").iloc[0]["method"] == "none"


def test_objects_must_agree_on_their_area():
    objects = object_rows({"STCN": 0.0, "GSFM": 1.0})
    objects.loc[(objects["variant"] == "GSFM") & (objects["object"] == "c"), "area"] = 0.2
    with pytest.raises(ValueError, match="object c of v2 .* different areas"):
        A.bucket_counts(objects)
    with pytest.raises(ValueError, match="reference 'STM' is not a variant"):
        A.bucket_differences(object_rows({"STCN": 0.0}), "STM")


def test_small_objects_text_flips_with_the_numbers():
    ahead = object_rows({"STCN": 0.0, "GSFM": 2.0})
    text = T.small_objects_text(A.bucket_scores(ahead), A.bucket_differences(ahead, "STCN"))
    assert "<5% (5 objects)" in text
    assert (
        "GSFM − STCN +2.0 [+2.0, +2.0], over seeds +2.0 [+2.0, +2.0]: beyond noise (over seeds "
        "and videos [+2.0, +2.0])" in text
    )
    assert "(the paper: +0.8, same direction)" in text
    assert "<0.5% (2 objects)" in text and "objects in fewer than 5 videos: no interval" in text
    behind = object_rows({"STCN": 0.0, "GSFM": -2.0})
    text = T.small_objects_text(A.bucket_scores(behind), A.bucket_differences(behind, "STCN"))
    assert "GSFM − STCN −2.0" in text and "opposite direction" in text
    assert "same direction" not in text


# --- the paper's ordering ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "noise", "verdict", "words"),
    [
        (
            -1.5,
            0.0,
            "Every comparison measured holds, but 4 of the paper's 5 are not measured yet.",
            "confirmed (the paper's direction, beyond noise over seeds and videos)",
        ),
        (
            1.5,
            0.0,
            "At least one of the paper's comparisons is contradicted here.",
            "contradicted (the opposite direction, beyond noise over seeds and videos)",
        ),
        # every seed moves the same way but the per-video noise is large: the one interval over
        # seeds and videos together includes 0, and lies inside ±2
        (-0.1, 3.0, "neither confirm nor contradict", "bounded (any effect is smaller than 2 J&F)"),
    ],
)
def test_paper_ordering_verdict_flips_with_the_numbers(shift, noise, verdict, words):
    rows, vids = study(shift=shift, noise=noise)
    diffs = A.paired_differences(rows, vids)
    text = T.paper_ordering_text(diffs)
    assert verdict in text and words in text
    assert "freqH+freqH vs freqL+freqH: the paper −1.1 (Table 3)" in text
    assert "Not measured here: freqF+freqH vs freqL+freqH" in text
    assert ("(beyond noise" in T.differences_text(diffs)) == (noise == 0.0)


def test_the_paper_ordering_holds_only_when_every_comparison_holds_over_seeds_too():
    variants = ["freqF+freqH", "freqH+freqH", "attention+freqH", "freqL+freqF", "freqL+freqL"]
    rows, vids = study(shift=-1.5, variant=variants[0])
    for v in variants[1:]:
        r, w = study(shift=-1.5, variant=v)
        rows = pd.concat([rows, r[r["variant"] == v]], ignore_index=True)
        vids = pd.concat([vids, w[w["variant"] == v]], ignore_index=True)
    text = T.paper_ordering_text(A.paired_differences(rows, vids))
    assert "of the paper's 5 comparisons measured: 5 confirmed beyond noise" in text
    assert "All 5 of the paper's comparisons measured here are confirmed." in text
    assert "Not measured here" not in text
    # one seed: beyond the noise over videos, but a lucky seed cannot be ruled out
    one = T.paper_ordering_text(A.paired_differences(*study(shift=-1.5, seeds=(0,))))
    assert "0 confirmed beyond noise" in one and "are confirmed" not in one
    assert "with one seed the noise between seeds is not measured" in one
    # no pair measured at all: every comparison of the paper's is listed as not measured
    empty = A.paired_differences(*study(shift=-1.5)).iloc[:0]
    assert "Not measured here: freqF+freqH vs freqL+freqH, freqH+freqH vs" in T.paper_ordering_text(
        empty, "placement"
    )


def test_paper_ordering_of_the_sigma_text_and_unplaced_rows():
    rows = _sigma_rows({3: 40.0, 7: 45.0, 15: 41.0})
    diffs = A.paired_differences(rows, videos_like(rows))
    text = T.paper_ordering_text(diffs)
    assert "sigma=3 vs sigma=7: the paper lower (Fig. 6(a))" in text
    # the relative mode's two comparisons have no rows here
    assert "Every comparison measured holds, but 2 of the paper's 4 are not measured yet." in text
    comp = run_rows({"STCN": {0: 40.0}, "GSFM": {0: 43.0}}, study="components")
    comp_v = video_rows({"STCN": {0: BASE}, "GSFM": {0: BASE + 3.0}}, "components")
    text = T.paper_ordering_text(A.paired_differences(comp, comp_v))
    assert "GSFM vs STCN: the paper +1.2 (Table 5)" in text
    assert "without a variant of ours are not compared: one module (row 2)" in text


# --- the paper's numbers -------------------------------------------------------------------


def test_paper_ablations_match_the_papers_printed_deltas():
    t3 = paper_rows("placement")
    assert t3["paper_delta"].dropna().tolist() == [-0.5, -1.1, -0.4, -0.6, -0.8]  # Table 3 ↓
    assert t3.loc[t3["baseline"].isna(), ["variant", "JF"]].values.tolist() == [
        ["freqL+freqH", 85.3]
    ]
    t5 = paper_rows("components")
    assert t5["paper_delta"].dropna().tolist() == [0.6, 0.4, 0.9, 0.5, 1.2]  # Table 5 ↑
    assert t5["variant"].isna().sum() == 4  # rows 2-5: the ✓ columns are lost in the text
    assert t5.loc[t5["variant"] == "STCN", "FPS"].item() == 11.7
    t4 = paper_rows("generalization")
    assert t4["paper_delta"].dropna().tolist() == [2.0, 2.1, 1.9]
    t6 = paper_rows("small_objects").pivot(index="bucket", columns="variant", values="JF")
    assert t6.loc[["<5%", "<1%", "<0.5%"], "STCN"].tolist() == [80.6, 76.3, 73.5]
    assert t6.loc[["<5%", "<1%", "<0.5%"], "GSFM"].tolist() == [81.4, 78.1, 75.0]
    sigma = paper_rows("sigma")
    assert sigma["JF"].isna().all()  # Fig. 6(a)'s values are not in the text
    bins = ["sigma=3", "sigma=5", "sigma=7", "sigma=10", "sigma=15"]
    assert sigma["variant"].tolist() == bins + [f"{v}/24 relative" for v in bins]
    # the same points read as shares of the paper's 24×24 maps, compared as the paper does
    assert sigma["direction"].tolist()[:5] == sigma["direction"].tolist()[5:]
    assert sigma["baseline"].dropna().unique().tolist() == ["sigma=7", "sigma=7/24 relative"]
    assert sigma["paper_variant"].iloc[5] == "σ = 3 (as 3/24 of the map side)"
    assert set(PAPER_STUDIES) == set(STUDIES)  # the paper has rows for each of our studies
    assert paper_pairs("generalization") == [("STM-read+freq", "STM-read")]
    assert paper_pairs("small_objects") == [("GSFM", "STCN")]
    with pytest.raises(ValueError, match="unknown ablation study 'colour'"):
        paper_rows("colour")


def test_paper_ordering_falls_back_to_seeds_without_per_video_scores():
    rows = run_rows(
        {"STCN-read": {0: 40.0, 1: 41.0, 2: 40.5}, "STM-read": {0: 35.0, 1: 36.5, 2: 35.5},
         "STM-read+freq": {0: 37.0, 1: 38.0, 2: 37.9}},
        study="generalization",
    )  # fmt: skip
    vids = videos_like(rows)
    vids = vids[vids["variant"] != "STM-read"]  # no per-video table for STM-read
    diffs = A.paired_differences(rows, vids, A.comparison_pairs(rows))
    text = T.paper_ordering_text(diffs)
    want = "STM-read+freq vs STM-read: the paper +2.0 (Table 4), ours over seeds +2.0 [+0.8, +3.1]"
    assert want in text
    assert "All 1 of the paper's comparisons measured here are confirmed." in text
    assert "not compared: KMN, KMN + FM, MiVOS, MiVOS + FM" in text


def test_sigma_text_reads_the_peak_on_the_seeds_all_sigmas_share() -> None:
    # σ = 7 has seeds 0-2 (47.72, 47.70, 45.96), σ = 3 seed 0 only (47.5): over their own seeds
    # σ = 3 would look higher (47.5 vs 47.13); on seed 0, which both have, σ = 7 is higher
    rows = _sigma_rows({7: 0.0, 3: 0.0}, seeds=(0, 1, 2))
    jf = {("sigma=7", 0): 47.72, ("sigma=7", 1): 47.70, ("sigma=7", 2): 45.96, ("sigma=3", 0): 47.5}
    rows = rows[[(v, s) in jf for v, s in zip(rows["variant"], rows["seed"], strict=True)]].copy()
    rows["JF"] = [jf[(v, s)] for v, s in zip(rows["variant"], rows["seed"], strict=True)]
    table = A.sigma_table(rows)
    text = T.sigma_text(table, rows=rows)
    assert "on the seed all of them share (0): the highest mean J&F is at σ = 7 (47.7" in text
    assert "That is the paper's choice" in text
    # without the rows to recompute from, no peak is read from means over different seeds
    alone = T.sigma_text(table)
    assert "highest" not in alone and "(σ = 3: seeds 0; σ = 7: seeds 0,1,2)" in alone


def test_sigma_text_with_one_sigma_says_there_is_no_sweep_yet() -> None:
    table = pd.DataFrame(
        [{"sigma": 7.0, "sigma_mode": "bins", "split": "val", "metric": "JF", "mean": 47.7,
          "ci95": 0.1, "n_seeds": 2, "variant": "sigma=7"}]
    )  # fmt: skip
    text = T.sigma_text(table)
    assert "only σ = 7 measured so far" in text and "highest" not in text


def test_small_objects_say_whether_the_seeds_resolve_a_bucket():
    """A gain that every object shares (narrow over objects) but that swings between seeds
    is beyond the noise over objects only: the text must not call it resolved."""
    objects = object_rows({"STCN": 0.0, "GSFM": 2.0})
    swing = {0: 2.0, 1: -3.0, 2: 1.0}  # GSFM's per-seed gain: 4, -1, 3
    gsfm = objects["variant"] == "GSFM"
    objects.loc[gsfm, "JF"] += objects.loc[gsfm, "seed"].map(swing)
    d = A.bucket_differences(objects, "STCN").set_index("bucket").loc["<5%"]
    per_seed = objects[objects["area"] < 0.05].groupby(["variant", "seed"])["JF"].mean()
    ci = stats.ttest_rel(per_seed["GSFM"], per_seed["STCN"]).confidence_interval(0.95)
    assert d["seed_n"] == 3 and d["seed_diff"] == pytest.approx(2.0)
    assert (d["seed_low"], d["seed_high"]) == pytest.approx((ci.low, ci.high))
    assert d["distinguishable"] and not d["seed_distinguishable"]
    assert d["est_low"] < 0 < d["est_high"] and d["verdict"] == "unresolved"
    text = T.small_objects_text(A.bucket_scores(objects), A.bucket_differences(objects, "STCN"))
    assert f"over seeds +2.0 {interval(ci.low, ci.high)}: within noise (over seeds and" in text
    assert "beyond noise" not in text


def test_the_one_interval_decides_where_videos_and_seeds_used_to_disagree():
    """The split means weigh objects, the per-video differences videos: they can part. The
    calibrated estimate is the mean of the (seed, video) differences, so it follows the
    videos, with an interval that carries the seed-to-seed spread too."""
    rows, vids = study(shift=1.0)  # +1 on every video
    var = rows["variant"] == "freqH+freqH"
    ref = rows.loc[~var].set_index("seed")["JF"]
    rows.loc[var, "JF"] = rows.loc[var, "seed"].map(ref).to_numpy() + [-1.0, -0.9, -1.1]
    d = A.paired_differences(rows, vids).iloc[0]
    assert d["distinguishable"] and d["seed_distinguishable"] and d["seed_diff"] < 0 < d["diff"]
    assert d["estimate"] == pytest.approx(1.0) and d["verdict"] == "contradicted"
    text = T.paper_ordering_text(A.paired_differences(rows, vids))
    assert "0 confirmed beyond noise" in text and "1 contradicted beyond noise" in text


def test_the_seed_only_fallback_claims_nothing_about_videos():
    def fallback(scores: dict[str, dict[int, float]]) -> str:
        rows = run_rows(scores, study="generalization")
        vids = videos_like(rows)
        vids = vids[vids["variant"] != "STM-read"]  # no per-video table for STM-read
        return T.paper_ordering_text(A.paired_differences(rows, vids, A.comparison_pairs(rows)))

    one = fallback({"STCN-read": {0: 40.0}, "STM-read": {0: 35.0}, "STM-read+freq": {0: 38.0}})
    assert "ours over seeds +3.0: the paper's direction, measured on one seed with no" in one
    noisy = fallback(
        {"STCN-read": {0: 40.0, 1: 41.0}, "STM-read": {0: 35.0, 1: 36.5},
         "STM-read+freq": {0: 38.0, 1: 35.5}}
    )  # fmt: skip
    assert "not distinguishable from noise over seeds (no per-video scores to pair)" in noisy
    for text in (one, noisy):
        assert "over videos" not in text.split("STM-read+freq vs STM-read:")[1].split(";")[0]
        assert "0 confirmed beyond noise" in text


def test_no_difference_at_all_is_measured_not_missing():
    text = T.paper_ordering_text(A.paired_differences(*study(shift=0.0)))
    assert "of the paper's 1 comparison measured" in text and "1 bounded (any effect" in text
    assert "no comparison of the paper's was measured" not in text
