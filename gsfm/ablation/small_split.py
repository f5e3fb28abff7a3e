"""Table 6 on enough small objects: the constants and statistics of ``synth-small-v1``.

synth-v1's val and ``small`` splits hold too few small objects to compare the models on them
(the objects under 0.5 % of the frame are a handful in three videos, and half of them score
the same for both models because neither finds them). ``synth-small-v1`` is a scoring-only
split of 100 videos (10 frames, 240x432) whose every object covers 0.1–5 % of the frame on
average and at least one stride-16 key-feature cell (16x16 pixels, 0.247 % of the frame) in
every annotated frame (:data:`gsfm.data.synthetic.VERSIONS` ``["small-v1"]``).

:func:`gsfm.ablation.report.score_small_split` scores the shipped weights on it and writes the
rows into ``results/small_split/``; this module holds what is computed from rows:
:func:`model_independent` (both models score an object the same in every run, so it says
nothing about which is better), :func:`split_differences` (the models per size bucket with the
calibrated estimator of :mod:`gsfm.analysis.calibrated`; with one seed its video term alone,
an interval over videos). The sentences and doc blocks rendered from them are in
:mod:`gsfm.ablation.text`; :func:`gsfm.ablation.report.update_small_object_docs` writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gsfm.analysis.calibrated import minimum_detectable_effect
from gsfm.analysis.seed_video import estimate_over

__all__ = [
    "INTERVAL_OVER_SEEDS",
    "INTERVAL_OVER_VIDEOS",
    "LABEL",
    "RESULTS_DIR",
    "SPLIT",
    "VERSION",
    "model_independent",
    "split_differences",
    "split_label",
]

VERSION = "small-v1"  # the benchmark version (synth-small-v1)
SPLIT = "small"  # its one split
LABEL = f"synth-{VERSION}"  # the rows' ``split`` column for the whole split
RESULTS_DIR = "results/small_split"  # where the committed rows live
STUDY = "small_objects"  # the study whose variants (STCN, GSFM) and files the rows use
SEED = 0  # the training seed of the shipped weights
INTERVAL_OVER_SEEDS = "seeds and videos"
INTERVAL_OVER_VIDEOS = "videos only, one seed"
_SAME = 1e-9  # J&F points: two scores closer than this are the same


def split_label(
    limit: int | None = None, height: int | None = None, width: int | None = None
) -> str:
    """The ``split`` column for the split at these settings: ``synth-small-v1`` for the whole
    split at its own size, else e.g. ``synth-small-v1-64x112-first2``."""
    from gsfm.data.synthetic import get_version, split_names

    v = get_version(VERSION)
    h, w = height or v.height, width or v.width
    n = len(split_names(SPLIT, VERSION))
    label = LABEL
    if (h, w) != (v.height, v.width) or (limit is not None and limit < n):
        label += f"-{h}x{w}" + (f"-first{limit}" if limit is not None and limit < n else "")
    return label


def model_independent(objects: pd.DataFrame, metric: str = "JF") -> pd.Series:
    """Per row of a per-object table: whether every variant scores that object (split,
    sequence, object) the same in every seed, all variants present. Such an object (found by
    none, or perfectly by all) cannot tell the models apart."""
    keys = ["split", "sequence", "object"]
    n_variants = objects.groupby(keys)["variant"].transform("nunique")
    spread = objects.groupby([*keys, "seed"])[metric].transform(lambda s: s.max() - s.min())
    runs = objects.groupby([*keys, "seed"])["variant"].transform("nunique")
    same = (spread <= _SAME) & (runs == n_variants)
    all_seeds = same.groupby([objects[k] for k in keys]).transform("all")
    return (all_seeds & (n_variants >= 2)).rename("model_independent")


def _over_videos(per_video: np.ndarray, confidence: float) -> dict[str, float]:
    """The calibrated estimator's video term alone, for one seed
    (:func:`gsfm.analysis.seed_video.estimate_over` on a one-seed table: the mean of the
    per-video differences with a Student-t interval on ``V − 1`` degrees of freedom), its p
    and MDE, under the differences table's column names."""
    est = estimate_over(np.asarray(per_video, dtype=float)[None, :], confidence)
    return {
        "estimate": est.estimate,
        "est_low": est.low,
        "est_high": est.high,
        "est_df": est.df,
        "p": est.p,
        "mde": minimum_detectable_effect(est.se, est.df),
    }


def _as_bool(flags: pd.Series) -> pd.Series:
    """A ``model_independent`` column as booleans, whether typed or read as text."""
    text = flags.astype(str).str.strip().str.lower()
    bad = ~text.isin(["true", "false"])
    if bad.any():
        raise ValueError(f"model_independent must be True or False, got {flags[bad].iloc[0]!r}")
    return text == "true"


def split_differences(
    objects: pd.DataFrame, reference: str = "STCN", confidence: float = 0.95
) -> pd.DataFrame:
    """Per split and size bucket, each variant against ``reference``
    (:func:`gsfm.ablation.stats.bucket_differences`: paired over objects, the
    calibrated estimate over seeds and videos, Holm within each bucket, the verdict), where the
    rows have one seed the estimate over videos alone (:func:`_over_videos`: objects averaged
    per video first, as the calibrated estimator does). Adds ``interval_over`` (which of the
    two), ``n_independent`` (the bucket's model-independent objects) and
    ``n_informative_videos`` (videos with an object the models score differently)."""
    import gsfm.ablation.stats as stats
    from gsfm.analysis import calibrated

    diffs = stats.bucket_differences(objects, reference, confidence=confidence)
    if diffs.empty:
        return diffs
    flags = (
        objects
        if "model_independent" in objects
        else objects.assign(model_independent=model_independent(objects))
    )
    diffs["interval_over"] = INTERVAL_OVER_SEEDS
    diffs["n_independent"] = 0
    diffs["n_informative_videos"] = 0
    for i, r in diffs.iterrows():
        o = flags[(flags["split"] == r["split"]) & (flags["area"] < r["threshold"])]
        unique = o.drop_duplicates(["sequence", "object"])
        same = _as_bool(unique["model_independent"])
        diffs.loc[i, "n_independent"] = int(same.sum())
        diffs.loc[i, "n_informative_videos"] = int(
            unique.loc[~same.to_numpy(), "sequence"].nunique()
        )
        if int(r["n_seeds"]) != 1:
            continue
        a = o[o["variant"] == r["variant"]].set_index(["sequence", "object"])["JF"]
        b = o[o["variant"] == r["baseline"]].set_index(["sequence", "object"])["JF"]
        d = (a - b).dropna().groupby(level="sequence").mean()
        if len(d) < stats.MIN_UNITS:
            continue
        for key, value in _over_videos(d.to_numpy(), confidence).items():
            diffs.loc[i, key] = value
        diffs.loc[i, "interval_over"] = INTERVAL_OVER_VIDEOS
    for _, idx in diffs.groupby(["study", "split", "bucket"], sort=False).groups.items():
        diffs.loc[idx, "p_holm"] = calibrated.holm(diffs.loc[idx, "p"].to_numpy(dtype=float))
    diffs["verdict"] = [
        calibrated.claim_verdict(lo, hi, None if pd.isna(sign) else int(sign))
        for lo, hi, sign in zip(diffs["est_low"], diffs["est_high"], diffs["paper_sign"], strict=True)
    ]  # fmt: skip
    return diffs
