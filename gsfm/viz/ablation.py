"""Figures of the ablation studies: the σ sweep (paper Fig. 6a), one figure per study of
variants (Tables 3–5) and the small-object buckets (Table 6).

* :func:`plot_sigma_sweep`: mean ± interval over seeds against σ with each seed's score, one
  panel per σ mode on one y-range, and below them each σ's paired difference to the paper's σ;
* :func:`plot_study`: per-variant means with their intervals over seeds, and each variant's
  paired difference to the reference with its interval over seeds and videos;
* :func:`plot_small_objects`: the paper's nested size buckets, each variant's score over seeds,
  the object count per bucket.

Our numbers and the paper's are never drawn in one axis: the paper's sit in a panel of their
own, titled as the paper's, its rows in our panel's order where they match our variants. Every
mean says how many seeds it averages ("n=3"; no bar for one seed, which gives no interval; in
the σ sweep once per σ, along the top, since its two lines run close), and the footnote states
profile, device and seeds per point from the CSV.

A paired difference's marker is its verdict on the paper's claim (:class:`~gsfm.analysis.
calibrated.Verdict`, :data:`VERDICT_MARKERS`): its shape names the verdict, and it is filled
when a verdict is reached (confirmed, contradicted, bounded) and hollow when none is
(unresolved, or no claim of the paper's to judge); each difference panel's legend says so.
The statistics come from :mod:`gsfm.ablation.stats`, the sentences from :mod:`gsfm.ablation.text`.

The module draws with pyplot and leaves the backend to whoever runs it (a notebook's inline
backend, ``MPLBACKEND``, or matplotlib's own choice: Agg without a display).
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gsfm.ablation.paper import PAPER_MAP_SIDE, PAPER_STUDIES, paper_rows
from gsfm.ablation.schema import METRIC_LABELS, check_rows
from gsfm.ablation.stats import (
    bucket_counts,
    bucket_differences,
    bucket_scores,
    comparison_pairs,
    paired_differences,
    reference_variant,
    seed_summary,
    sigma_table,
)
from gsfm.ablation.text import provenance_note
from gsfm.analysis.calibrated import BOUND, Verdict
from gsfm.analysis.wording import interval, signed
from gsfm.viz.figures import save_figure

__all__ = [
    "GID_OURS",
    "GID_PAPER",
    "GID_SEEDS",
    "NO_CLAIM",
    "VERDICT_MARKERS",
    "paper_order",
    "plot_sigma_sweep",
    "plot_small_objects",
    "plot_study",
    "verdict_kind",
]

GID_OURS = "ours"  # gid of every artist that draws our numbers (tests look for them)
GID_PAPER = "paper"  # gid of every artist that draws the paper's numbers
GID_SEEDS = "ours-seeds"  # gid of the points of single seeds (ours too)

_BARS = "bars: 95 % Student-t interval over seeds; "
_ONE_SEED = " (hollow, no bar: one seed, no interval)"
_INTERVAL_NOTE = _BARS + "n = seeds per point" + _ONE_SEED  # Table 6's bars (pale for one seed)
_MEANS_NOTE = _BARS + "n = seeds per point (n=1: no bar, one seed gives no interval)"
_DIFFERENCE_NOTE = (
    "Differences: marker = verdict on the paper's claim (legend); filled: a verdict reached, "
    "hollow: none"
)
_SIGMA_NOTE = (
    _BARS + "small dots: single seeds; n along the top = seeds behind each σ's points, per split "
    "in legend order when they differ (n=1: no bar). Lower row: each σ minus the paper's σ of "
    "the same mode, one 95 % interval over seeds and videos; marker = verdict (legend)"
)

NO_CLAIM = "no claim"  # the kind of a difference the paper claims nothing about: no verdict
#: Marker of a paired difference per verdict: (marker, filled, legend text). Filled: a verdict
#: is reached; hollow: none is (unresolved, or the paper claims nothing on the pair).
VERDICT_MARKERS: dict[str, tuple[str, bool, str]] = {
    Verdict.CONFIRMED.value: ("^", True, "confirmed: the paper's sign, interval excludes 0"),
    Verdict.CONTRADICTED.value: ("v", True, "contradicted: the other sign, interval excludes 0"),
    Verdict.BOUNDED.value: ("s", True, f"bounded: interval inside ±{BOUND:g}"),
    Verdict.UNRESOLVED.value: ("o", False, "unresolved: none of these (hollow)"),
    NO_CLAIM: ("D", False, "no claim of the paper's to judge (hollow)"),
}


def verdict_kind(value: Any) -> str:
    """The key of :data:`VERDICT_MARKERS` for a ``verdict`` cell of a differences table: the
    verdict, or :data:`NO_CLAIM` where it is empty (the paper claims nothing on the pair)."""
    if isinstance(value, str) and value:
        return Verdict(value).value  # an unknown word raises, naming it
    return NO_CLAIM


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
    """One mean (a filled circle) with its interval (no bar for one seed) and, with ``note``,
    its seed count beside it ("n=1 (no interval)" for one seed)."""
    has = n > 1 and math.isfinite(err)
    bar = {"xerr" if horizontal else "yerr": err if has else None}
    ax.errorbar(x, y, **bar, fmt="o", color=colour, capsize=3, ms=5, label=label, gid=GID_OURS)
    if note:
        _note(ax, _seed_note(n), (x, y), (6, 4) if horizontal else (4, 5))


def _difference_point(
    ax: Axes,
    x: float,
    y: float,
    low: float,
    high: float,
    colour: Any,
    kind: str,
    horizontal: bool,
) -> None:
    """One paired difference with its interval (none when ``low`` is NaN), its marker that of
    its verdict ``kind`` (:data:`VERDICT_MARKERS`): filled when a verdict is reached."""
    marker, filled, _ = VERDICT_MARKERS[kind]
    value, pos = (x, y) if horizontal else (y, x)
    err = [[value - low], [high - value]] if math.isfinite(low) else None
    ax.errorbar(
        x,
        y,
        **{"xerr" if horizontal else "yerr": err},
        fmt=marker,
        color=colour,
        mec=colour,
        mfc=colour if filled else "white",
        capsize=3,
        ms=6,
        gid=GID_OURS,
        zorder=3,
    )


def _bounded_zone(ax: Axes, horizontal: bool) -> None:
    """The ±BOUND band a bounded verdict's interval lies inside, and the zero line."""
    span, line = (ax.axvspan, ax.axvline) if horizontal else (ax.axhspan, ax.axhline)
    span(-BOUND, BOUND, color="0.92", zorder=0, lw=0)
    line(0, color="0.3", lw=0.8)


def _verdict_legend(ax: Axes, kinds: Sequence[str], **where: Any) -> None:
    """The key of the difference markers: one entry per verdict kind drawn (in
    :data:`VERDICT_MARKERS`' order) and the bounded zone."""
    handles: list[Any] = [
        Line2D(
            [],
            [],
            ls="none",
            marker=VERDICT_MARKERS[k][0],
            ms=6,
            color="0.25",
            mfc="0.25" if VERDICT_MARKERS[k][1] else "white",
            label=VERDICT_MARKERS[k][2],
        )
        for k in VERDICT_MARKERS
        if k in set(kinds)
    ]
    handles.append(Patch(color="0.92", label=f"±{BOUND:g} J&F: a bounded verdict's zone"))
    ax.legend(
        handles=handles,
        title="marker: verdict on the paper's claim (filled: reached)",
        fontsize=7.5,
        title_fontsize=7.5,
        **where,
    )


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
            fontsize=7,
            color="0.3",
            bbox={"fc": "white", "ec": "none", "pad": 0.5},  # above the σ = 7 line
            zorder=4,
        )


def _note(
    ax: Axes,
    text: str,
    xy: tuple[float, float],
    offset: tuple[int, int] = (6, 4),
    fontsize: float = 7,
    **kw: Any,
) -> None:
    """A small grey label beside a point of ours (its seeds, its value)."""
    ax.annotate(
        text,
        xy,
        xytext=offset,
        textcoords="offset points",
        fontsize=fontsize,
        color="0.3",
        bbox={"fc": "white", "ec": "none", "pad": 0.3, "alpha": 0.8},  # over a grid line
        **kw,
    )


def _footnote(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=7.5, color="0.25", wrap=True)


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


def _sigma_x(mode: str, sigma: float) -> float:
    """Where σ of ``mode`` sits on the sweep's x axis: the relative σ on the paper's scale
    (σ/24 of the map side drawn at 24·σ), the rest at σ."""
    return float(sigma) * (PAPER_MAP_SIDE if mode == "relative" else 1)


def _sigma_axis(ax: Axes, mode: str, chosen: float) -> None:
    """x label, the paper's σ as ticks (one scale for both modes) and the chosen σ's line."""
    side = PAPER_MAP_SIDE
    ax.set_xlabel(
        "σ (bins)"
        if mode == "bins"
        else f"σ (in {side}ths of the map side, the paper's bins at its maps)"
        if mode == "relative"
        else f"σ ({mode})",
        fontsize=8.5,
    )
    if mode in ("bins", "relative"):
        name = f"{chosen:g}" if mode == "bins" else f"{chosen:g}/{side}"
        ax.axvline(chosen, color="C3", ls=":", lw=1, gid=f"the paper's σ = {name}")
        ax.set_xticks(_PAPER_SIGMAS)
        ax.set_xlim(min(_PAPER_SIGMAS) - 1.5, max(_PAPER_SIGMAS) + 1.5)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def _sigma_means(
    ax: Axes,
    table: pd.DataFrame,
    rows: pd.DataFrame,
    mode: str,
    splits: list[str],
    dodge: np.ndarray,
    metric: str,
) -> None:
    """One mode's means ± interval over seeds, each seed's score as a small dot beside its
    mean (outwards, away from the other split's bar), one line per split."""
    counts: dict[float, list[int]] = {}
    for i, split in enumerate(splits):
        g = table[(table["sigma_mode"] == mode) & (table["split"] == split)].sort_values("sigma")
        if g.empty:
            continue
        xs = [_sigma_x(mode, s) + dodge[i] for s in g["sigma"]]
        ax.plot(xs, g["mean"], "-", color=f"C{i}", lw=1, alpha=0.6, gid=GID_OURS)
        side = -1.0 if i < len(splits) / 2 else 1.0
        for j, (x, (_, r)) in enumerate(zip(xs, g.iterrows(), strict=True)):
            counts.setdefault(round(x - dodge[i], 9), []).append(int(r["n_seeds"]))
            _point(
                ax,
                x,
                r["mean"],
                r["ci95"],
                int(r["n_seeds"]),
                f"C{i}",
                horizontal=False,
                label=split if j == 0 else None,
                note=False,
            )
            seeds = rows.loc[(rows["split"] == split) & (rows["variant"] == r["variant"]), metric]
            ax.plot(
                [x + side * 0.2] * len(seeds),
                seeds.to_numpy(float),
                ls="none",
                marker="o",
                ms=3,
                alpha=0.55,
                color=f"C{i}",
                mec="none",
                gid=GID_SEEDS,
            )
    _seed_counts_on_top(ax, counts)


def _split_legend(
    ax: Axes, source: Axes, chosen: float, split_notes: Mapping[str, str] | None
) -> None:
    """Below ``ax``: the colour of each split (``source``'s means, with what the split label
    means from ``split_notes``), the seed dots and the paper's σ line."""
    handles, labels = source.get_legend_handles_labels()
    notes = split_notes or {}
    labels = [f"{lb}: {notes[lb]}" if lb in notes else lb for lb in labels]
    handles += [
        Line2D([], [], ls="none", marker="o", ms=3, alpha=0.55, color="0.3", mec="none"),
        Line2D([], [], color="C3", ls=":", lw=1),
    ]
    labels += [
        "a single seed",
        f"the paper's σ: {chosen:g} bins; {chosen:g}/{PAPER_MAP_SIDE} of the side, relative",
    ]
    ax.legend(
        handles,
        labels,
        title="colour: split (mean ± 95 % interval over seeds)",
        fontsize=7.5,
        title_fontsize=7.5,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
    )


def _sigma_differences(
    ax: Axes,
    diffs: pd.DataFrame,
    mode_of: Mapping[str, tuple[str, float]],
    splits: list[str],
    dodge: np.ndarray,
) -> list[str]:
    """Each σ minus the paper's σ of the same mode (``diffs``' rows whose two variants share
    the mode), at the σ's place, marker by verdict; returns the verdict kinds drawn."""
    kinds = []
    for i, split in enumerate(splits):
        for _, r in diffs[diffs["split"] == split].iterrows():
            mode, sigma = mode_of[r["variant"]]
            est = r["estimate"] if math.isfinite(r["estimate"]) else r["diff"]
            if not math.isfinite(est):
                continue
            kind = verdict_kind(r.get("verdict"))
            kinds.append(kind)
            x = _sigma_x(mode, sigma) + dodge[i]
            _difference_point(
                ax, x, est, r["est_low"], r["est_high"], f"C{i}", kind, horizontal=False
            )
    return kinds


def _cross_mode_differences(
    ax: Axes, diffs: pd.DataFrame, splits: list[str], dodge: np.ndarray
) -> list[str]:
    """Pairs across σ modes (7/24 relative − 7 bins): one column per pair, splits apart."""
    names = list(
        dict.fromkeys(
            f"{a} − {b}" for a, b in zip(diffs["variant"], diffs["baseline"], strict=True)
        )
    )
    kinds = []
    for i, split in enumerate(splits):
        for _, r in diffs[diffs["split"] == split].iterrows():
            est = r["estimate"] if math.isfinite(r["estimate"]) else r["diff"]
            if not math.isfinite(est):
                continue
            kind = verdict_kind(r.get("verdict"))
            kinds.append(kind)
            x = names.index(f"{r['variant']} − {r['baseline']}") + dodge[i]
            _difference_point(
                ax, x, est, r["est_low"], r["est_high"], f"C{i}", kind, horizontal=False
            )
    ax.set_xticks(range(len(names)), [n.replace(" − ", "\n− ") for n in names], fontsize=7.5)
    ax.set_xlim(-0.8, len(names) - 0.2)
    ax.set_title("ours: what the σ mode alone changes", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    ax.tick_params(axis="y", labelsize=8)
    return kinds


def plot_sigma_sweep(
    rows: pd.DataFrame,
    path: str | os.PathLike[str] | None = "figures/ablation_sigma.png",
    *,
    metric: str = "JF",
    chosen: float = 7.0,
    differences: pd.DataFrame | None = None,
    split_notes: Mapping[str, str] | None = None,
) -> Figure:
    """Mean ± 95 % interval over seeds against σ and each seed's score, one panel per σ mode
    (``bins``, ``relative``: their σ are on different scales, drawn on one scale and one
    y-range), one line per split, the splits a little apart at each σ so that no interval hides
    another; the paper's Fig. 6(a) in its own panel. With ``differences``
    (:func:`~gsfm.ablation.stats.paired_differences` of the study's pairs) a lower row
    draws each σ's paired difference to the paper's σ of its mode, and the pairs across modes
    in a panel of their own, all on one y-range, the markers by verdict. ``split_notes``:
    what each split label means ("val-240x432": the same videos at 240×432), written under
    the title. ``rows``: a ``sigma.csv`` table
    (:func:`~gsfm.ablation.stats.sigma_table`)."""
    rows = check_rows(rows)
    table = sigma_table(rows, metric)
    table = table[table["sigma"].notna()]
    if table.empty:
        raise ValueError("sigma_table: no variant with a σ (only stcn rows?)")
    modes = list(dict.fromkeys(table["sigma_mode"]))
    splits = list(dict.fromkeys(table["split"]))
    mode_of = {
        str(v): (str(m), float(s))
        for v, m, s in zip(table["variant"], table["sigma_mode"], table["sigma"], strict=True)
    }
    diffs = pd.DataFrame() if differences is None else differences
    if not diffs.empty:
        known = diffs["variant"].isin(mode_of) & diffs["baseline"].isin(mode_of)
        diffs = diffs[known]
    lower = not diffs.empty
    fig, axes = plt.subplots(
        1 + lower,
        len(modes) + 1,
        figsize=(4.6 * len(modes) + 3.8, 4.2 + 3.4 * lower),
        squeeze=False,
        gridspec_kw={"width_ratios": [4] * len(modes) + [3]},
    )
    label = METRIC_LABELS[metric]
    dodge = _offsets(len(splits), 0.5)  # each split a little apart, so no bar hides another
    means = list(axes[0, : len(modes)])
    for ax in means[1:]:
        ax.sharey(means[0])  # one y-range for both modes
    for ax, mode in zip(means, modes, strict=True):
        _sigma_means(ax, table, rows, mode, splits, dodge, metric)
        _sigma_axis(ax, mode, chosen)
        ax.set_ylabel(f"{label} (x100)", fontsize=8.5)
        ax.set_title(f"ours: σ mode '{mode}', mean ± 95 % interval and each seed", fontsize=9)
        ax.margins(y=0.12)  # room for the seed counts along the top
    _paper_sigma_panel(axes[0, -1], chosen)
    if lower:
        same = [
            mode_of[a][0] == mode_of[b][0]
            for a, b in zip(diffs["variant"], diffs["baseline"], strict=True)
        ]
        same_mode = diffs[same]
        lows = list(axes[1])
        for ax in lows[1:]:
            ax.sharey(lows[0])  # one y-range for every difference
        kinds: list[str] = []
        for ax, mode in zip(lows, modes, strict=False):
            in_mode = [mode_of[v][0] == mode for v in same_mode["variant"]]
            kinds += _sigma_differences(ax, same_mode[in_mode], mode_of, splits, dodge)
            _bounded_zone(ax, horizontal=False)
            _sigma_axis(ax, mode, chosen)
            name = f"{chosen:g}" if mode == "bins" else f"{chosen:g}/{PAPER_MAP_SIDE}"
            ax.set_ylabel(f"paired difference in {label} (x100)", fontsize=8.5)
            ax.set_title(f"ours: each σ − σ = {name} ('{mode}'), paired", fontsize=9)
        cross = diffs[[not s for s in same]]
        last = lows[-1]
        if cross.empty:
            last.axis("off")
        else:
            kinds += _cross_mode_differences(last, cross, splits, dodge)
            _bounded_zone(last, horizontal=False)
        _verdict_legend(lows[0], kinds, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    # below the second difference panel (the verdicts' key is below the first), else below
    # the first panel of means
    _split_legend(axes[1, 1] if lower else axes[0, 0], means[0], chosen, split_notes)
    title = f"σ sweep (the paper's Fig. 6a) — ours: {provenance_note(rows)}"
    notes = [f"{s}: {split_notes[s]}" for s in splits if split_notes and s in split_notes]
    if notes:
        title += "\n" + "; ".join(notes)
    fig.suptitle(title, fontsize=9.5)
    _footnote(fig, _SIGMA_NOTE if lower else _SIGMA_NOTE.split(". Lower row")[0])
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save_figure(fig, path, tight=True)


# --- one study of variants -----------------------------------------------------------------


def _offsets(n: int, width: float = 0.5) -> np.ndarray:
    return np.zeros(1) if n == 1 else np.linspace(-width / 2, width / 2, n)


def _paper_values(study: str) -> pd.DataFrame:
    """The paper's rows with a J&F for ``study`` (none for the σ sweep, whose values the text
    lacks, and none outside Table 6's buckets for the small-object study)."""
    if study not in PAPER_STUDIES:
        return pd.DataFrame()
    paper = paper_rows(study)
    return paper[paper["JF"].notna() & paper["bucket"].isna()].reset_index(drop=True)


def paper_order(paper: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """The paper's rows in our panel's order: those whose ``variant`` is one of ``variants``
    in the order of ``variants``, then the rest (no counterpart of ours) in the paper's own."""
    rank = {v: i for i, v in enumerate(variants)}
    key = [
        (0, rank[v], i) if isinstance(v, str) and v in rank else (1, 0, i)
        for i, v in enumerate(paper["variant"])
    ]
    order = sorted(range(len(paper)), key=lambda i: key[i])
    return paper.iloc[order].reset_index(drop=True)


def _paper_panel(ax: Axes, paper: pd.DataFrame) -> None:
    """The paper's rows (:func:`_paper_values`, in :func:`paper_order`) as points."""
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
            fontsize=7.5,
        )
    ax.set_yticks(y, names, fontsize=8)
    ax.set_ylim(-0.7, len(paper) - 0.3)
    lo, hi = float(paper["JF"].min()), float(paper["JF"].max())
    ax.set_xlim(lo - 1.0, hi + 1.5)
    ax.set_xlabel("J&F (x100)", fontsize=8.5)
    sources = ", ".join(dict.fromkeys(paper["source"]))
    ax.set_title(
        f"the paper's numbers ({sources}, {paper['dataset'].iloc[0]}; in our order;\n"
        "not comparable with ours; in brackets: vs its baseline)",
        fontsize=8.5,
    )
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(alpha=0.3, axis="x")


def _speed_panel(ax: Axes, speed: pd.DataFrame, variants: Sequence[str]) -> None:
    """Each variant's speed over the reference's, timed together: the median of the per-round
    ratios, a bar from their min to their max, and the median FPS; one row per variant in the
    order of ``variants`` (the other panels'), any other timed variant after them."""
    rank = {v: i for i, v in enumerate(variants)}
    speed = speed.iloc[
        sorted(range(len(speed)), key=lambda i: (rank.get(speed["variant"].iloc[i], len(rank)), i))
    ].reset_index(drop=True)
    ref = speed.loc[speed["reference"].astype(bool), "variant"]
    y = np.arange(len(speed))[::-1]
    for yy, (_, r) in zip(y, speed.iterrows(), strict=True):
        if not math.isfinite(float(r["ratio"])):
            continue
        err = [[r["ratio"] - r["ratio_min"]], [r["ratio_max"] - r["ratio"]]]
        ax.errorbar(r["ratio"], yy, xerr=err, fmt="s", color="C2", capsize=3, ms=5, gid=GID_OURS)
        _note(
            ax, f"×{r['ratio']:.2f}, {r['fps']:.1f} FPS", (r["ratio"], yy), (0, 6), 8, ha="center"
        )
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(y, speed["variant"], fontsize=8.5)
    ax.set_ylim(-0.7, len(speed) - 0.3)
    ax.margins(x=0.3)
    first = speed.iloc[0]
    name = str(ref.iloc[0]) if len(ref) else "the reference"
    ax.set_xlabel(f"FPS ÷ {name}'s", fontsize=9)
    ax.set_title(
        f"ours: speed, all variants timed together ({first['device']})\n"
        f"median of {first['rounds']} rounds; bar: their range",
        fontsize=9,
    )
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(axis="x", labelsize=8.5)


def _uniform(diffs: pd.DataFrame) -> str | None:
    """ "n = 3 seeds × 24 videos" when every difference has the same design, else None."""
    seeds, videos = set(diffs["n_seeds"].astype(int)), set(diffs["n_videos"].astype(int))
    if len(seeds) == 1 and len(videos) == 1:
        s, v = seeds.pop(), videos.pop()
        return f"{s} seed{'s' if s != 1 else ''} × {v} videos"
    return None


def _differences_panel(
    ax: Axes, diffs: pd.DataFrame, splits: list[str], offsets: np.ndarray, label: str
) -> None:
    """Each pair's paired difference, its interval over seeds and videos and its verdict
    (marker, :data:`VERDICT_MARKERS`), the value and interval written above it."""
    pair_names = list(
        dict.fromkeys(
            f"{a} − {b}" for a, b in zip(diffs["variant"], diffs["baseline"], strict=True)
        )
    )
    y_pair = {n: len(pair_names) - 1 - i for i, n in enumerate(pair_names)}
    design = _uniform(diffs)
    kinds = []
    for i, split in enumerate(splits):
        for _, r in diffs[diffs["split"] == split].iterrows():
            yy = y_pair[f"{r['variant']} − {r['baseline']}"] + offsets[i]
            est = r["estimate"] if math.isfinite(r["estimate"]) else r["diff"]
            if not math.isfinite(est):
                continue
            kind = verdict_kind(r.get("verdict"))
            kinds.append(kind)
            _difference_point(ax, est, yy, r["est_low"], r["est_high"], f"C{i}", kind, True)
            has = math.isfinite(r["est_low"])
            text = signed(est) + (f" {interval(r['est_low'], r['est_high'])}" if has else "")
            if design is None:
                n = int(r["n_seeds"])
                text += f", n={n} seed{'s' if n != 1 else ''}, {int(r['n_videos'])} videos"
            _note(ax, text, (est, yy), (0, 6), 7.5, ha="center")
    _bounded_zone(ax, horizontal=True)
    ax.margins(x=0.15)
    ax.set_yticks([y_pair[n] for n in pair_names], pair_names, fontsize=8)
    ax.set_ylim(-0.7, len(pair_names) - 0.3)
    ax.set_xlabel(f"paired difference in {label} (x100)", fontsize=8.5)
    ax.set_title(
        "ours: paired difference, one 95 % interval over seeds and videos"
        + (f"\n({design} per difference)" if design else ""),
        fontsize=8.5,
    )
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(axis="x", labelsize=8)
    _verdict_legend(ax, kinds, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


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
    :func:`~gsfm.ablation.stats.comparison_pairs`, each variant against the reference,
    then the paper's own comparisons) with their interval over seeds and videos and a marker
    per verdict (:data:`VERDICT_MARKERS`, explained in the panel's legend), or ``differences``
    when the caller has them already
    (:func:`~gsfm.ablation.stats.paired_differences`: not computed twice); with
    ``speed`` (:func:`gsfm.ablation.speed.variant_speed`'s table) each variant's speed
    relative to the reference, timed together, in the other panels' order; the paper's numbers
    for the study in a last panel, when it has any, in our order (:func:`paper_order`)."""
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
    paper = (
        paper_order(_paper_values(study), variants) if study in PAPER_STUDIES else pd.DataFrame()
    )
    timed = speed is not None and not speed.empty
    n_panels = 2 + timed + bool(len(paper))
    grid = (2, 2) if n_panels == 4 else (1, n_panels)  # four panels in a row read too small
    height = 2.6 + 0.5 * max(len(variants), len(paper), len(speed) if timed else 0)
    fig, axes = plt.subplots(
        *grid, figsize=(5.6 * grid[1], height * grid[0] + 0.6 * (grid[0] - 1)), squeeze=False
    )
    axes = axes.ravel()
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
    ax.set_yticks([y_of[v] for v in variants], names, fontsize=8.5)
    ax.set_ylim(-0.7, len(variants) - 0.3)
    ax.set_xlabel(f"{label} (x100)", fontsize=8.5)
    ax.set_title(f"ours: {label} per variant, mean ± 95 % interval over seeds", fontsize=8.5)
    ax.margins(x=0.2)
    ax.grid(alpha=0.3, axis="x")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7.5, title="split", title_fontsize=7.5, loc="best")

    if diffs.empty:
        _empty(axes[1], problem or "no pair of variants shares a split")
    else:
        _differences_panel(axes[1], diffs, splits, offsets, label)
    if timed:
        _speed_panel(axes[2], speed, variants)
    if len(paper):
        _paper_panel(axes[-1], paper)
    wrap = 60 * len(axes[: grid[1]])  # characters per line of the title: the figure's width
    fig.suptitle(f"{textwrap.fill(title, wrap)}\nours: {provenance_note(rows)}", fontsize=9.5)
    _footnote(fig, f"{_MEANS_NOTE}. {_DIFFERENCE_NOTE}")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
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
    :func:`~gsfm.ablation.stats.bucket_differences`; e.g.
    :func:`gsfm.ablation.small_split.split_differences`, whose ``interval_over`` is printed).
    ``split_titles``: {split: what it is} for the panel titles. ``rows`` (the study's
    ``<study>.csv``) supplies profile and device for the title; the objects table has none."""
    scores = bucket_scores(objects, metric)
    counts = bucket_counts(objects)
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
        provenance_note(rows, seeds=False)
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
