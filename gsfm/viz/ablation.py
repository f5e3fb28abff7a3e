"""Figures of the ablation studies: the σ sweep (paper Fig. 6a), one figure per study of
variants (Tables 3–5) and the small-object buckets (Table 6).

* :func:`plot_sigma_sweep`: mean ± interval over seeds against σ, one panel per σ mode;
* :func:`plot_study`: per-variant means with their intervals over seeds, and each variant's
  paired difference to the reference with its bootstrap interval over videos;
* :func:`plot_small_objects`: the paper's nested size buckets, each variant's score over seeds,
  the object count per bucket.

Our numbers and the paper's are never drawn in one axis: the paper's sit in a panel of their
own, titled as the paper's. Every point says how many seeds it averages ("n=3"; hollow markers
and no bar for one seed, which gives no interval; in the σ sweep once per σ, along the top, since
its two lines run close), and the footnote states profile, device and seeds per point from the
CSV. The statistics come from :mod:`gsfm.analysis.ablation_stats`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gsfm.analysis.ablation_stats import (  # noqa: E402
    METRIC_LABELS,
    bucket_differences,
    bucket_scores,
    check_rows,
    comparison_pairs,
    paired_differences,
    provenance,
    reference_variant,
    seed_summary,
    sigma_table,
    size_buckets,
)
from gsfm.analysis.paper_ablations import PAPER_MAP_SIDE, STUDIES, paper_rows  # noqa: E402
from gsfm.analysis.wording import interval, signed  # noqa: E402
from gsfm.viz.figures import save_figure  # noqa: E402

__all__ = ["GID_OURS", "GID_PAPER", "plot_sigma_sweep", "plot_small_objects", "plot_study"]

GID_OURS = "ours"  # gid of every artist that draws our numbers (tests look for them)
GID_PAPER = "paper"  # gid of every artist that draws the paper's numbers

_BARS = "bars: 95 % Student-t interval over seeds; "
_ONE_SEED = " (hollow, no bar: one seed, no interval)"
_INTERVAL_NOTE = _BARS + "n = seeds per point" + _ONE_SEED
# the difference panels: one marker per verdict (gsfm.analysis.calibrated.Verdict)
_VERDICT_MARKERS = {"confirmed": "^", "contradicted": "v", "bounded": "s", "unresolved": "o"}
_DIFFERENCE_NOTE = (
    "Differences: ▲ confirmed, ▼ contradicted (the paper's / the opposite sign, interval excludes "
    "0), ■ bounded (interval inside ±2), ● unresolved or no claim of the paper's; filled: the "
    "interval excludes 0"
)
_SIGMA_INTERVAL_NOTE = (
    _BARS + "n along the top = seeds behind each σ's points, per split in legend order when they "
    "differ" + _ONE_SEED
)


def _seed_note(n: int) -> str:
    return f"n={n}" + ("" if n > 1 else " (no interval)")


def _point(
    ax: Axes,
    x: float,
    y: float,
    err: float,
    n: int,
    colour: Any,
    horizontal: bool,
    label: str | None = None,
    note: bool = True,
) -> None:
    """One mean with its interval (none for one seed: a hollow marker) and, with ``note``, its
    seed count beside it."""
    has = n > 1 and math.isfinite(err)
    kw: dict[str, Any] = dict(
        fmt="o",
        color=colour,
        capsize=3,
        ms=5,
        label=label,
        gid=GID_OURS,
        mfc=colour if has else "white",
    )
    bar = {"xerr" if horizontal else "yerr": err if has else None}
    ax.errorbar(x, y, **bar, **kw)
    if note:
        _note(ax, _seed_note(n), (x, y), (6, 4) if horizontal else (4, 5))


def _seed_counts_on_top(ax: Axes, counts: dict[float, list[int]]) -> None:
    """One seed count per x along the top of ``ax`` ("n=2"; "n=2/1" when the lines differ, one
    per line in legend order), so that labels of lines that run close together cannot overlap."""
    for x, ns in counts.items():
        text = "n=" + (str(ns[0]) if len(set(ns)) == 1 else "/".join(str(n) for n in ns))
        ax.annotate(
            text,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -3),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=6.5,
            color="0.3",
            bbox={"fc": "white", "ec": "none", "pad": 0.5},  # above the σ = 7 line
            zorder=4,
        )


def _note(ax: Axes, text: str, xy: tuple[float, float], offset: tuple[int, int] = (6, 4)) -> None:
    """A small grey label beside a point of ours (its seeds, its value)."""
    ax.annotate(text, xy, xytext=offset, textcoords="offset points", fontsize=6.5, color="0.3")


def _footnote(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=7.5, color="0.25")


def _empty(ax: Axes, text: str) -> None:
    ax.text(
        0.5, 0.5, text, ha="center", va="center", fontsize=8.5, wrap=True, transform=ax.transAxes
    )
    ax.set_xticks([])
    ax.set_yticks([])


# --- σ sweep -------------------------------------------------------------------------------


def _paper_sigma_bins() -> pd.DataFrame:
    """Fig. 6(a)'s rows in bins (the table has them a second time, as shares of the map)."""
    paper = paper_rows("sigma")
    return paper[~paper["variant"].str.endswith("relative")]


_PAPER_SIGMAS = [float(v.split("=")[1]) for v in _paper_sigma_bins()["variant"]]


def _paper_sigma_panel(ax: Axes, chosen: float = 7.0) -> None:
    """Fig. 6(a) as far as the paper's text states it: the tested σ, the chosen one, and the
    ends called worse; no values (the text has none)."""
    paper = _paper_sigma_bins()
    xs = _PAPER_SIGMAS
    ax.scatter(xs, [0] * len(xs), marker="|", s=200, color="0.4", gid=GID_PAPER)
    for x, d in zip(xs, paper["direction"], strict=True):
        if x == chosen:
            ax.scatter([x], [0], marker="*", s=160, color="C3", gid=GID_PAPER, zorder=3)
            ax.annotate(
                "chosen",
                (x, 0),
                xytext=(0, 12),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        elif isinstance(d, str):
            ax.annotate(
                "worse\n(text)",
                (x, 0),
                xytext=(0, -28),
                textcoords="offset points",
                ha="center",
                fontsize=7.5,
            )
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.set_xticks(xs)
    ax.set_xlabel("σ (bins)", fontsize=8.5)
    ax.set_title(
        "the paper (Fig. 6(a), DAVIS 2017 val):\nits values are not in the text", fontsize=8.5
    )


def plot_sigma_sweep(
    rows: pd.DataFrame,
    path: str | os.PathLike[str] | None = "figures/ablation_sigma.png",
    *,
    metric: str = "JF",
    chosen: float = 7.0,
) -> Figure:
    """Mean ± 95 % interval over seeds against σ, one panel per σ mode (``bins``, ``relative``:
    their σ are on different scales), one line per split, the splits a little apart at each σ
    so that no interval hides another; the paper's Fig. 6(a) in its own panel. ``rows``: a
    ``sigma.csv`` table (:func:`~gsfm.analysis.ablation_stats.sigma_table`)."""
    table = sigma_table(rows, metric)
    table = table[table["sigma"].notna()]
    if table.empty:
        raise ValueError("sigma_table: no variant with a σ (only stcn rows?)")
    modes = list(dict.fromkeys(table["sigma_mode"]))
    splits = list(dict.fromkeys(table["split"]))
    fig, axes = plt.subplots(
        1,
        len(modes) + 1,
        figsize=(4.3 * len(modes) + 3.6, 3.9),
        squeeze=False,
        gridspec_kw={"width_ratios": [4] * len(modes) + [3]},
    )
    label = METRIC_LABELS[metric]
    dodge = _offsets(len(splits), 0.3)  # each split a little apart, so no bar hides another
    for ax, mode in zip(axes[0], modes, strict=False):
        counts: dict[float, list[int]] = {}
        for i, split in enumerate(splits):
            g = table[(table["sigma_mode"] == mode) & (table["split"] == split)].sort_values(
                "sigma"
            )
            if g.empty:
                continue
            xs = g["sigma"] * (PAPER_MAP_SIDE if mode == "relative" else 1)
            ax.plot(xs + dodge[i], g["mean"], "-", color=f"C{i}", lw=1, alpha=0.6, gid=GID_OURS)
            for j, (x, (_, r)) in enumerate(zip(xs, g.iterrows(), strict=True)):
                counts.setdefault(float(x), []).append(int(r["n_seeds"]))
                _point(
                    ax,
                    x + dodge[i],
                    r["mean"],
                    r["ci95"],
                    int(r["n_seeds"]),
                    f"C{i}",
                    horizontal=False,
                    label=split if j == 0 else None,
                    note=False,
                )
        _seed_counts_on_top(ax, counts)
        side = PAPER_MAP_SIDE
        if mode in ("bins", "relative"):
            name = f"{chosen:g}" if mode == "bins" else f"{chosen:g}/{side}"
            ax.axvline(chosen, color="C3", ls=":", lw=1, label=f"the paper's σ = {name}")
        ax.set_xlabel(
            "σ (bins)"
            if mode == "bins"
            else f"σ (in {side}ths of the map side, the paper's bins at its maps)"
            if mode == "relative"
            else f"σ ({mode})",
            fontsize=8.5,
        )
        ax.set_ylabel(f"{label} (x100)", fontsize=8.5)
        if mode in ("bins", "relative"):  # the paper's σ as ticks, one scale for both modes
            ax.set_xticks(_PAPER_SIGMAS)
            ax.set_xlim(min(_PAPER_SIGMAS) - 1.5, max(_PAPER_SIGMAS) + 1.5)
        ax.set_title(f"ours: σ mode '{mode}'", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.margins(y=0.2)  # room for the seed counts along the top
        ax.legend(fontsize=7.5, loc="best")
    _paper_sigma_panel(axes[0, -1], chosen)
    fig.suptitle(f"σ sweep (the paper's Fig. 6a) — ours: {provenance(rows)}", fontsize=9.5)
    _footnote(fig, _SIGMA_INTERVAL_NOTE)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save_figure(fig, path, tight=True)


# --- one study of variants -----------------------------------------------------------------


def _offsets(n: int, width: float = 0.5) -> np.ndarray:
    return np.zeros(1) if n == 1 else np.linspace(-width / 2, width / 2, n)


def _paper_values(study: str) -> pd.DataFrame:
    """The paper's rows with a J&F for ``study`` (none for the σ sweep, whose values the text
    lacks, and none outside Table 6's buckets for the small-object study)."""
    if study not in STUDIES:
        return pd.DataFrame()
    paper = paper_rows(study)
    return paper[paper["JF"].notna() & paper["bucket"].isna()].reset_index(drop=True)


def _paper_panel(ax: Axes, paper: pd.DataFrame) -> None:
    """The paper's rows (:func:`_paper_values`) as points, in the paper's order."""
    names = [
        p + ("" if not isinstance(v, str) or v in p else f"  [= {v}]")
        for p, v in zip(paper["paper_variant"], paper["variant"], strict=True)
    ]
    y = np.arange(len(paper))[::-1]
    ax.scatter(paper["JF"], y, color="0.35", marker="D", s=22, gid=GID_PAPER)
    for yy, v, d, fps in zip(y, paper["JF"], paper["paper_delta"], paper["FPS"], strict=True):
        delta = f" ({signed(d)})" if math.isfinite(d) else ""
        speed = f", {fps:g} FPS" if math.isfinite(fps) else ""
        ax.annotate(
            f"{v:.1f}{delta}{speed}",
            (v, yy),
            xytext=(5, 3),
            textcoords="offset points",
            fontsize=7,
        )
    ax.set_yticks(y, names, fontsize=7.5)
    lo, hi = float(paper["JF"].min()), float(paper["JF"].max())
    ax.set_xlim(lo - 1.0, hi + 1.5)
    ax.set_xlabel("J&F (x100)", fontsize=8.5)
    sources = ", ".join(dict.fromkeys(paper["source"]))
    ax.set_title(
        f"the paper's numbers ({sources}, {paper['dataset'].iloc[0]};\n"
        "not comparable with ours; in brackets: vs its baseline)",
        fontsize=8,
    )
    ax.tick_params(axis="x", labelsize=7.5)
    ax.grid(alpha=0.3, axis="x")


def _speed_panel(ax: Axes, speed: pd.DataFrame) -> None:
    """Each variant's speed over the reference's, timed together: the median of the per-round
    ratios, a bar from their min to their max, and the median FPS."""
    ref = speed.loc[speed["reference"].astype(bool), "variant"]
    y = np.arange(len(speed))[::-1]
    for yy, (_, r) in zip(y, speed.iterrows(), strict=True):
        if not math.isfinite(float(r["ratio"])):
            continue
        err = [[r["ratio"] - r["ratio_min"]], [r["ratio_max"] - r["ratio"]]]
        ax.errorbar(r["ratio"], yy, xerr=err, fmt="s", color="C2", capsize=3, ms=5, gid=GID_OURS)
        _note(ax, f"×{r['ratio']:.2f}, {r['fps']:.1f} FPS", (r["ratio"], yy))
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(y, speed["variant"], fontsize=8)
    ax.set_ylim(-0.7, len(speed) - 0.3)
    ax.margins(x=0.3)
    first = speed.iloc[0]
    name = str(ref.iloc[0]) if len(ref) else "the reference"
    ax.set_xlabel(f"FPS ÷ {name}'s", fontsize=8.5)
    ax.set_title(
        f"ours: speed, all variants timed together ({first['device']})\n"
        f"median of {first['rounds']} rounds; bar: their range",
        fontsize=8.5,
    )
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(axis="x", labelsize=7.5)


def plot_study(
    rows: pd.DataFrame,
    videos: pd.DataFrame | None,
    path: str | os.PathLike[str] | None,
    title: str,
    *,
    metric: str = "JF",
    pairs: Sequence[tuple[str, str]] | None = None,
    differences: pd.DataFrame | None = None,
    speed: pd.DataFrame | None = None,
    n_resamples: int = 9999,
    random_state: Any = 0,
) -> Figure:
    """One study (placement, components, generalization): per-variant means with their 95 %
    interval over seeds (one marker per split); the paired differences of ``pairs`` (default:
    :func:`~gsfm.analysis.ablation_stats.comparison_pairs`, each variant against the reference,
    then the paper's own comparisons) with their bootstrap interval over videos (filled: the
    interval excludes 0), or ``differences`` when the caller has them already
    (:func:`~gsfm.analysis.ablation_stats.paired_differences`: not bootstrapped twice); with
    ``speed`` (:func:`gsfm.ablation_speed.variant_speed`'s table) each variant's speed
    relative to the reference, timed together; the paper's numbers for the study in a last
    panel, when it has any."""
    rows = check_rows(rows)
    study = str(rows["study"].iloc[0])
    summary = seed_summary(rows, metric)
    diffs = pd.DataFrame()
    problem = ""
    if videos is None or len(videos) == 0:
        problem = "no per-video table: no paired differences"
    elif differences is not None:
        diffs = differences
    elif pairs is None and rows["reference"].sum() == 0:
        problem = "no reference variant in the rows: no paired differences"
    else:
        if pairs is None:
            reference_variant(rows)  # one clear error if the study has several
            pairs = comparison_pairs(rows)
        diffs = paired_differences(
            rows, videos, pairs, metric, n_resamples=n_resamples, random_state=random_state
        )
    variants = list(dict.fromkeys(summary["variant"]))
    splits = list(dict.fromkeys(summary["split"]))
    paper = _paper_values(study)
    timed = speed is not None and not speed.empty
    n_panels = 2 + timed + bool(len(paper))
    height = 1.8 + 0.45 * max(len(variants), len(paper), len(speed) if timed else 0)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.0 * n_panels, height), squeeze=False)
    axes = axes[0]
    label = METRIC_LABELS[metric]

    ax = axes[0]
    y_of = {v: len(variants) - 1 - i for i, v in enumerate(variants)}
    offsets = _offsets(len(splits))
    for i, split in enumerate(splits):
        for _, r in summary[summary["split"] == split].iterrows():
            _point(
                ax,
                r["mean"],
                y_of[r["variant"]] + offsets[i],
                r["ci95"],
                int(r["n_seeds"]),
                f"C{i}",
                horizontal=True,
                label=split if r["variant"] == summary["variant"].iloc[0] else None,
            )
    names = [
        f"{v} (reference)" if summary.loc[summary["variant"] == v, "reference"].any() else v
        for v in variants
    ]
    ax.set_yticks([y_of[v] for v in variants], names, fontsize=8)
    ax.set_ylim(-0.7, len(variants) - 0.3)
    ax.set_xlabel(f"{label} (x100)", fontsize=8.5)
    ax.set_title(f"ours: {label} per variant, mean ± 95 % interval over seeds", fontsize=8.5)
    ax.margins(x=0.2)
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(axis="x", labelsize=7.5)
    ax.legend(fontsize=7, title="split", title_fontsize=7, loc="best")

    ax = axes[1]
    if diffs.empty:
        _empty(ax, problem or "no pair of variants shares a split")
    else:
        pair_names = list(
            dict.fromkeys(
                f"{a} − {b}" for a, b in zip(diffs["variant"], diffs["baseline"], strict=True)
            )
        )
        y_pair = {n: len(pair_names) - 1 - i for i, n in enumerate(pair_names)}
        for i, split in enumerate(splits):
            for _, r in diffs[diffs["split"] == split].iterrows():
                yy = y_pair[f"{r['variant']} − {r['baseline']}"] + offsets[i]
                est = r["estimate"] if math.isfinite(r["estimate"]) else r["diff"]
                if not math.isfinite(est):
                    continue
                has = math.isfinite(r["est_low"])
                err = [[est - r["est_low"]], [r["est_high"] - est]] if has else None
                ax.errorbar(
                    est,
                    yy,
                    xerr=err,
                    fmt=_VERDICT_MARKERS.get(str(r.get("verdict") or ""), "o"),
                    color=f"C{i}",
                    capsize=3,
                    ms=5,
                    mfc=f"C{i}" if has and (r["est_low"] > 0 or r["est_high"] < 0) else "white",
                    gid=GID_OURS,
                )
                verdict = f", {r['verdict']}" if r.get("verdict") else ""
                _note(
                    ax,
                    f"{signed(est)}, n={int(r['n_seeds'])} seed"
                    f"{'s' if r['n_seeds'] != 1 else ''}, {int(r['n_videos'])} videos{verdict}",
                    (est, yy),
                )
        ax.axvline(0, color="0.3", lw=0.8)
        ax.margins(x=0.25)
        ax.set_yticks([y_pair[n] for n in pair_names], pair_names, fontsize=8)
        ax.set_ylim(-0.7, len(pair_names) - 0.3)
        ax.set_xlabel(f"paired difference in {label} (x100)", fontsize=8.5)
        ax.set_title(
            "ours: paired difference, one 95 % interval over seeds and videos\n"
            "(filled: excludes 0; marker: verdict on the paper's claim, see footnote)",
            fontsize=8.5,
        )
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(axis="x", labelsize=7.5)
    if timed:
        _speed_panel(axes[2], speed)
    if len(paper):
        _paper_panel(axes[-1], paper)
    fig.suptitle(f"{title} — ours: {provenance(rows)}", fontsize=9.5)
    _footnote(fig, f"{_INTERVAL_NOTE}. {_DIFFERENCE_NOTE}")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save_figure(fig, path, tight=True)


# --- small objects -------------------------------------------------------------------------


def _variant_colours(variants: Sequence[str], reference: str | None) -> dict[str, str]:
    """One colour per variant, the reference first (``C0``), so that a variant keeps its
    colour in every panel, the paper's included."""
    ordered = [reference] if reference in variants else []
    ordered += [v for v in variants if v != reference]
    return {v: f"C{i}" for i, v in enumerate(ordered)}


def plot_small_objects(
    objects: pd.DataFrame,
    path: str | os.PathLike[str] | None = "figures/ablation_small_objects.png",
    *,
    rows: pd.DataFrame | None = None,
    reference: str | None = "STCN",
    metric: str = "JF",
    n_resamples: int = 9999,
    random_state: Any = 0,
    differences: pd.DataFrame | None = None,
    split_titles: Mapping[str, str] | None = None,
) -> Figure:
    """The paper's Table 6 buckets (objects under 5 %, 1 %, 0.5 % of the frame, nested): each
    variant's mean over the bucket's objects, ± 95 % interval over seeds, the objects and
    videos under each bucket (and how many objects score the same for every variant, when the
    table has ``model_independent``), and (when ``reference`` is a variant) the paired
    difference over objects; one panel per split, the paper's Table 6 in its own panel, each
    variant in the same colour everywhere (the paper's bars in the colour of the variant they
    stand for). ``differences``: the comparisons to print (default
    :func:`~gsfm.analysis.ablation_stats.bucket_differences`; e.g.
    :func:`gsfm.analysis.small_split.split_differences`, whose ``interval_over`` is printed).
    ``split_titles``: {split: what it is} for the panel titles. ``rows`` (the study's
    ``<study>.csv``) supplies profile and device for the title; the objects table has none."""
    scores = bucket_scores(objects, metric)
    counts = size_buckets(objects)
    variants = list(dict.fromkeys(scores["variant"]))
    if reference is not None and reference not in variants:
        reference = None
    if differences is not None:
        diffs = differences
    elif reference is not None and len(variants) > 1:
        diffs = bucket_differences(
            objects, reference, metric, n_resamples=n_resamples, random_state=random_state
        )
    else:
        diffs = pd.DataFrame()
    colour = _variant_colours(variants, reference)
    variants = list(colour)
    splits = list(dict.fromkeys(scores["split"]))
    buckets = list(dict.fromkeys(scores["bucket"]))
    flags = objects.drop_duplicates(["split", "sequence", "object"])
    fig, axes = plt.subplots(
        1, len(splits) + 1, figsize=(4.6 * (len(splits) + 1), 4.4), squeeze=False
    )
    axes = axes[0]
    width = 0.8 / len(variants)
    label = METRIC_LABELS[metric]
    for ax, split in zip(axes, splits, strict=False):
        x = np.arange(len(buckets))
        for j, v in enumerate(variants):
            s = scores[(scores["split"] == split) & (scores["variant"] == v)].set_index("bucket")
            for k, b in enumerate(buckets):
                if b not in s.index or s.loc[b, "n_seeds"] == 0:
                    continue
                r = s.loc[b]
                xx = x[k] + (j - (len(variants) - 1) / 2) * width
                n = int(r["n_seeds"])
                ax.bar(
                    xx,
                    r["mean"],
                    width * 0.9,
                    color=colour[v],
                    alpha=0.8 if n > 1 else 0.35,
                    label=v if k == 0 else None,
                    gid=GID_OURS,
                )
                if n > 1 and math.isfinite(r["ci95"]):
                    ax.errorbar(
                        xx,
                        r["mean"],
                        yerr=r["ci95"],
                        fmt="none",
                        color="0.15",
                        capsize=3,
                        gid=GID_OURS,
                    )
                ax.text(
                    xx,
                    r["mean"] + (r["ci95"] if n > 1 else 0) + 1.5,
                    f"{r['mean']:.1f}\nn={n}",
                    ha="center",
                    fontsize=6.5,
                )
        c = counts[counts["split"] == split].set_index("bucket")
        ticks = []
        for b in buckets:
            n_obj, n_vid = int(c.loc[b, "n_objects"]), int(c.loc[b, "n_videos"])
            tick = (
                f"{b}\n{n_obj} of {int(c.loc[b, 'n_total'])} objects\n"
                f"in {n_vid} video{'s' if n_vid != 1 else ''}"
            )
            if "model_independent" in flags.columns:
                f = flags[(flags["split"] == split) & (flags["area"] < c.loc[b, "threshold"])]
                tick += f"\n{int(f['model_independent'].astype(bool).sum())} model-independent"
            ticks.append(tick)
        ax.set_xticks(x, ticks, fontsize=7.5)
        if len(diffs):
            d = diffs[diffs["split"] == split]
            for k, b in enumerate(buckets):
                lines = [
                    f"{r['variant']} − {r['baseline']}\n"
                    f"{signed(r['estimate'] if math.isfinite(r['estimate']) else r['diff'])} "
                    + (
                        f"{interval(r['est_low'], r['est_high'])}\n{r['verdict']}"
                        if math.isfinite(r["est_low"])
                        else "(no interval)"
                    )
                    for _, r in d[d["bucket"] == b].iterrows()
                    if math.isfinite(r["diff"])
                ]
                if lines:
                    ax.text(
                        x[k],
                        128,
                        "\n".join(lines),
                        ha="center",
                        va="top",
                        fontsize=6.5,
                        color="0.1",
                        gid=GID_OURS,
                    )
        over = (
            sorted(set(d["interval_over"].dropna()))
            if len(diffs) and "interval_over" in d.columns
            else []
        )
        where = ", ".join(over) if over else "seeds and videos"
        ax.set_ylim(0, 130)
        ax.set_ylabel(f"{label} (x100), mean over the bucket's objects", fontsize=8)
        ax.set_title(
            f"ours: {(split_titles or {}).get(split, split)};\n"
            f"objects under a share of the frame (nested); top: the paired\n"
            f"difference, 95 % interval over {where}",
            fontsize=8.5,
        )
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, 0.86), ncol=len(variants))
    ax = axes[-1]
    paper = paper_rows("small_objects")
    pv = list(dict.fromkeys(paper["paper_variant"]))
    ours_of = {
        name: paper.loc[paper["paper_variant"] == name, "variant"].dropna().iloc[0]
        if paper.loc[paper["paper_variant"] == name, "variant"].notna().any()
        else None
        for name in pv
    }
    pv.sort(key=lambda name: variants.index(ours_of[name]) if ours_of[name] in variants else 99)
    for j, name in enumerate(pv):
        p = paper[paper["paper_variant"] == name].set_index("bucket").reindex(buckets)
        xx = np.arange(len(buckets)) + (j - (len(pv) - 1) / 2) * (0.8 / len(pv))
        ax.bar(
            xx,
            p["JF"],
            0.72 / len(pv),
            color=colour.get(ours_of[name], "0.6"),
            alpha=0.45,
            gid=GID_PAPER,
            label=f"{name} (= our {ours_of[name]})" if ours_of[name] else name,
        )
        for a, v in zip(xx, p["JF"], strict=True):
            if math.isfinite(v):
                ax.text(a, v + 1.5, f"{v:.1f}", ha="center", fontsize=7)
    ax.set_xticks(np.arange(len(buckets)), buckets, fontsize=8)
    ax.set_ylim(0, 130)
    ax.set_title(
        "the paper's numbers (Table 6, YouTube-VOS;\nmetric not named; not comparable)",
        fontsize=8.5,
    )
    ax.legend(fontsize=7.5, loc="upper right")
    where = (
        provenance(rows, seeds=False)
        if rows is not None
        else "profile and device: not given (pass rows=)"
    )
    n = scores.loc[scores["n_seeds"] > 0, "n_seeds"]
    seeds = (
        f"{int(n.min())}" + ("" if n.min() == n.max() else f"–{int(n.max())}") if len(n) else "0"
    )
    plural = "" if seeds == "1" else "s"
    fig.suptitle(
        f"small objects (the paper's Table 6) — ours: {where}; {seeds} seed{plural} per bar",
        fontsize=9.5,
    )
    note = (
        _INTERVAL_NOTE.replace("hollow, no bar", "pale bar, no error bar")
        + ". Differences: objects averaged per video, one 95 % interval (over seeds and videos; "
        "with one seed over videos only), and the verdict on the paper's claim"
    )
    if "model_independent" in flags.columns:
        note += (
            ".\nModel-independent: an object every model scores the same in every run (found by "
            "none, or perfectly by all); it counts in the means but cannot tell the models apart"
        )
    _footnote(fig, note)
    fig.tight_layout(rect=(0, 0.06 if "model_independent" in flags.columns else 0.04, 1, 1))
    return save_figure(fig, path, tight=True)
