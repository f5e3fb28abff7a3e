"""Statistics of the ablation studies: what differs from noise at the scale we can afford.

Reads what ``python -m gsfm ablate`` writes under ``results/ablations/``:

* ``<study>.csv``: one row per (variant, seed, split), J&F, J and F (×100) of the whole split,
  with the run's provenance (profile, device, torch, commit, ...);
* ``<study>_videos.csv``: one row per (variant, seed, split, sequence);
* ``<study>_objects.csv``: one row per (variant, seed, split, sequence, object) with the
  object's mean ground-truth ``area`` (fraction of the frame, over the frames it is in).

and computes

* :func:`seed_summary` (:func:`sigma_table` for the σ sweep): per variant and split, the number
  of seeds, mean, std and the 95 % Student-t interval of the mean over seeds
  (:func:`gsfm.analysis.comparison.seed_interval`; one seed gives no interval, NaN);
* :func:`paired_differences`: each variant against the study's reference variant (or given
  pairs), per split. Each video's score is averaged over the seeds both variants have, the
  per-video differences are averaged, and ``scipy.stats.bootstrap`` resamples the videos in
  pairs (a fixed ``random_state``) for a 95 % interval; "distinguishable" means that interval
  excludes 0. Beside it, the seed-level difference of the means with its Student-t interval
  (over the per-seed differences of the seeds both variants have);
* :func:`bucket_counts`, :func:`bucket_scores`, :func:`bucket_differences`: the paper's Table 6
  buckets (objects under 5 %, 1 %, 0.5 % of the frame, nested), object counts, and scores;
* sentences for the notebooks: :func:`summary_text`, :func:`differences_text`,
  :func:`paper_ordering_text`, :func:`sigma_text`, :func:`small_objects_text`, all computed
  from the tables.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gsfm.analysis import calibrated
from gsfm.analysis.comparison import seed_interval
from gsfm.analysis.paper_ablations import (
    PAPER_MAP_SIDE,
    PAPER_STUDIES,
    paper_pairs,
    paper_rows,
    paper_sign,
)
from gsfm.analysis.wording import interval, signed
from gsfm.config import ModelConfig
from gsfm.files import read_csv_table

__all__ = [
    "METRICS",
    "MIN_UNITS",
    "OBJECT_COLUMNS",
    "RUN_COLUMNS",
    "SIZE_BUCKETS",
    "VIDEO_COLUMNS",
    "AblationTables",
    "bucket_counts",
    "bucket_differences",
    "bucket_scores",
    "check_objects",
    "check_rows",
    "check_videos",
    "comparison_pairs",
    "differences_text",
    "paired_differences",
    "paper_ordering_text",
    "provenance_note",
    "read_ablation",
    "reference_variant",
    "seed_summary",
    "sigma_label",
    "sigma_table",
    "sigma_text",
    "small_objects_text",
    "speed_text",
    "summary_text",
]

METRICS: tuple[str, ...] = ("JF", "J", "F")
METRIC_LABELS = {"JF": "J&F", "J": "J", "F": "F"}
RUN_COLUMNS: tuple[str, ...] = (
    "study", "variant", "reference", "model", "overrides", "inference", "seed", "split",
    "profile", "device", "torch", "amp", "git_commit", "config_hash", "data_hash",
    "train_s", "eval_fps", "JF", "J", "F", "objects", "frames",
)  # fmt: skip
VIDEO_COLUMNS: tuple[str, ...] = ("study", "variant", "seed", "split", "sequence", *METRICS)
OBJECT_COLUMNS: tuple[str, ...] = (
    "study", "variant", "seed", "split", "sequence", "object", "area", *METRICS,
)  # fmt: skip
# The paper's Table 6: objects with an area under 5 %, 1 % and 0.5 % of the image. The buckets
# are nested: "<5%" counts every object under 5 %, the smaller ones included.
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (("<5%", 0.05), ("<1%", 0.01), ("<0.5%", 0.005))

# Fewer videos than this give no bootstrap interval (object differences are resampled by
# video): with 2-4 videos the resampled means take only a few distinct values and the
# interval is far too narrow.
MIN_UNITS = 5
_NAMES = ("study", "variant", "split", "sequence", "object", "profile", "device", "torch")
_CONFIDENCE = 0.95
_RESAMPLES = 9999
_SEED = 0


# --- reading and checking ------------------------------------------------------------------


def _source(table: pd.DataFrame, default: str) -> str:
    return str(table.attrs.get("source", default))


def _require(table: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    src = _source(table, what)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{src} lacks the column(s) {missing}")
    if table.empty:
        raise ValueError(f"{src} has no rows")
    studies = table["study"].astype(str).unique()
    if len(studies) > 1:
        raise ValueError(f"{src} mixes studies {sorted(studies)}; one study per table")
    out = table.copy()
    out.attrs["source"] = src
    for col in ("variant", "split", "study"):
        out[col] = out[col].astype(str)
    seeds = pd.to_numeric(out["seed"], errors="coerce")
    if seeds.isna().any() or not np.all(np.mod(seeds, 1) == 0):
        raise ValueError(f"{src}: column 'seed' must hold integers")
    out["seed"] = seeds.astype(int)
    for col in METRICS:
        values = pd.to_numeric(out[col], errors="coerce")
        if values.isna().any():
            bad = out.loc[values.isna(), "variant"].unique().tolist()
            raise ValueError(f"{src}: column {col!r} has missing or non-numeric values ({bad})")
        out[col] = values.astype(float)
    return out


def _no_duplicates(table: pd.DataFrame, keys: list[str]) -> None:
    dup = table.duplicated(keys, keep=False)
    if dup.any():
        first = table.loc[dup, keys].iloc[0].to_dict()
        raise ValueError(f"{_source(table, 'table')}: duplicate rows for {first}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def check_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>.csv`` table (one error naming the file and the problem):
    its columns, integer seeds, numeric scores, a boolean ``reference`` that is constant per
    variant, one row per (variant, seed, split), and one ``data_hash`` per split (rows scored
    on different renderings of a split are never compared)."""
    out = _require(rows, RUN_COLUMNS, "rows table")
    src = _source(out, "rows table")
    hashes = out.groupby("split", sort=False)["data_hash"].unique()
    for split, found in hashes.items():
        if len(found) > 1:
            raise ValueError(
                f"{src}: split {split!r} was scored on different data ({sorted(map(str, found))}): "
                "compare rows of one rendering of a split only"
            )
    try:
        out["reference"] = [_as_bool(v) for v in out["reference"]]
    except ValueError as err:
        raise ValueError(f"{src}: column 'reference': {err}") from None
    mixed = out.groupby("variant", sort=False)["reference"].nunique()
    if (mixed > 1).any():
        raise ValueError(
            f"{src}: variant(s) {list(mixed[mixed > 1].index)} are both reference and not"
        )
    _no_duplicates(out, ["variant", "seed", "split"])
    return out


def check_videos(videos: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>_videos.csv`` table: one row per (variant, seed, split,
    video)."""
    out = _require(videos, VIDEO_COLUMNS, "videos table")
    out["sequence"] = out["sequence"].astype(str)
    _no_duplicates(out, ["variant", "seed", "split", "sequence"])
    return out


def check_objects(objects: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>_objects.csv`` table: areas in [0, 1], and one area per
    object (it is measured on the ground truth, so every variant and seed must agree)."""
    out = _require(objects, OBJECT_COLUMNS, "objects table")
    src = _source(out, "objects table")
    out["sequence"] = out["sequence"].astype(str)
    out["object"] = out["object"].astype(str)
    area = pd.to_numeric(out["area"], errors="coerce")
    if area.isna().any() or (area < 0).any() or (area > 1).any():
        raise ValueError(f"{src}: column 'area' must be a fraction of the frame in [0, 1]")
    out["area"] = area.astype(float)
    spread = out.groupby(["split", "sequence", "object"])["area"].agg(lambda a: a.max() - a.min())
    if (spread > 1e-6).any():
        split, seq, obj = spread[spread > 1e-6].index[0]
        raise ValueError(
            f"{src}: object {obj} of {seq} ({split}) has different areas across "
            "variants or seeds; the area must come from the ground truth"
        )
    _no_duplicates(out, ["variant", "seed", "split", "sequence", "object"])
    return out


@dataclass(frozen=True)
class AblationTables:
    """One study's tables: ``rows`` (``<study>.csv``), ``videos`` and ``objects`` (None when
    the file does not exist)."""

    study: str
    rows: pd.DataFrame
    videos: pd.DataFrame | None
    objects: pd.DataFrame | None
    device_note: str = ""  # which rows of other devices were left out, in words


def _read(path: Path, check: Any, keep: Any = None) -> pd.DataFrame:
    # names stay text: a video "0001" or a variant "7" must not turn into a number
    table = read_csv_table(path, dtype=dict.fromkeys(_NAMES, str))
    if keep is not None:
        table = table[keep(table)].reset_index(drop=True)
    table.attrs["source"] = str(path)
    return check(table)


def read_ablation(
    folder: str | os.PathLike[str],
    study: str,
    profile: str | None = None,
    device: str | None = None,
    cpu_capabilities: Sequence[str] | None = None,
) -> AblationTables:
    """Read and check ``folder/<study>.csv`` and, where they exist, its ``_videos`` and
    ``_objects`` companions. ``profile`` / ``device`` / ``cpu_capabilities`` keep only the
    rows of that profile, training device and CPU kernel sets ("" for a row that records none)
    (and the companions' rows of the kept variants, seeds and splits), so that one table never
    mixes what must not be compared."""
    root = Path(folder)
    path = root / f"{study}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"ablation table not found: {path}")

    def keep_rows(t: pd.DataFrame) -> pd.Series:
        mask = pd.Series(True, index=t.index)
        for col, values in (
            ("profile", None if profile is None else [profile]),
            ("device", None if device is None else [device]),
            ("cpu_capability", cpu_capabilities),
        ):
            if values is not None and col in t:
                text = t[col].map(lambda v: "" if pd.isna(v) else str(v))
                mask &= text.isin([str(v) for v in values])
        return mask

    rows = _read(path, check_rows, keep_rows)
    keys = set(rows[["variant", "seed", "split"]].astype(str).itertuples(index=False))

    def keep_parts(t: pd.DataFrame) -> pd.Series:
        ids = t[["variant", "seed", "split"]].astype(str).itertuples(index=False)
        mask = pd.Series([k in keys for k in ids], index=t.index, dtype=bool)
        if profile is not None and "profile" in t:
            mask &= t["profile"].astype(str) == str(profile)
        return mask

    extra: dict[str, pd.DataFrame | None] = {}
    for kind, check in (("videos", check_videos), ("objects", check_objects)):
        p = root / f"{study}_{kind}.csv"
        extra[kind] = _read(p, check, keep_parts) if p.is_file() else None
    return AblationTables(study, rows, extra["videos"], extra["objects"])


def _metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def _order(values: Iterable[Any]) -> list[Any]:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def reference_variant(rows: pd.DataFrame) -> str:
    """The study's reference variant (the one its differences are taken against)."""
    rows = check_rows(rows)
    refs = _order(rows.loc[rows["reference"], "variant"])
    if len(refs) != 1:
        raise ValueError(
            f"{_source(rows, 'rows table')}: expected one reference variant, found "
            f"{len(refs)} ({refs})"
        )
    return str(refs[0])


# --- over seeds ----------------------------------------------------------------------------


def _over_seeds(values: pd.Series, confidence: float) -> dict[str, Any]:
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
    rows: pd.DataFrame, metric: str = "JF", confidence: float = _CONFIDENCE
) -> pd.DataFrame:
    """Per (split, variant), in order of appearance: ``n_seeds``, ``seeds``, and for ``metric``
    the ``mean``, ``std``, ``ci95`` (half-width of the Student-t interval of the mean over
    seeds), ``low``, ``high``; plus the means of J&F, J, F, ``reference`` and ``model``.

    One seed gives no spread: std and interval are NaN (the texts say so)."""
    rows, metric = check_rows(rows), _metric(metric)
    out = []
    for split in _order(rows["split"]):
        for variant in _order(rows["variant"]):
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
                    **_over_seeds(g[metric], confidence),
                    "seeds": ",".join(str(s) for s in g["seed"]),
                    **{m: float(g[m].mean()) for m in METRICS},
                }
            )
    return pd.DataFrame(out)


def _overrides(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per variant, its ``overrides`` JSON as a dict (one value per variant)."""
    src = _source(rows, "rows table")
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
    rows: pd.DataFrame, metric: str = "JF", confidence: float = _CONFIDENCE
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
                f"{_source(rows, 'rows table')}: variant {variant!r}: sigma "
                f"{o['sigma']!r} is not a number"
            ) from None
        mode.append(str(o.get("sigma_mode", defaults["sigma_mode"])) if spectral else None)
    table.insert(3, "sigma", sigma)
    table.insert(4, "sigma_mode", mode)
    modes = {m: i for i, m in enumerate(_order(m for m in mode if m is not None))}
    splits = {s: i for i, s in enumerate(_order(table["split"]))}
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
    "paper_sign",
    "verdict",
]
_FAMILY_COLUMNS = ("p_holm", "seeds_for_mde_1", "seeds_for_mde_2", "paper_sign", "verdict")


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


def _pooled(rows: pd.DataFrame) -> calibrated.Components:
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
    the seeds that would bring the minimum detectable effect to 1 and 2 J&F at this many
    videos, from the family's pooled variance components (empty: not reachable with this many
    videos, whatever the seeds); per pair the sign the paper gives it and the verdict on the
    paper's claim (:func:`gsfm.analysis.calibrated.verdict`; both empty where the paper claims
    nothing)."""
    if out.empty:
        return out.assign(**{c: [] for c in _FAMILY_COLUMNS})
    out = out.copy()
    out["p_holm"] = math.nan
    out["seeds_for_mde_1"] = out["seeds_for_mde_2"] = None
    for _, idx in out.groupby(family, sort=False).groups.items():
        out.loc[idx, "p_holm"] = calibrated.holm(out.loc[idx, "p"].to_numpy(dtype=float))
        pooled = _pooled(out.loc[idx])
        for target in (1, 2):
            out.loc[idx, f"seeds_for_mde_{target}"] = calibrated.seeds_needed(pooled, target)
    signs = [paper_sign(st, v, b) for st, v, b in zip(out["study"], out["variant"], out["baseline"], strict=True)]  # fmt: skip
    out["paper_sign"] = pd.array(signs, dtype="Int64")
    out["verdict"] = [
        "" if sign is None else calibrated.verdict(lo, hi, sign).value
        for lo, hi, sign in zip(out["est_low"], out["est_high"], signs, strict=True)
    ]
    for col in ("seeds_for_mde_1", "seeds_for_mde_2"):
        out[col] = pd.array(out[col], dtype="Int64")
    return out


def comparison_pairs(
    rows: pd.DataFrame,
    baselines: Mapping[str, str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """``(variant, baseline)``: every variant against its baseline, where both have rows: the
    one ``baselines`` names for it (a study's own pairing, e.g.
    :meth:`gsfm.ablation.Study.baselines`), else the reference (none against a reference
    without rows yet, e.g. after an interrupted grid); then the ``extra`` pairs (a study's
    :attr:`gsfm.ablation.Study.extra_pairs`) and the paper's own comparisons for this study
    (:func:`gsfm.analysis.paper_ablations.paper_pairs`) whose two variants are in ``rows``."""
    rows = check_rows(rows)
    present = _order(rows["variant"])
    refs = _order(rows.loc[rows["reference"], "variant"])
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
    confidence: float = _CONFIDENCE,
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
            f"{_source(videos, 'videos table')} is study {videos['study'].iloc[0]!r}, "
            f"{_source(rows, 'rows table')} is {rows['study'].iloc[0]!r}"
        )
    known = set(rows["variant"]) | set(videos["variant"])
    if pairs is None:
        ref = reference_variant(rows)
        pairs = [(v, ref) for v in _order(rows["variant"]) if v != ref]
    pairs = [(str(a), str(b)) for a, b in pairs]
    for a, b in pairs:
        for v in (a, b):
            if v not in known:
                raise ValueError(f"variant {v!r} is in neither table ({sorted(known)})")
    out = []
    for split in _order([*rows["split"], *videos["split"]]):
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
    for split in _order(objects["split"]):
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
    confidence: float = _CONFIDENCE,
    buckets: Sequence[tuple[str, float]] = SIZE_BUCKETS,
) -> pd.DataFrame:
    """Per (split, bucket, variant): ``n_objects``, and over seeds (each seed's mean over the
    bucket's objects) ``n_seeds``, ``mean``, ``std``, ``ci95``, ``low``, ``high`` and
    ``seeds``. An empty bucket has ``n_objects`` 0 and NaN scores."""
    objects, metric = check_objects(objects), _metric(metric)
    out = []
    for split in _order(objects["split"]):
        for name, thr in _buckets(buckets):
            for variant in _order(objects["variant"]):
                g = objects[(objects["split"] == split) & (objects["variant"] == variant)]
                if g.empty:
                    continue
                g = g[g["area"] < thr]
                per_seed = g.groupby("seed", sort=True)[metric].mean()
                spread = (
                    _over_seeds(per_seed, confidence)
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
    confidence: float = _CONFIDENCE,
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
    variants = _order(objects["variant"])
    if reference not in variants:
        raise ValueError(
            f"reference {reference!r} is not a variant of "
            f"{_source(objects, 'objects table')} ({variants})"
        )
    out = []
    for split in _order(objects["split"]):
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


# --- sentences -----------------------------------------------------------------------------


def _seeds_phrase(lo: int, hi: int) -> str:
    n = str(lo) if lo == hi else f"{lo}–{hi}"
    return f"{n} seed{'s' if hi != 1 else ''}"


def provenance_note(rows: pd.DataFrame, seeds: bool = True) -> str:
    """Where the numbers come from, for figure titles: profile, device, torch and (``seeds``)
    the number of seeds per point (per variant and split)."""
    rows = check_rows(rows)

    def values(col: str) -> str:
        return ", ".join(_order(str(v) for v in rows[col]))

    text = f"profile {values('profile')}, device {values('device')}, torch {values('torch')}"
    if not seeds:
        return text
    n = rows.groupby(["variant", "split"])["seed"].nunique()
    return f"{text}; {_seeds_phrase(int(n.min()), int(n.max()))} per point"


def summary_text(summary: pd.DataFrame) -> str:
    """:func:`seed_summary` (or :func:`sigma_table`) in sentences, one line per split."""
    if summary.empty:
        return "No runs to summarise."
    label = METRIC_LABELS.get(str(summary["metric"].iloc[0]), str(summary["metric"].iloc[0]))
    lines = [f"{label} per variant: mean ± half-width of the 95 % Student-t interval over seeds."]
    single = False
    for split in _order(summary["split"]):
        parts = []
        for _, r in summary[summary["split"] == split].iterrows():
            name = f"{r['variant']}{' (reference)' if r['reference'] else ''}"
            if r["n_seeds"] > 1:
                parts.append(f"{name} {r['mean']:.1f} ± {r['ci95']:.1f} ({r['n_seeds']} seeds)")
            else:
                single = True
                parts.append(f"{name} {r['mean']:.1f} (1 seed: no interval)")
        lines.append(f"{split}: " + "; ".join(parts) + ".")
        sets = summary[summary["split"] == split].groupby("seeds", sort=False)["variant"]
        if sets.ngroups > 1:
            lines.append(
                f"On {split} the variants have different seeds ("
                + "; ".join(f"seeds {s}: {', '.join(v)}" for s, v in sets)
                + "), so comparing these means mixes seeds; the paired differences below use "
                "only the seeds both sides have."
            )
    if single:
        lines.append(
            "One seed gives no interval: a single run says nothing about how much "
            "another seed would move it."
        )
    return "\n".join(lines)


def _fps_spread(rows: pd.DataFrame | None) -> str:
    """How far apart the rows' ``eval_fps`` of one variant and split (the same network, other
    seeds) are: the largest max/min ratio, as a phrase; empty with fewer than two seeds."""
    if rows is None or "eval_fps" not in rows or rows.empty:
        return ""
    fps = rows[rows["eval_fps"] > 0].groupby(["variant", "split"])["eval_fps"]
    spread = (fps.max() / fps.min())[fps.count() > 1]
    if spread.empty:
        return ""
    (variant, split), worst = spread.idxmax(), float(spread.max())
    return (
        f" Here one variant's eval_fps differs up to ×{worst:.1f} between its seeds "
        f"({variant}, {split}), the same network."
    )


def speed_text(
    speed: pd.DataFrame | None, study: str | None = None, rows: pd.DataFrame | None = None
) -> str:
    """A speed table of :func:`gsfm.ablation_speed.variant_speed` (one profile and device) in
    sentences: each variant's median FPS and its speed relative to the reference (median and
    range of the per-round ratios), then the paper's own ratios for ``study`` where it gives
    FPS. Without a table: why the rows' ``eval_fps`` does not rank variants. With ``rows``
    (the study's rows), how far apart their ``eval_fps`` is for one variant."""
    spread = _fps_spread(rows)
    if speed is None or speed.empty:
        return (
            "Speed: not timed together yet. Each row's eval_fps was measured by the process "
            "that scored it, under the machine's load at that moment, so it does not rank "
            f"variants.{spread} `python -m gsfm ablate --speed` times them together."
        )
    first = speed.iloc[0]
    capability = f", {first['cpu_capability']}" if isinstance(first["cpu_capability"], str) else ""
    lines = [
        f"Speed, timed together in one process ({first['device']}{capability}, torch "
        f"{first['torch']}; {first['rounds']} interleaved rounds over {first['frames']} frames of "
        f"{first['height']}×{first['width']} from {len(str(first['videos']).split())} validation "
        "videos; random weights: the compute does not depend on their values):"
    ]
    reference = speed.loc[speed["reference"].astype(bool), "variant"]
    ref = str(reference.iloc[0]) if len(reference) else None
    parts = []
    for _, r in speed.iterrows():
        text = f"{r['variant']} {r['fps']:.2f} FPS"
        if r["variant"] == ref:
            text += " (reference)"
        elif math.isfinite(float(r["ratio"])):
            text += (
                f", ×{r['ratio']:.2f} of {ref} (the median of the rounds' ratios, "
                f"{r['ratio_min']:.2f}–{r['ratio_max']:.2f})"
            )
        parts.append(text)
    lines.append("; ".join(parts) + ".")
    paper = paper_rows(study) if study in PAPER_STUDIES else pd.DataFrame()
    if len(paper) and "FPS" in paper:
        timed = paper[paper["FPS"].notna() & paper["variant"].notna() & paper["baseline"].notna()]
        base = paper.set_index("paper_variant")["FPS"]
        ratios = [
            f"{r['variant']} ×{r['FPS'] / base[r['paper_baseline']]:.2f} of {r['baseline']} "
            f"({r['FPS']:g} vs {base[r['paper_baseline']]:g} FPS)"
            for _, r in timed.iterrows()
            if math.isfinite(float(base.get(r["paper_baseline"], math.nan)))
        ]
        if ratios:
            lines.append(
                f"The paper ({paper['source'].iloc[0]}, one V100): " + "; ".join(ratios) + "."
            )
    lines.append(
        "Each row's eval_fps, measured while scoring it under whatever load the machine had, "
        f"is not used to compare speeds.{spread}"
    )
    return " ".join(lines)


def _pair(r: pd.Series) -> str:
    return f"{r['variant']} − {r['baseline']}"


def differences_text(diffs: pd.DataFrame) -> str:
    """:func:`paired_differences` in sentences: per split, each pair's difference with its one
    calibrated interval over seeds and videos together, whether it is beyond noise, the
    verdict on the paper's claim where the paper makes one, and the minimum detectable
    effect (MDE) with the seeds at hand."""
    if diffs.empty:
        return "No pair of variants was measured on a common split."
    label = METRIC_LABELS.get(str(diffs["metric"].iloc[0]), "")
    lines = []
    for split in _order(diffs["split"]):
        d = diffs[diffs["split"] == split]
        seeds = _seeds_phrase(int(d["seed_n"].min()), int(d["seed_n"].max()))
        parts = [
            f"{split}: {label} differences over {int(d['n_videos'].max())} videos and {seeds} "
            "(95 % interval over seeds and videos together)."
        ]
        said, without = [], []
        for _, r in d.iterrows():
            if not math.isfinite(float(r.get("est_low", math.nan))):
                without.append(_pair(r))
                continue
            status, _ = _against_noise(r)
            words = "beyond noise" if status == "beyond" else "within noise"
            if r.get("verdict"):
                words += f", {r['verdict']}"
            said.append(
                f"{_pair(r)} {signed(r['estimate'])} {interval(r['est_low'], r['est_high'])} "
                f"({words}; MDE {float(r['mde']):.1f})"
            )
        if said:
            parts.append("; ".join(said) + ".")
        if without:
            parts.append(
                "No interval (one seed, or no per-video scores in common): "
                + "; ".join(without)
                + "."
            )
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _against_noise(r: pd.Series) -> tuple[str, str]:
    """(status, words): how the difference in ``r`` (a row of :func:`paired_differences` or
    :func:`bucket_differences`) stands against noise. Where the row has the calibrated
    interval over seeds and videos together (``est_low``/``est_high``, at least two seeds),
    that interval alone decides: "beyond" when it excludes 0, else "noise". Otherwise (one
    seed, or no per-video scores) the older levels: over the units (videos or objects,
    ``diff``/``low``/``high``) and over seeds (``seed_*``); "beyond" only when both exclude 0
    on the same side, "conflict" when the seed level excludes 0 on the other side. The words
    read after "is"."""
    low, high = float(r.get("est_low", math.nan)), float(r.get("est_high", math.nan))
    if math.isfinite(low) and math.isfinite(high):  # the one calibrated interval
        where = f"over seeds and videos {interval(low, high)}"
        if low > 0 or high < 0:
            return "beyond", f"beyond noise ({where})"
        return "noise", f"within noise ({where})"
    diff = float(r["diff"])
    seed_n = int(r.get("seed_n", 0) or 0)
    seed_diff = float(r.get("seed_diff", math.nan))
    over_seeds = seed_n >= 2 and bool(r.get("seed_distinguishable", False))
    if not math.isfinite(diff):  # nothing paired per unit: the seed level alone
        if over_seeds:
            return "beyond", "distinguishable from noise over seeds (no per-video scores to pair)"
        if seed_n < 2:
            return "noise", "measured on one seed with no per-video scores: its noise is unknown"
        return "noise", "not distinguishable from noise over seeds (no per-video scores to pair)"
    over_units = bool(r["distinguishable"])
    if over_seeds and (seed_diff > 0) != (diff > 0):
        other = f"{signed(seed_diff)} {interval(r['seed_low'], r['seed_high'])}"
        return "conflict", f"beyond noise over seeds the other way ({other}): the levels disagree"
    if over_units and over_seeds:
        return "beyond", "distinguishable from noise over videos and over seeds"
    if over_seeds:
        return "noise", "beyond the noise over seeds but not over videos"
    if not over_units:
        return "noise", "not distinguishable from noise"
    if seed_n < 2:
        words = "but with one seed the noise between seeds is not measured"
        return "noise", f"beyond the noise over videos, {words}"
    return "noise", "beyond the noise over videos but not over seeds"


def _verdict(r: pd.Series, direction: str) -> tuple[str, str, str]:
    """(kind, ours, words) for one row of :func:`paired_differences` against the paper's
    ``direction`` ("+" or "-"). Where the row has its calibrated verdict (``verdict``, from the
    interval over seeds and videos together), the kind follows it: "holds" (confirmed),
    "reversed" (contradicted), "bounded", else "direction" / "reversed-noise" by the sign of
    the estimate (unresolved). Rows without it (one seed) fall back to the older rule: kind is
    "holds" / "reversed" only when the difference is beyond noise both over videos and over
    seeds (:func:`_against_noise`). "disagree" when the two levels are on opposite sides, "tie" for no difference at
    all, "none" when nothing was measured; else "direction" or "reversed-noise"."""
    found = str(r.get("verdict", "") or "")
    if found and math.isfinite(float(r.get("est_low", math.nan))):
        est, low, high = (float(r[k]) for k in ("estimate", "est_low", "est_high"))
        ours = f" {signed(est)} {interval(low, high)}"
        kind = {
            "confirmed": "holds",
            "contradicted": "reversed",
            "bounded": "bounded",
        }.get(found) or ("direction" if (est > 0) == (direction == "+") else "reversed-noise")
        words = {
            "holds": "confirmed (the paper's direction, beyond noise over seeds and videos)",
            "reversed": "contradicted (the opposite direction, beyond noise over seeds and videos)",
            "bounded": f"bounded (any effect is smaller than {calibrated.BOUND:g} J&F)",
        }.get(kind) or (
            f"unresolved ({'the paper' if kind == 'direction' else 'the opposite'}'s direction "
            f"within noise; the minimum detectable effect is {float(r['mde']):.1f} J&F)"
        )
        return kind, ours, words
    diff, low, high, how = r["diff"], r["low"], r["high"], ""
    if not math.isfinite(diff):  # no per-video scores in common: the seed-level difference
        diff, low, high = (r.get(k, math.nan) for k in ("seed_diff", "seed_low", "seed_high"))
        how = " over seeds"
    ours = f"{how} {signed(diff)}" if math.isfinite(diff) else " nothing"
    if math.isfinite(low):
        ours += f" {interval(low, high)}"
    if not math.isfinite(diff):
        return "none", ours, "not measured"
    if diff == 0:
        return "tie", ours, "no difference at all"
    status, words = _against_noise(r)
    same_way = (diff > 0) == (direction == "+")
    if status == "beyond":
        kind, side = ("holds", "the paper's direction") if same_way else ("reversed", "reversed")
        return kind, ours, f"{side}, {words}"
    side = "the paper's direction" if same_way else "the opposite direction"
    if status == "conflict":
        return "disagree", ours, f"{side} over videos, {words}"
    return ("direction" if same_way else "reversed-noise"), ours, f"{side}, {words}"


def paper_ordering_text(diffs: pd.DataFrame, study: str | None = None) -> str:
    """Whether the paper's ordering holds: for each comparison the paper makes in ``study``
    (:data:`~gsfm.analysis.paper_ablations.PAPER_ABLATIONS` rows with our labels and a
    direction), the paper's difference beside ours (from :func:`paired_differences`, or
    :func:`bucket_differences` for Table 6's buckets) and a verdict; then a tally per split."""
    if study is None:
        if diffs.empty:
            raise ValueError("empty differences table: pass the study name")
        study = str(diffs["study"].iloc[0])
    paper = paper_rows(study)
    comparable = paper[
        paper["variant"].notna() & paper["baseline"].notna() & paper["direction"].notna()
    ]
    has_bucket = "bucket" in diffs.columns
    if not has_bucket:
        comparable = comparable[comparable["bucket"].isna()]
    if comparable.empty:
        return f"The paper makes no comparison in {study} that maps onto our variants" + (
            " outside the object-size buckets (use bucket_differences)."
            if paper["bucket"].notna().any()
            else "."
        )

    def name_of(p: pd.Series) -> str:
        where = f" ({p['bucket']})" if isinstance(p["bucket"], str) else ""
        return f"{p['variant']} vs {p['baseline']}{where}"

    lines, missing = [], []
    splits = _order(diffs["split"]) if not diffs.empty else []
    for split in splits:
        d = diffs[diffs["split"] == split]
        parts, kinds, absent = [], [], 0
        for _, p in comparable.iterrows():
            sel = d[(d["variant"] == p["variant"]) & (d["baseline"] == p["baseline"])]
            if has_bucket and isinstance(p["bucket"], str):
                sel = sel[sel["bucket"] == p["bucket"]]
            if sel.empty:
                missing.append(name_of(p))
                absent += 1
                continue
            theirs = (
                f"{signed(p['paper_delta'])}"
                if math.isfinite(p["paper_delta"])
                else ("higher" if p["direction"] == "+" else "lower")
            )
            kind, ours, words = _verdict(sel.iloc[0], p["direction"])
            kinds.append(kind)
            parts.append(f"{name_of(p)}: the paper {theirs} ({p['source']}), ours{ours}: {words}")
        if not parts:
            continue
        n = len(kinds) - kinds.count("none")
        if n == 0:
            lines.append(
                f"On {split}, no comparison of the paper's was measured: " + "; ".join(parts) + "."
            )
            continue
        counts = {
            k: kinds.count(k)
            for k in (
                "holds", "direction", "reversed-noise", "reversed", "disagree", "tie", "bounded"
            )
        }  # fmt: skip
        clauses = [
            f"{counts['holds']} confirmed beyond noise",
            f"{counts['direction']} point the paper's way but not beyond noise",
            f"{counts['reversed-noise']} the other way but not beyond noise",
            f"{counts['reversed']} contradicted beyond noise",
        ]
        if counts["bounded"]:
            clauses.append(
                f"{counts['bounded']} bounded (any effect smaller than {calibrated.BOUND:g} J&F)"
            )
        if counts["disagree"]:
            clauses.append(f"{counts['disagree']} disagree between videos and seeds")
        if counts["tie"]:
            clauses.append(f"{counts['tie']} show no difference at all")
        tally = (
            f"On {split}, of the paper's {n} comparison{'s' if n != 1 else ''} measured: "
            + ", ".join(clauses)
            + "."
        )
        unmeasured = absent + len(kinds) - n
        if counts["reversed"]:
            tally += " At least one of the paper's comparisons is contradicted here."
        elif counts["holds"] == n and not unmeasured:
            tally += f" All {n} of the paper's comparisons measured here are confirmed."
        elif counts["holds"] == n:
            tally += (
                f" Every comparison measured holds, but {unmeasured} of the paper's "
                f"{n + unmeasured} {'is' if unmeasured == 1 else 'are'} not measured yet."
            )
        else:
            tally += " At this scale the data neither confirm nor contradict the paper's ordering."
        lines.append(tally + " " + "; ".join(parts) + ".")
    if not splits:  # no pair measured at all
        missing = [name_of(p) for _, p in comparable.iterrows()]
    if missing:
        lines.append("Not measured here: " + ", ".join(_order(missing)) + ".")
    unplaced = paper[paper["variant"].isna()]
    if len(unplaced):
        lines.append(
            "The paper's rows without a variant of ours are not compared: "
            + ", ".join(unplaced["paper_variant"])
            + "."
        )
    return "\n".join(lines) if lines else "No comparison to make."


def _either_way(diffs: pd.DataFrame | None, split: str, a: str, b: str) -> pd.Series | None:
    """The row of ``diffs`` comparing ``a`` and ``b`` (in either order) on ``split``."""
    if diffs is None or diffs.empty:
        return None
    pair = ((diffs["variant"] == a) & (diffs["baseline"] == b)) | (
        (diffs["variant"] == b) & (diffs["baseline"] == a)
    )
    sel = diffs[(diffs["split"] == split) & pair]
    return sel.iloc[0] if len(sel) else None


def _on_shared_seeds(g: pd.DataFrame, rows: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """``g`` (rows of :func:`sigma_table`, one split and mode) with each σ's mean and interval
    recomputed on the seeds every σ has, and a phrase saying so; ``g`` itself when they
    already share their seeds. Empty when they share none (or ``rows`` is not given): means
    over different seeds are not ranked."""
    seed_sets = [frozenset(str(x).split(",")) for x in g["seeds"]]
    if len(set(seed_sets)) == 1:
        return g, ""
    shared = frozenset.intersection(*seed_sets)
    if rows is None or not shared:
        return g.iloc[:0], ""
    metric, split = str(g["metric"].iloc[0]), g["split"].iloc[0]
    sel = rows[(rows["split"] == split) & rows["seed"].astype(str).isin(shared)]
    g = g.copy()
    for i, variant in zip(g.index, g["variant"], strict=True):
        spread = _over_seeds(sel.loc[sel["variant"] == variant, metric], _CONFIDENCE)
        g.loc[i, ["mean", "ci95", "n_seeds"]] = spread["mean"], spread["ci95"], spread["n_seeds"]
    seeds = sorted(shared, key=int)
    return g, f" on the seed{'s' if len(seeds) > 1 else ''} all of them share ({', '.join(seeds)})"


def sigma_label(sigma: float, mode: str | None) -> str:
    """σ as the sweep names it: bins as a number (``7``), the relative mode as a share of the
    map side in the paper's 24ths where it is one (``7/24``), else the fraction."""
    if mode == "relative":
        bins = sigma * PAPER_MAP_SIDE
        if math.isclose(bins, round(bins), abs_tol=1e-6):
            return f"{round(bins)}/{PAPER_MAP_SIDE}"
        return f"{sigma:.3g} of the map side"
    return f"{sigma:g}"


def _mode_phrase(mode: str) -> str:
    return {"bins": "σ in bins", "relative": "σ relative to the map side"}.get(
        str(mode), f"σ in {mode}"
    )


def sigma_text(
    sigma: pd.DataFrame,
    diffs: pd.DataFrame | None = None,
    chosen: float = 7.0,
    rows: pd.DataFrame | None = None,
) -> str:
    """For each σ mode and split of :func:`sigma_table`: where the mean peaks, and how the
    paper's choice compares (σ = ``chosen`` bins; in the relative mode the same share of the
    map side, ``chosen``/24); with ``diffs`` (:func:`paired_differences` on the same rows)
    whether the peak differs from the choice beyond noise. Where the σ values have different
    seeds, the peak is read on the seeds they share (from ``rows``, the study's rows), never
    from means over different seeds."""
    sigma = sigma[sigma["sigma"].notna()]
    if sigma.empty:
        return "No variant with a σ to compare."
    label = METRIC_LABELS.get(str(sigma["metric"].iloc[0]), "")
    lines = []
    for mode in _order(sigma["sigma_mode"]):
        for split in _order(sigma["split"]):
            g = sigma[(sigma["sigma_mode"] == mode) & (sigma["split"] == split)]
            if g.empty:
                continue
            if len(g) == 1:  # a peak needs at least two σ
                only = g.iloc[0]
                lines.append(
                    f"{_mode_phrase(mode)}, {split}: only σ = {sigma_label(only['sigma'], mode)} "
                    "measured so far "
                    f"({label} {only['mean']:.1f}); no sweep to read yet."
                )
                continue
            seeds = "; ".join(
                f"σ = {sigma_label(r['sigma'], mode)}: seeds {r['seeds']}" for _, r in g.iterrows()
            )
            g, shared = _on_shared_seeds(g, rows)
            if g.empty:
                lines.append(
                    f"{_mode_phrase(mode)}, {split}: the σ values were measured on different "
                    "seeds so far "
                    f"({seeds}); no peak is read from means over different seeds."
                )
                continue
            best = g.loc[g["mean"].idxmax()]
            spread = f" ± {best['ci95']:.1f}" if best["n_seeds"] > 1 else ", 1 seed, no interval"
            text = (
                f"{_mode_phrase(mode)}, {split}{shared}: the highest mean {label} is at σ = "
                f"{sigma_label(best['sigma'], mode)} ({best['mean']:.1f}{spread}; "
                f"{len(g)} σ values)."
            )
            target = {"bins": chosen, "relative": chosen / PAPER_MAP_SIDE}.get(str(mode))
            pick = g[np.isclose(g["sigma"], target)] if target is not None else g.iloc[:0]
            choice = "" if target is None else f"σ = {sigma_label(target, mode)}"
            if len(pick):
                c = pick.iloc[0]
                if c["variant"] == best["variant"]:
                    text += f" That is the paper's choice, {choice}."
                else:
                    gap = c["mean"] - best["mean"]
                    text += (
                        f" The paper's choice, {choice}, is "
                        f"{signed(gap, 1 if abs(gap) >= 0.05 else 2)} from the peak."
                    )
                    pair = _either_way(diffs, split, best["variant"], c["variant"])
                    if pair is not None and math.isfinite(pair["low"]):
                        text += f" Paired, that gap is {_against_noise(pair)[1]}."
            lines.append(text)
    return "\n".join(lines)


def small_objects_text(scores: pd.DataFrame, diffs: pd.DataFrame) -> str:
    """:func:`bucket_scores` and :func:`bucket_differences` in sentences: per split and bucket
    the object count, each variant's score over seeds, the paired difference over objects
    (interval resampling videos)
    (distinguishable or not) and the paper's difference (Table 6) beside it."""
    if scores.empty:
        return "No objects to bucket."
    paper = paper_rows("small_objects")
    label = METRIC_LABELS.get(str(scores["metric"].iloc[0]), "")
    lines = []
    for split in _order(scores["split"]):
        parts = []
        for bucket in _order(scores["bucket"]):
            s = scores[(scores["split"] == split) & (scores["bucket"] == bucket)]
            n = int(s["n_objects"].max())
            if n == 0:
                parts.append(f"{bucket}: no object of this size")
                continue
            each = [
                f"{r['variant']} {r['mean']:.1f}"
                + (f" ± {r['ci95']:.1f}" if r["n_seeds"] > 1 else " (1 seed)")
                for _, r in s.iterrows()
                if r["n_seeds"] > 0
            ]
            text = f"{bucket} ({n} object{'s' if n != 1 else ''}): " + ", ".join(each)
            d = (
                diffs[(diffs["split"] == split) & (diffs["bucket"] == bucket)]
                if len(diffs)
                else diffs
            )
            for _, r in d.iterrows():
                if not math.isfinite(r["diff"]):
                    continue
                text += f"; {_pair(r)} {signed(r['diff'])}"
                seeds = (
                    f", over seeds {signed(r['seed_diff'])} "
                    f"{interval(r['seed_low'], r['seed_high'])}"
                    if r.get("seed_n", 0) >= 2
                    else ""
                )
                if math.isfinite(r["low"]):
                    text += f" {interval(r['low'], r['high'])}{seeds}: {_against_noise(r)[1]}"
                else:
                    text += f" (objects in fewer than {MIN_UNITS} videos: no interval){seeds}"
                p = paper[
                    (paper["variant"] == r["variant"])
                    & (paper["baseline"] == r["baseline"])
                    & (paper["bucket"] == bucket)
                ]
                if len(p):
                    delta = float(p["paper_delta"].iloc[0])
                    same = (r["diff"] > 0) == (delta > 0)
                    text += f" (the paper: {signed(delta)}, " + (
                        "same direction)" if same else "opposite direction)"
                    )
            parts.append(text)
        lines.append(
            f"{split}, {label} of objects by size (nested buckets, the paper's Table 6): "
            + "; ".join(parts)
            + "."
        )
    return "\n".join(lines)
