"""Statistics of the ablation studies, numbers in and numbers out: what differs from noise at
the scale we can afford. The tables come checked from :mod:`gsfm.ablation.store` (rows, per
video, per object: :mod:`gsfm.ablation.schema`); the sentences that word these numbers are in
:mod:`gsfm.ablation.text`.

* :func:`seed_summary` (:func:`sigma_table` for the σ sweep): per variant and split, the number
  of seeds, mean, std and the 95 % Student-t interval of the mean over seeds
  (:func:`gsfm.analysis.comparison.seed_interval`; one seed gives no interval, NaN);
* :func:`paired_differences`: each variant against the study's reference variant (or given
  pairs), per split. Each video's score is averaged over the seeds both variants have, the
  per-video differences are averaged, and ``scipy.stats.bootstrap`` resamples the videos in
  pairs (a fixed ``random_state``) for a 95 % interval; "distinguishable" means that interval
  excludes 0. Beside it, the seed-level difference of the means with its Student-t interval
  (over the per-seed differences of the seeds both variants have), and the calibrated
  estimate with its verdict (:mod:`gsfm.analysis.calibrated`);
* :func:`bucket_counts`, :func:`bucket_scores`, :func:`bucket_differences`: the paper's Table 6
  buckets (objects under 5 %, 1 %, 0.5 % of the frame, nested), object counts, and scores.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from gsfm.ablation.paper import (
    PAPER_STUDIES,
    paper_pairs,
    paper_sign,
)
from gsfm.ablation.schema import METRICS, check_objects, check_rows, check_videos, source_of
from gsfm.analysis import calibrated
from gsfm.analysis.comparison import seed_interval
from gsfm.config import ModelConfig

__all__ = [
    "CALIBRATED_COLUMNS",
    "CONFIDENCE",
    "MIN_UNITS",
    "SIZE_BUCKETS",
    "bucket_counts",
    "bucket_differences",
    "bucket_scores",
    "comparison_pairs",
    "in_order",
    "over_seeds",
    "paired_differences",
    "pooled_components",
    "reference_variant",
    "seed_summary",
    "sigma_table",
]


# The paper's Table 6: objects with an area under 5 %, 1 % and 0.5 % of the image. The buckets
# are nested: "<5%" counts every object under 5 %, the smaller ones included.
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (("<5%", 0.05), ("<1%", 0.01), ("<0.5%", 0.005))

# Fewer videos than this give no bootstrap interval (object differences are resampled by
# video): with 2-4 videos the resampled means take only a few distinct values and the
# interval is far too narrow.
MIN_UNITS = 5
CONFIDENCE = 0.95
_RESAMPLES = 9999
_SEED = 0


def _metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def in_order(values: Iterable[Any]) -> list[Any]:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def reference_variant(rows: pd.DataFrame) -> str:
    """The study's reference variant (the one its differences are taken against)."""
    rows = check_rows(rows)
    refs = in_order(rows.loc[rows["reference"], "variant"])
    if len(refs) != 1:
        raise ValueError(
            f"{source_of(rows, 'rows table')}: expected one reference variant, found "
            f"{len(refs)} ({refs})"
        )
    return str(refs[0])


# --- over seeds ----------------------------------------------------------------------------


def over_seeds(values: pd.Series, confidence: float) -> dict[str, Any]:
    """n, mean, std, half-width and bounds of the Student-t interval over seeds (NaN for one)."""
    x = values.to_numpy(dtype=float)
    mean, half = seed_interval(x, confidence)
    std = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    return {
        "n_seeds": int(x.size),
        "mean": mean,
        "std": std,
        "ci95": half,
        "low": mean - half,
        "high": mean + half,
    }


def seed_summary(
    rows: pd.DataFrame, metric: str = "JF", confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Per (split, variant), in order of appearance: ``n_seeds``, ``seeds``, and for ``metric``
    the ``mean``, ``std``, ``ci95`` (half-width of the Student-t interval of the mean over
    seeds), ``low``, ``high``; plus the means of J&F, J, F, ``reference`` and ``model``.

    One seed gives no spread: std and interval are NaN (the texts say so)."""
    rows, metric = check_rows(rows), _metric(metric)
    out = []
    for split in in_order(rows["split"]):
        for variant in in_order(rows["variant"]):
            g = rows[(rows["split"] == split) & (rows["variant"] == variant)]
            if g.empty:
                continue
            g = g.sort_values("seed")
            out.append(
                {
                    "study": g["study"].iloc[0],
                    "split": split,
                    "variant": variant,
                    "reference": bool(g["reference"].iloc[0]),
                    "model": str(g["model"].iloc[0]),
                    "metric": metric,
                    **over_seeds(g[metric], confidence),
                    "seeds": ",".join(str(s) for s in g["seed"]),
                    **{m: float(g[m].mean()) for m in METRICS},
                }
            )
    return pd.DataFrame(out)


def _overrides(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per variant, its ``overrides`` JSON as a dict (one value per variant)."""
    src = source_of(rows, "rows table")
    out: dict[str, dict[str, Any]] = {}
    for variant, text in zip(rows["variant"], rows["overrides"], strict=True):
        raw = "" if pd.isna(text) else str(text).strip()
        try:
            value = json.loads(raw) if raw else {}
        except json.JSONDecodeError as err:
            raise ValueError(f"{src}: variant {variant!r}: overrides is not JSON ({err})") from None
        if not isinstance(value, dict):
            raise ValueError(f"{src}: variant {variant!r}: overrides must be a JSON object")
        if out.setdefault(variant, value) != value:
            raise ValueError(f"{src}: variant {variant!r} has different overrides in its rows")
    return out


def sigma_table(
    rows: pd.DataFrame, metric: str = "JF", confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """:func:`seed_summary` with each variant's ``sigma`` and ``sigma_mode`` (from its
    ``overrides``; a key that is absent takes :class:`~gsfm.config.ModelConfig`'s default, as
    the run did), sorted by mode, split and σ. Variants of the ``stcn`` model have no frequency
    modules, hence no σ: NaN and mode None."""
    rows = check_rows(rows)
    defaults = {f.name: f.default for f in fields(ModelConfig)}
    over = _overrides(rows)
    table = seed_summary(rows, metric, confidence)
    sigma, mode = [], []
    for variant, model in zip(table["variant"], table["model"], strict=True):
        o = over[variant]
        spectral = model != "stcn" or "lfm" in o or "hfm" in o
        try:
            sigma.append(float(o.get("sigma", defaults["sigma"])) if spectral else math.nan)
        except (TypeError, ValueError):
            raise ValueError(
                f"{source_of(rows, 'rows table')}: variant {variant!r}: sigma "
                f"{o['sigma']!r} is not a number"
            ) from None
        mode.append(str(o.get("sigma_mode", defaults["sigma_mode"])) if spectral else None)
    table.insert(3, "sigma", sigma)
    table.insert(4, "sigma_mode", mode)
    modes = {m: i for i, m in enumerate(in_order(m for m in mode if m is not None))}
    splits = {s: i for i, s in enumerate(in_order(table["split"]))}
    key = [
        (modes.get(m, len(modes)), splits[s], v)
        for m, s, v in zip(mode, table["split"], sigma, strict=True)
    ]
    order = sorted(range(len(table)), key=lambda i: key[i])
    return table.iloc[order].reset_index(drop=True)


# --- paired differences --------------------------------------------------------------------


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def _pooled_difference(
    sum_a: np.ndarray, sum_b: np.ndarray, count: np.ndarray, axis: int = -1
) -> np.ndarray:
    """mean(a − b) over the units of the resampled clusters, from per-cluster sums."""
    return (np.sum(sum_a, axis=axis) - np.sum(sum_b, axis=axis)) / np.sum(count, axis=axis)


def _paired_interval(
    a: np.ndarray,
    b: np.ndarray,
    confidence: float,
    n_resamples: int,
    random_state: Any,
    clusters: np.ndarray | None = None,
) -> tuple[float, float, str]:
    """(low, high, method) of the bootstrap interval of mean(a − b), resampling the pairs, or
    with ``clusters`` (one label per pair, e.g. the video of each object) whole clusters:
    objects of one video share its frames and motion, so they are not independent draws.

    Fewer than :data:`MIN_UNITS` pairs (clusters): no interval (a bootstrap over a handful of
    videos understates the spread). Identical differences: every resample has the same mean,
    so the interval is that value (scipy's BCa is undefined there). Where BCa cannot be
    computed for other data the percentile interval is used; ``method`` says which.
    """
    # imported here: scipy.stats takes about 2 s to import
    from scipy import stats

    d = a - b
    samples: tuple[np.ndarray, ...] = (a, b)
    statistic: Any = _mean_difference
    if clusters is not None and len(set(clusters)) < len(clusters):
        codes, labels = pd.factorize(pd.Series(clusters))
        samples = tuple(
            np.bincount(codes, weights=w, minlength=len(labels)) for w in (a, b, np.ones_like(a))
        )
        statistic = _pooled_difference
    if len(samples[0]) < MIN_UNITS:
        return math.nan, math.nan, "none"
    if np.allclose(d, d[0], rtol=0, atol=1e-9):
        return float(d.mean()), float(d.mean()), "constant"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.bootstrap(
                samples,
                statistic,
                paired=True,
                vectorized=True,
                n_resamples=n_resamples,
                confidence_level=confidence,
                method=method,
                random_state=random_state,
            )
        low, high = (float(v) for v in res.confidence_interval)
        if math.isfinite(low) and math.isfinite(high):
            return low, high, method
    return math.nan, math.nan, "none"


def _excludes_zero(low: float, high: float) -> bool:
    return math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)


def _same_units(ta: pd.DataFrame, tb: pd.DataFrame, units: list[str]) -> None:
    """Both sides must have scored the same units (videos or objects) for every seed they
    share: pairing only those both have would silently average some units over fewer seeds,
    or drop them. Write tables whole splits at a time (``python -m gsfm ablate`` does)."""
    a = set(ta[["seed", *units]].itertuples(index=False, name=None))
    b = set(tb[["seed", *units]].itertuples(index=False, name=None))
    if a == b:
        return
    seed, *unit = min(a ^ b)
    side, other = (ta, tb) if (seed, *unit) in a else (tb, ta)
    raise ValueError(
        f"split {side['split'].iloc[0]!r}: {'/'.join(map(str, unit))} is scored for "
        f"{side['variant'].iloc[0]!r} but not for {other['variant'].iloc[0]!r} at seed {seed} "
        f"({len(a ^ b)} unit(s) differ): score the whole split for both"
    )


def _seed_difference(a: pd.Series, b: pd.Series, confidence: float) -> dict[str, Any]:
    """The seed-level difference a − b of two per-seed score series (indexed by seed), over
    the seeds both have: ``seed_n``, ``seed_diff``, ``seed_low``, ``seed_high`` (Student-t
    over the per-seed differences; NaN for one seed) and ``seed_distinguishable``."""
    seeds = sorted(set(a.index) & set(b.index))
    d = (a.loc[seeds] - b.loc[seeds]).to_numpy(dtype=float)
    mean, half = seed_interval(d, confidence) if d.size else (math.nan, math.nan)
    return {
        "seed_n": int(d.size),
        "seed_diff": mean,
        "seed_low": mean - half,
        "seed_high": mean + half,
        "seed_distinguishable": _excludes_zero(mean - half, mean + half),
    }


def _paired_units(
    ta: pd.DataFrame,
    tb: pd.DataFrame,
    units: list[str],
    metric: str,
    confidence: float,
    n_resamples: int,
    random_state: Any,
) -> dict[str, Any]:
    """Average each unit (video or object) over the seeds both tables have, then the paired
    difference a − b over units with its bootstrap interval, resampling videos (an object's
    units are its video's cluster); and, from the same pairing, the calibrated estimate over
    seeds and videos together (:func:`_calibrated`)."""
    seeds = sorted(set(ta["seed"]) & set(tb["seed"]))
    keys = ["seed", *units]
    ta, tb = ta[ta["seed"].isin(seeds)], tb[tb["seed"].isin(seeds)]
    _same_units(ta, tb, units)
    both = ta[[*keys, metric]].merge(tb[[*keys, metric]], on=keys, suffixes=("_a", "_b"))
    per_unit = both.groupby(units, sort=True)[[f"{metric}_a", f"{metric}_b"]].mean()
    a = per_unit[f"{metric}_a"].to_numpy(dtype=float)
    b = per_unit[f"{metric}_b"].to_numpy(dtype=float)
    videos = per_unit.index.get_level_values("sequence").to_numpy()
    low, high, method = _paired_interval(a, b, confidence, n_resamples, random_state, videos)
    nan = math.nan
    return {
        "n_seeds": len(seeds),
        "n_units": len(a),
        "n_clusters": len(set(videos)),
        "variant_mean": float(a.mean()) if a.size else nan,
        "baseline_mean": float(b.mean()) if b.size else nan,
        "diff": float((a - b).mean()) if a.size else nan,
        "low": low,
        "high": high,
        "method": method,
        "distinguishable": _excludes_zero(low, high),
        **_calibrated(both, metric, confidence),
    }


CALIBRATED_COLUMNS = [
    "estimate",
    "est_low",
    "est_high",
    "est_df",
    "p",
    "p_holm",
    "mde",
    "var_seed",
    "var_video",
    "var_residual",
    "seeds_for_mde_1",
    "seeds_for_mde_2",
    "seeds_for_half_width_2",
    "paper_sign",
    "verdict",
]
_FAMILY_COLUMNS = (
    "p_holm", "seeds_for_mde_1", "seeds_for_mde_2", "seeds_for_half_width_2", "paper_sign",
    "verdict",
)  # fmt: skip


def _calibrated(both: pd.DataFrame, metric: str, confidence: float) -> dict[str, Any]:
    """The calibrated estimate (:func:`gsfm.analysis.calibrated.estimate`) of a − b from
    ``both``, the paired (seed, unit) scores of :func:`_paired_units`; an object table is first
    averaged per (seed, video), so that a video's objects count once."""
    d = (both[f"{metric}_a"] - both[f"{metric}_b"]).rename("d")
    per_video = pd.concat([both[["seed", "sequence"]], d], axis=1)
    table = per_video.groupby(["seed", "sequence"])["d"].mean().unstack("sequence").dropna(axis=1)
    if table.shape[1] < MIN_UNITS:  # too few videos to estimate their variance
        keys = ("estimate", "est_low", "est_high", "est_df", "p", "mde", "var_seed", "var_video",
                "var_residual")  # fmt: skip
        return dict.fromkeys(keys, math.nan)
    est = calibrated.estimate(table.to_numpy(dtype=float), confidence)
    return {
        "estimate": est.estimate,
        "est_low": est.low,
        "est_high": est.high,
        "est_df": est.df,
        "p": est.p,
        "mde": calibrated.minimum_detectable_effect(est.se, est.df),
        "var_seed": est.components.seed,
        "var_video": est.components.video,
        "var_residual": est.components.residual,
    }


def pooled_components(rows: pd.DataFrame) -> calibrated.Components:
    """The variance components of a family's comparisons, averaged (a steadier basis for
    planning seeds than any one pair's three-seed estimate)."""
    ok = rows[["var_seed", "var_video", "var_residual"]].dropna()
    mean = ok.mean() if not ok.empty else pd.Series(math.nan, index=ok.columns)
    return calibrated.Components(
        float(mean["var_seed"]), float(mean["var_video"]), float(mean["var_residual"]),
        int(rows["seed_n"].max()), int(rows["n_videos"].max()),
    )  # fmt: skip


def _with_family_columns(out: pd.DataFrame, family: list[str]) -> pd.DataFrame:
    """Per ``family`` (one study's comparisons in one split and bucket): Holm-adjusted p, and
    the seeds that would bring the minimum detectable effect to 1 and 2 J&F and the 95 %
    interval's half-width to 2 J&F at this many videos, from the family's pooled variance
    components (empty: not reachable with this many videos, whatever the seeds); per pair the sign the paper gives it and the verdict on the
    paper's claim (:func:`gsfm.analysis.calibrated.verdict`; both empty where the paper claims
    nothing)."""
    if out.empty:
        return out.assign(**{c: [] for c in _FAMILY_COLUMNS})
    out = out.copy()
    out["p_holm"] = math.nan
    out["seeds_for_mde_1"] = out["seeds_for_mde_2"] = out["seeds_for_half_width_2"] = None
    for _, idx in out.groupby(family, sort=False).groups.items():
        out.loc[idx, "p_holm"] = calibrated.holm(out.loc[idx, "p"].to_numpy(dtype=float))
        pooled = pooled_components(out.loc[idx])
        for target in (1, 2):
            out.loc[idx, f"seeds_for_mde_{target}"] = calibrated.seeds_needed(pooled, target)
        out.loc[idx, "seeds_for_half_width_2"] = calibrated.seeds_for_half_width(pooled, 2.0)
    signs = [paper_sign(st, v, b) for st, v, b in zip(out["study"], out["variant"], out["baseline"], strict=True)]  # fmt: skip
    out["paper_sign"] = pd.array(signs, dtype="Int64")
    out["verdict"] = [
        calibrated.claim_verdict(lo, hi, sign)
        for lo, hi, sign in zip(out["est_low"], out["est_high"], signs, strict=True)
    ]
    for col in ("seeds_for_mde_1", "seeds_for_mde_2", "seeds_for_half_width_2"):
        out[col] = pd.array(out[col], dtype="Int64")
    return out


def comparison_pairs(
    rows: pd.DataFrame,
    baselines: Mapping[str, str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """``(variant, baseline)``: every variant against its baseline, where both have rows: the
    one ``baselines`` names for it (a study's own pairing, e.g.
    :meth:`gsfm.ablation.studies.Study.baselines`), else the reference (none against a reference
    without rows yet, e.g. after an interrupted grid); then the ``extra`` pairs (a study's
    :attr:`gsfm.ablation.studies.Study.extra_pairs`) and the paper's own comparisons for this study
    (:func:`gsfm.ablation.paper.paper_pairs`) whose two variants are in ``rows``."""
    rows = check_rows(rows)
    present = in_order(rows["variant"])
    refs = in_order(rows.loc[rows["reference"], "variant"])
    reference = refs[0] if len(refs) == 1 else None
    pairs = []
    for v in present:
        base = (baselines or {}).get(v, reference)
        if v != reference and base in present and base != v:
            pairs.append((v, base))
    study = str(rows["study"].iloc[0])
    more = [*extra, *(paper_pairs(study) if study in PAPER_STUDIES else ())]
    pairs += [(str(a), str(b)) for a, b in more if a in present and b in present]
    return list(dict.fromkeys(pairs))


def paired_differences(
    rows: pd.DataFrame,
    videos: pd.DataFrame,
    pairs: Sequence[tuple[str, str]] | None = None,
    metric: str = "JF",
    confidence: float = CONFIDENCE,
    n_resamples: int = _RESAMPLES,
    random_state: Any = _SEED,
) -> pd.DataFrame:
    """Per split and pair ``(variant, baseline)`` (default: every variant against the study's
    reference variant): the paired per-video difference and the seed-level difference.

    Columns: ``split, variant, baseline, metric``; per video (from ``videos``): ``n_seeds``
    (seeds both have), ``n_videos``, ``variant_mean``, ``baseline_mean`` (means over videos of
    the seed-averaged scores), ``diff``, ``low``, ``high`` (``scipy.stats.bootstrap``, videos
    resampled in pairs, ``random_state`` fixed), ``method`` and ``distinguishable`` (the
    interval excludes 0); per seed (from ``rows``): ``seed_n``, ``seed_diff`` (difference of
    the split-level means over the common seeds), ``seed_low``, ``seed_high`` (Student-t over
    the per-seed differences; NaN for one seed), ``seed_distinguishable``. A pair missing
    from a split is left out; a pair with no seed in common has ``n_seeds`` 0 and NaNs.
    """
    rows, videos, metric = check_rows(rows), check_videos(videos), _metric(metric)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if set(videos["study"]) != set(rows["study"]):
        raise ValueError(
            f"{source_of(videos, 'videos table')} is study {videos['study'].iloc[0]!r}, "
            f"{source_of(rows, 'rows table')} is {rows['study'].iloc[0]!r}"
        )
    known = set(rows["variant"]) | set(videos["variant"])
    if pairs is None:
        ref = reference_variant(rows)
        pairs = [(v, ref) for v in in_order(rows["variant"]) if v != ref]
    pairs = [(str(a), str(b)) for a, b in pairs]
    for a, b in pairs:
        for v in (a, b):
            if v not in known:
                raise ValueError(f"variant {v!r} is in neither table ({sorted(known)})")
    out = []
    for split in in_order([*rows["split"], *videos["split"]]):
        r, v = rows[rows["split"] == split], videos[videos["split"] == split]
        for a, b in pairs:
            va, vb = v[v["variant"] == a], v[v["variant"] == b]
            ra, rb = r[r["variant"] == a], r[r["variant"] == b]
            if (va.empty or vb.empty) and (ra.empty or rb.empty):
                continue
            per_video = _paired_units(
                va, vb, ["sequence"], metric, confidence, n_resamples, random_state
            )
            seed_level = _seed_difference(
                ra.set_index("seed")[metric], rb.set_index("seed")[metric], confidence
            )
            n_units = per_video.pop("n_units")
            per_video.pop("n_clusters")  # one video per unit
            out.append(
                {
                    "study": str(rows["study"].iloc[0]),
                    "split": split,
                    "variant": a,
                    "baseline": b,
                    "metric": metric,
                    **per_video,
                    "n_videos": n_units,
                    **seed_level,
                }
            )
    columns = [
        "study",
        "split",
        "variant",
        "baseline",
        "metric",
        "n_seeds",
        "n_videos",
        "variant_mean",
        "baseline_mean",
        "diff",
        "low",
        "high",
        "method",
        "distinguishable",
        "seed_n",
        "seed_diff",
        "seed_low",
        "seed_high",
        "seed_distinguishable",
        *CALIBRATED_COLUMNS,
    ]
    table = pd.DataFrame(out, columns=[c for c in columns if c not in _FAMILY_COLUMNS])
    return _with_family_columns(table, ["study", "split"])[columns]


# --- small objects (the paper's Table 6) ---------------------------------------------------


def _buckets(buckets: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    out = [(str(name), float(t)) for name, t in buckets]
    if not out or any(not 0 < t <= 1 for _, t in out):
        raise ValueError(f"buckets must be (name, area threshold in (0, 1]) pairs, got {buckets}")
    return out


def bucket_counts(
    objects: pd.DataFrame, buckets: Sequence[tuple[str, float]] = SIZE_BUCKETS
) -> pd.DataFrame:
    """Per split and bucket: ``n_objects`` (distinct objects with ``area`` under the
    ``threshold``; nested as in the paper's Table 6), ``n_videos`` holding them, ``n_total``
    objects in the split."""
    objects, out = check_objects(objects), []
    for split in in_order(objects["split"]):
        o = objects[objects["split"] == split].drop_duplicates(["sequence", "object"])
        for name, thr in _buckets(buckets):
            sel = o[o["area"] < thr]
            out.append(
                {
                    "split": split,
                    "bucket": name,
                    "threshold": thr,
                    "n_objects": len(sel),
                    "n_videos": int(sel["sequence"].nunique()),
                    "n_total": len(o),
                }
            )
    return pd.DataFrame(out)


def bucket_scores(
    objects: pd.DataFrame,
    metric: str = "JF",
    confidence: float = CONFIDENCE,
    buckets: Sequence[tuple[str, float]] = SIZE_BUCKETS,
) -> pd.DataFrame:
    """Per (split, bucket, variant): ``n_objects``, and over seeds (each seed's mean over the
    bucket's objects) ``n_seeds``, ``mean``, ``std``, ``ci95``, ``low``, ``high`` and
    ``seeds``. An empty bucket has ``n_objects`` 0 and NaN scores."""
    objects, metric = check_objects(objects), _metric(metric)
    out = []
    for split in in_order(objects["split"]):
        for name, thr in _buckets(buckets):
            for variant in in_order(objects["variant"]):
                g = objects[(objects["split"] == split) & (objects["variant"] == variant)]
                if g.empty:
                    continue
                g = g[g["area"] < thr]
                per_seed = g.groupby("seed", sort=True)[metric].mean()
                spread = (
                    over_seeds(per_seed, confidence)
                    if len(per_seed)
                    else dict.fromkeys(("mean", "std", "ci95", "low", "high"), math.nan)
                    | {"n_seeds": 0}
                )
                out.append(
                    {
                        "study": str(objects["study"].iloc[0]),
                        "split": split,
                        "bucket": name,
                        "threshold": thr,
                        "variant": variant,
                        "metric": metric,
                        "n_objects": len(g.drop_duplicates(["sequence", "object"])),
                        **spread,
                        "seeds": ",".join(str(s) for s in per_seed.index),
                    }
                )
    return pd.DataFrame(out)


def bucket_differences(
    objects: pd.DataFrame,
    reference: str,
    metric: str = "JF",
    confidence: float = CONFIDENCE,
    n_resamples: int = _RESAMPLES,
    random_state: Any = _SEED,
    buckets: Sequence[tuple[str, float]] = SIZE_BUCKETS,
) -> pd.DataFrame:
    """Per (split, bucket) each variant against ``reference``, paired over the bucket's objects
    (each averaged over the seeds both have), with a bootstrap interval that resamples whole
    videos (a video's objects together; at least :data:`MIN_UNITS` videos). Columns
    ``n_seeds``, ``n_objects``, ``n_videos``, ``variant_mean``, ``baseline_mean``, ``diff``,
    ``low``, ``high``, ``method``, ``distinguishable``; and over seeds (each seed's mean over the
    bucket's objects, as :func:`bucket_scores`) ``seed_n``, ``seed_diff``, ``seed_low``,
    ``seed_high`` and ``seed_distinguishable``, as in :func:`paired_differences`."""
    objects, metric = check_objects(objects), _metric(metric)
    variants = in_order(objects["variant"])
    if reference not in variants:
        raise ValueError(
            f"reference {reference!r} is not a variant of "
            f"{source_of(objects, 'objects table')} ({variants})"
        )
    out = []
    for split in in_order(objects["split"]):
        o = objects[objects["split"] == split]
        for name, thr in _buckets(buckets):
            small = o[o["area"] < thr]
            tb = small[small["variant"] == reference]
            for variant in variants:
                if variant == reference or not (o["variant"] == variant).any():
                    continue
                ta = small[small["variant"] == variant]
                res = _paired_units(
                    ta, tb, ["sequence", "object"], metric, confidence, n_resamples, random_state
                )
                res["n_objects"] = res.pop("n_units")
                res["n_videos"] = res.pop("n_clusters")
                res |= _seed_difference(
                    ta.groupby("seed")[metric].mean(), tb.groupby("seed")[metric].mean(), confidence
                )
                out.append(
                    {
                        "study": str(o["study"].iloc[0]),
                        "split": split,
                        "bucket": name,
                        "threshold": thr,
                        "variant": variant,
                        "baseline": reference,
                        "metric": metric,
                        **res,
                    }
                )
    return _with_family_columns(pd.DataFrame(out), ["study", "split", "bucket"])
