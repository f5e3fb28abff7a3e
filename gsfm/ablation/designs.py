"""Which training design resolves an ablation for the least compute: the pilot's numbers.

A paired comparison's noise has a seed part (two trainings of one seed drift apart) and a video
part. Design (a) trains every variant from its own random draw; design (b) starts every variant
of a seed from one shared state (:mod:`gsfm.training.start`), which can only shrink the seed
part. :func:`design_pilot` puts the designs' rows side by side, pair by pair: the per-seed
differences and their spread, the spread over videos within a seed, the calibrated interval,
the minimum detectable effect (MDE) at the seeds at hand, and what an MDE of 2 J&F would cost in
seeds and training hours. Each design's rows live in their own results folder (one design per
folder, :func:`gsfm.ablation.store.check_one_start`; one rendering of the split per folder,
:func:`gsfm.ablation.store.check_one_render`). A design may name several folders: its seeds are
then pooled pair by pair, each seed's differences taken within the folder that holds both of
its runs, never one variant's scores from one rendering against another's from a second.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gsfm.ablation import stats
from gsfm.ablation.paper import paper_sign
from gsfm.ablation.store import load_study
from gsfm.ablation.studies import STUDIES
from gsfm.analysis import calibrated

__all__ = [
    "MORE_VIDEOS_SPLIT",
    "PILOT_PAIRS",
    "Folders",
    "comparison_status",
    "design_pilot",
    "folder_list",
    "paired_table",
    "planning_table",
    "pooled_differences",
    "seed_differences",
    "split_replication",
]

#: the comparisons the pilot measures: the twin pair (one network trained twice) and the
#: paper's headline comparison
PILOT_PAIRS: tuple[tuple[str, str], ...] = (("GSFM", "+LFM+HFM+boundary"), ("GSFM", "STCN"))
#: the ``split`` of rows scored on synth-val96-v1, 96 more val videos drawn as v1's
#: (``python -m gsfm ablate --score-only --score-on val96-v1``)
MORE_VIDEOS_SPLIT = "val-val96-v1"


def paired_table(rows: pd.DataFrame, videos: pd.DataFrame, a: str, b: str, split: str):
    """The (seeds × videos) table of J&F differences ``a − b`` over the seeds and videos both
    variants have in ``split``, and each seed's training seconds for the pair (both runs)."""
    part = videos[videos["split"] == split]
    wide = part.pivot_table(index=["seed", "sequence"], columns="variant", values="JF")
    if a not in wide or b not in wide:
        return pd.DataFrame(), pd.Series(dtype=float)
    d = (wide[a] - wide[b]).dropna().unstack("sequence").dropna(axis=1)
    r = rows[(rows["split"] == split) & rows["variant"].isin([a, b])]
    cost = r.groupby("seed")["train_s"].sum()[r.groupby("seed")["variant"].nunique() == 2]
    return d, cost.reindex(d.index)


def _summary(d: pd.DataFrame, cost: pd.Series) -> dict[str, float | int | str]:
    table = d.to_numpy(dtype=float)
    s, v = table.shape
    per_seed = table.mean(axis=1)
    est = calibrated.estimate(table)
    mde = calibrated.minimum_detectable_effect(est.se, est.df)
    need = calibrated.seeds_needed(est.components, 2.0) if s >= 2 else None
    half = calibrated.seeds_for_half_width(est.components, 2.0)  # None under two seeds
    hours = float(cost.mean()) / 3600
    return {
        "n_seeds": s,
        "n_videos": v,
        "per_seed": " ".join(f"{x:+.2f}" for x in per_seed),
        "mean": float(per_seed.mean()),
        "seed_sd": float(per_seed.std(ddof=1)) if s >= 2 else math.nan,
        "video_sd": float(np.sqrt(table.var(axis=1, ddof=1).mean())),
        "low": est.low,
        "high": est.high,
        "seed_var": est.components.seed,
        "seed_var_upper": calibrated.seed_part_upper(table) if s >= 2 else math.nan,
        "mde": mde,
        "seeds_for_mde_2": math.nan if need is None else need,
        "train_h_per_seed": hours,
        "train_h_for_mde_2": math.nan if need is None else need * hours,
        "seeds_for_half_width_2": math.nan if half is None else half,
    }


def _row(
    head: dict[str, str], study: str, a: str, b: str, d: pd.DataFrame, cost: pd.Series
) -> dict[str, object]:
    """One summary row of ``a − b`` (:func:`_summary`) after ``head``, with its verdict on the
    paper's claim."""
    summary = _summary(d, cost)
    low, high = float(summary["low"]), float(summary["high"])
    verdict = calibrated.claim_verdict(low, high, paper_sign(study, a, b))
    return {**head, "pair": f"{a} − {b}", **summary, "verdict": verdict}


#: a design's rows: one results folder, or several (one per rendering of the split) whose seeds
#: are pooled pair by pair: each seed's differences come from its own folder
Folders = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def folder_list(folders: Folders) -> list[str | os.PathLike[str]]:
    """A design's folders as a list (one folder, or several)."""
    return [folders] if isinstance(folders, (str, os.PathLike)) else list(folders)


def _pooled_pairs(
    design: str, folders: Folders, profile: str, split: str, a: str, b: str, study: str
) -> tuple[pd.DataFrame, pd.Series]:
    """The differences table and costs of ``a − b`` over every folder of a design. Each seed's
    differences are taken within its own folder (both variants scored on one rendering), so
    folders of different renderings can be pooled seed by seed; a seed in two folders is an
    error (which of its two rows would count?), so is a folder that does not exist (its seeds
    would be lost without a word), and only videos every folder scored are kept."""
    parts: list[tuple[pd.DataFrame, pd.Series]] = []
    seen: dict[int, str] = {}
    where = folder_list(folders)
    for folder in where:
        if len(where) > 1 and not Path(folder).is_dir():  # a mistyped path would lose its seeds
            raise FileNotFoundError(f"design {design!r}: no results folder {folder}")
        tables = load_study(folder, study, profile)
        if tables is None or tables.videos is None:
            continue  # no rows of this profile and study here (e.g. a smoke run beside cpu rows)
        d, cost = paired_table(tables.rows, tables.videos, a, b, split)
        for seed in d.index:
            if int(seed) in seen:
                raise ValueError(
                    f"design {design!r}: seed {int(seed)} of {a} − {b} is in both {seen[int(seed)]} "
                    f"and {folder}; a design pools each seed from one folder"
                )
            seen[int(seed)] = str(folder)
        if not d.empty:
            parts.append((d, cost))
    if not parts:
        return pd.DataFrame(), pd.Series(dtype=float)
    d = pd.concat([p[0] for p in parts]).dropna(axis=1).sort_index()
    if d.shape[1] == 0:
        raise ValueError(f"design {design!r}: its folders share no scored video for {a} − {b}")
    return d, pd.concat([p[1] for p in parts]).reindex(d.index)


def pooled_differences(
    folders: Folders,
    a: str,
    b: str,
    profile: str = "cpu",
    split: str = "val",
    study: str = "components",
) -> pd.DataFrame:
    """The (seeds × videos) table of J&F differences ``a − b`` over a design's folders, each
    seed paired within its own folder: the table :func:`design_pilot` summarises, for callers
    that need more of it (its variance components, say). Empty when no folder has the pair."""
    return _pooled_pairs("pooled", folders, profile, split, a, b, study)[0]


def _paired(
    folders: Mapping[str, Folders],
    profile: str,
    split: str,
    pairs: Sequence[tuple[str, str]],
    study: str,
) -> Iterator[tuple[str, tuple[str, str], pd.DataFrame, pd.Series]]:
    """(design, (a, b), differences table, training seconds per seed) for every design and
    pair with rows in both variants."""
    for design, where in folders.items():
        for a, b in pairs:
            d, cost = _pooled_pairs(design, where, profile, split, a, b, study)
            if not d.empty:
                yield design, (a, b), d, cost


def design_pilot(
    folders: Mapping[str, Folders],
    profile: str = "cpu",
    split: str = "val",
    pairs: Sequence[tuple[str, str]] = PILOT_PAIRS,
    study: str = "components",
) -> pd.DataFrame:
    """One row per (design, pair) with rows in both variants: ``folders`` maps a design's name
    to its results folder, or to several folders (renderings of the split) whose seeds are
    pooled pair by pair, each seed's differences taken within its own folder. Columns:
    ``n_seeds``, ``n_videos``, ``per_seed`` (each seed's mean difference), ``mean``, ``seed_sd``
    (their SD; NaN for one seed), ``video_sd`` (the SD of the differences over videos within a
    seed, averaged over seeds: how far one seed's two runs disagree video by video),
    ``low``/``high`` (the calibrated 95 % interval; NaN for one seed),
    ``seed_var`` (its seed part of the variance, J&F²; 0 where the seeds agree more closely than
    their seed × video noise predicts, and the seed term drops out of the interval),
    ``seed_var_upper`` (the one-sided 95 % upper bound on that part: how large it may still be),
    ``mde`` (80 % power at these seeds), ``seeds_for_mde_2`` (from these rows' variance
    components; NaN when unknown or out of reach), ``train_h_per_seed`` (both runs' training
    hours, as recorded: 1 CPU thread per run on this project's machine) and
    ``train_h_for_mde_2`` and ``verdict`` (on the paper's claim, as in the study tables; the
    twin pair's claim is 0: one network). An empty frame when no folder has a pair's rows."""
    rows = [
        _row({"design": design}, study, a, b, d, cost)
        for design, (a, b), d, cost in _paired(folders, profile, split, pairs, study)
    ]
    return pd.DataFrame(rows)


def comparison_status(
    folder: str | os.PathLike[str],
    comparisons: Sequence[tuple[str, str, str]],
    profile: str = "cpu",
    split: str = MORE_VIDEOS_SPLIT,
) -> pd.DataFrame:
    """Where each comparison ``(study, a, b)`` stands in one design's rows (``folder``) on
    ``split``: a row per comparison with :func:`design_pilot`'s columns (``n_seeds`` 0 and
    nothing else where the folder has no seed with both runs), among them ``verdict`` and
    ``seeds_for_half_width_2``, the seeds a 95 % interval of ±2 J&F would take at the rows'
    videos, projected from their own variance components (NaN under two seeds, or where no
    number of seeds gets there). What the decisive comparisons still need under one design.
    A folder that does not exist is an error: its comparisons would read as never run."""
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"no results folder {folder}")
    out = []
    for study, a, b in comparisons:
        d, cost = _pooled_pairs(str(folder), folder, profile, split, a, b, study)
        if d.empty:
            out.append({"study": study, "pair": f"{a} − {b}", "n_seeds": 0})
        else:
            out.append(_row({"study": study}, study, a, b, d, cost))
    return pd.DataFrame(out)


def compare_designs(
    folders: Mapping[str, Folders],
    first: str,
    second: str,
    pair: tuple[str, str] = ("GSFM", "+LFM+HFM+boundary"),
    profile: str = "cpu",
    split: str = "val",
    study: str = "components",
) -> pd.DataFrame:
    """Whether design ``first``'s seeds spread more than design ``second``'s for ``pair`` on the
    same videos (:func:`gsfm.analysis.calibrated.compare_seed_parts`): the part of the noise
    only seeds buy, and the one a design could shrink. One row: the designs, their seeds and
    videos, the F ``ratio`` of their seed mean squares, its degrees of freedom ``df1``/``df2``
    and one-sided ``p`` (``first`` the larger); empty when a design lacks the pair's rows."""
    tables = [pooled_differences(folders[k], *pair, profile, split, study) for k in (first, second)]
    if any(d.empty for d in tables):
        return pd.DataFrame()
    out = calibrated.compare_seed_parts(tables[0].to_numpy(), tables[1].to_numpy())
    return pd.DataFrame([{
        "pair": " − ".join(pair), "first": first, "second": second,
        "seeds_first": tables[0].shape[0], "seeds_second": tables[1].shape[0],
        "n_videos": tables[0].shape[1], "ratio": out.ratio, "df1": out.df[0], "df2": out.df[1],
        "p": out.p,
    }])  # fmt: skip


def seed_differences(
    folders: Mapping[str, Folders],
    profile: str = "cpu",
    split: str = "val",
    pairs: Sequence[tuple[str, str]] = PILOT_PAIRS,
    study: str = "components",
) -> pd.DataFrame:
    """The long table behind :func:`design_pilot`: one row per (design, pair, seed) with the
    seed's mean difference ``diff``, its SD over videos ``video_sd`` and the number of videos
    ``videos``."""
    out = [
        {"design": design, "pair": f"{a} − {b}", "seed": int(seed), "diff": float(row.mean()),
         "video_sd": float(row.std(ddof=1)), "videos": int(row.size)}
        for design, (a, b), d, _ in _paired(folders, profile, split, pairs, study)
        for seed, row in d.iterrows()
    ]  # fmt: skip
    return pd.DataFrame(out, columns=["design", "pair", "seed", "diff", "video_sd", "videos"])


def split_replication(
    first: Mapping[str, Folders],
    second: Mapping[str, Folders],
    splits: tuple[str, str] = ("val", MORE_VIDEOS_SPLIT),
    profile: str = "cpu",
    pairs: Sequence[tuple[str, str]] = PILOT_PAIRS,
    study: str = "components",
) -> pd.DataFrame:
    """The same trained pairs measured twice: per (design, pair, seed) scored on both splits,
    the seed's mean difference on ``splits[0]`` (rows in ``first[design]``) and on
    ``splits[1]`` (rows in ``second[design]``), each with its standard error over that split's
    videos (``se_1``, ``se_2``) and its video count. Disjoint videos drawn alike measure one
    trained pair's difference twice, independently: two estimates further apart than their
    standard errors allow point to something other than video sampling."""
    parts = []
    for k, (split, folders) in enumerate(zip(splits, (first, second), strict=True), start=1):
        t = seed_differences(folders, profile, split, pairs, study)
        parts.append(
            t[["design", "pair", "seed"]].assign(
                **{f"diff_{k}": t["diff"], f"se_{k}": t["video_sd"] / np.sqrt(t["videos"]),
                   f"videos_{k}": t["videos"]}
            )
        )  # fmt: skip
    return parts[0].merge(parts[1], on=["design", "pair", "seed"], how="inner")


def planning_table(
    results_dir: str | os.PathLike[str],
    profile: str = "cpu",
    studies: Sequence[str] = ("components", "placement", "sigma", "generalization"),
    split: str = "val",
    n_videos: Sequence[int] = (24, 48, 96),
    half_width: float = 2.0,
) -> pd.DataFrame:
    """What resolving each study would take: per study, the variance components of its
    comparisons pooled (:func:`gsfm.ablation.stats.pooled_components`, J&F²) and the seeds per
    variant at which the 95 % interval's half-width comes down to ``half_width`` J&F when
    ``n`` videos are scored, for each ``n`` in ``n_videos`` (column ``seeds_at_<n>_videos``;
    empty where no number of seeds gets there: the video term alone is too large)."""
    out = []
    for study in studies:
        tables = load_study(results_dir, study, profile)
        if tables is None or tables.videos is None:
            continue
        spec = STUDIES[study]
        pairs = stats.comparison_pairs(tables.rows, spec.baselines(), spec.extra_pairs)
        diffs = stats.paired_differences(tables.rows, tables.videos, pairs)
        diffs = diffs[diffs["split"] == split]
        if diffs.empty:
            continue
        pooled = stats.pooled_components(diffs)
        row: dict[str, object] = {
            "study": study,
            "seeds_now": pooled.n_seeds,
            "videos_now": pooled.n_videos,
            "var_seed": pooled.seed,
            "var_video": pooled.video,
            "var_residual": pooled.residual,
        }
        for n in n_videos:
            need = calibrated.seeds_for_half_width(pooled, half_width, n_videos=n)
            row[f"seeds_at_{n}_videos"] = need
        out.append(row)
    table = pd.DataFrame(out)
    for n in n_videos:
        if f"seeds_at_{n}_videos" in table:
            table[f"seeds_at_{n}_videos"] = pd.array(table[f"seeds_at_{n}_videos"], dtype="Int64")
    return table
