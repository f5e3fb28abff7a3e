"""Figures about training and its results: curves, the loss pieces, J&F bars, qualitative frames.

* :func:`plot_training_curves`: loss, IoU, learning rate and bootstrapped-CE top-p from runs'
  ``log.csv`` (``figures/training_curves.png``);
* :func:`plot_bootstrap_schedule` and :func:`plot_boundary_target`: the losses (paper §3.3, §4);
* :func:`plot_jf_comparison`: J&F of trained models beside the trivial baselines, the paper's
  numbers in their own, labelled panel;
* :func:`plot_qualitative`: GT and each model's masks on hard videos (the paper's Fig. 5).

Every function writes a PNG atomically when ``out_path`` is given, closes the figure and
returns it (``IPython.display.display(fig)`` still shows it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from gsfm.data.io import DAVIS_PALETTE
from gsfm.losses import bootstrap_p, logged_steps
from gsfm.viz.data import overlay
from gsfm.viz.figures import save_figure

__all__ = [
    "plot_bootstrap_schedule",
    "plot_boundary_target",
    "plot_jf_comparison",
    "plot_qualitative",
    "plot_training_curves",
    "qualitative_objects",
    "read_log",
    "smoothing_note",
    "summarize_log",
]

_TRIVIAL = ("empty", "copy-first")


def read_log(run: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A run's ``log.csv`` as a DataFrame (``run``: the run folder, the CSV, or a DataFrame)."""
    if isinstance(run, pd.DataFrame):
        return run
    path = Path(run)
    if path.is_dir():
        path = path / "log.csv"
    if not path.is_file():
        raise FileNotFoundError(f"training log not found: {path}")
    log = pd.read_csv(path)
    missing = {"iteration", "total", "iou", "lr", "p"} - set(log.columns)
    if missing:
        raise ValueError(f"{path} lacks the column(s) {sorted(missing)}")
    return log


def summarize_log(
    run: str | os.PathLike[str] | pd.DataFrame, fraction: float = 0.1
) -> dict[str, float]:
    """Mean loss and training IoU over the first and the last ``fraction`` of a run's log rows.

    The IoU is the measure of learning to compare: the bootstrapped CE averages over the hardest
    fraction p of pixels, and p shrinks during the warm-up, so the loss can rise while the
    model improves.
    """
    log = read_log(run)
    n = max(int(len(log) * fraction), 1)
    head, tail = log.iloc[:n], log.iloc[-n:]
    return {
        "loss_first": float(head["total"].mean()),
        "loss_last": float(tail["total"].mean()),
        "iou_first": float(head["iou"].mean()),
        "iou_last": float(tail["iou"].mean()),
    }


WARMUP_GID = "bootstrap-warmup"  # gid of the shaded warm-up spans (tests find them by it)


def _log_step(log: pd.DataFrame) -> int | None:
    """Iterations per logged row (the median spacing of ``iteration``), or None if unknown."""
    steps = np.diff(log["iteration"].to_numpy(dtype=float))
    return int(np.median(steps)) if len(steps) else None


def smoothing_note(smooth: int, log_every: int | None) -> str:
    """What the curves of :func:`plot_training_curves` average, in words (drawn in the figure).

    The trainer logs the loss, IoU and p as means over each logging interval and the learning
    rate as its value at the row; ``smooth`` > 1 adds a rolling mean over rows (loss, IoU).
    """
    every = f" ({log_every} iteration{'s' if log_every != 1 else ''})" if log_every else ""
    note = f"loss, IoU, p: each point is the mean over one log interval{every}; lr: its value there"
    if smooth > 1:
        span = f", about {smooth * log_every} iterations" if log_every else ""
        return f"{note}; loss and IoU: also a rolling mean over {smooth} log rows{span}"
    return f"{note}; no further smoothing"


def plot_training_curves(
    runs: Mapping[str, str | os.PathLike[str] | pd.DataFrame],
    out_path: str | os.PathLike[str] | None = "figures/training_curves.png",
    smooth: int = 1,
    warmup: tuple[int, int] | None = None,
    note: str = "",
) -> Figure:
    """2x2 panels over iterations: total loss, IoU (object 1, training batches), learning rate
    (log scale) and the bootstrapped-CE fraction p, one line per run (``{label: run}``).
    ``note`` (e.g. the profile and the device the runs trained on) heads the footnote.

    ``smooth``: rolling-mean window (in logged rows) for the loss and IoU; the figure says
    which smoothing it shows. ``warmup``: ``(start_warm, end_warm)`` of the bootstrapped CE,
    shaded in every panel (the loss rises there because p shrinks, not because learning fails).
    """
    if not runs:
        raise ValueError("no runs to plot")
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    panels = [
        ("total", "training loss (CE + 0.05 x boundary)", True),
        ("iou", "IoU on training samples", True),
        ("lr", "learning rate", False),
        ("p", "bootstrapped CE: fraction p of pixels kept", False),
    ]
    step = None
    for label, run in runs.items():
        log = read_log(run)
        step = step or _log_step(log)
        for ax, (col, title, smoothed) in zip(axes.flat, panels, strict=True):
            values = log[col].astype(float)
            if smoothed and smooth > 1:
                values = values.rolling(smooth, min_periods=1).mean()
            ax.plot(log["iteration"], values, label=label, lw=1.4)
            ax.set_title(title, fontsize=10.5)
    axes[1, 0].set_yscale("log")
    if warmup is not None:
        start, end = warmup
        for i, ax in enumerate(axes.flat):
            ax.axvspan(
                start, end, color="0.5", alpha=0.14, lw=0, gid=WARMUP_GID,
                label=f"bootstrapped-CE warm-up ({start}-{end})" if i == 0 else None,
            )  # fmt: skip
    for ax in axes.flat:
        ax.set_xlabel("iteration", fontsize=9)
        ax.tick_params(labelsize=8.5)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8.5)
    footnote = f"{note}  {smoothing_note(smooth, step)}" if note else smoothing_note(smooth, step)
    fig.text(0.5, 0.005, footnote, ha="center", va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return save_figure(fig, out_path, tight=True)  # the note may be wider than the axes


def plot_bootstrap_schedule(
    iterations: int,
    start_warm: int,
    end_warm: int,
    top_p: float = 0.15,
    out_path: str | os.PathLike[str] | None = "figures/bootstrap_schedule.png",
    logged: pd.DataFrame | None = None,
    title: str = "",
) -> Figure:
    """The fraction p of hardest pixels the bootstrapped CE keeps, over training.

    ``logged``: a run's log (its ``p`` column is drawn as dots, to show the trainer follows it).
    """
    its = np.arange(iterations + 1)
    p = [bootstrap_p(int(i), start_warm, end_warm, top_p) for i in its]
    fig, ax = plt.subplots(figsize=(5.8, 3.1))
    ax.plot(its, p, lw=1.5, label="bootstrap_p (gsfm.losses)")
    if logged is not None:
        # each row is the mean over its interval: for a linear ramp, the value at its midpoint
        mid = [(s.start + s.stop - 1) / 2 for s in logged_steps(logged["iteration"])]
        ax.plot(mid, logged["p"], ".", ms=4, label="p in the run's log (interval means)")
    for x, name in ((start_warm, "start_warm"), (end_warm, "end_warm")):
        ax.axvline(x, color="grey", ls=":", lw=1)
        ax.text(x, 1.02, name, fontsize=8.5, ha="center")
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("iteration", fontsize=9.5)
    ax.set_ylabel("p", fontsize=9.5)
    ax.set_title(title or f"bootstrapped CE warm-up (p: 1 -> {top_p})", fontsize=10.5)
    ax.legend(fontsize=8.5, loc="center right")
    fig.tight_layout()
    return save_figure(fig, out_path)


def _boundary_crop(mask: np.ndarray, target: np.ndarray, rows: int, cols: int) -> tuple[int, ...]:
    """A ``rows`` x ``cols`` window around the boundary pixel nearest the object's interior."""
    h, w = mask.shape
    cy, cx = h // 2, w // 2
    ys, xs = np.nonzero(target)
    if len(ys):
        inner_y, inner_x = np.nonzero((mask > 0) & (target == 0))
        i = 0
        if len(inner_y):
            i = int(np.argmin(np.hypot(ys - inner_y.mean(), xs - inner_x.mean())))
        cy, cx = int(ys[i]), int(xs[i])
    y0 = min(max(cy - rows // 2, 0), max(h - rows, 0))
    x0 = min(max(cx - cols // 2, 0), max(w - cols, 0))
    return y0, min(y0 + rows, h), x0, min(x0 + cols, w)


def plot_boundary_target(
    mask: np.ndarray,
    response: np.ndarray,
    target: np.ndarray,
    out_path: str | os.PathLike[str] | None = "figures/boundary_target.png",
    crop: tuple[int, int, int, int] | None = None,
) -> Figure:
    """Mask → Laplacian response (clamped at 0) → binary boundary target, and a zoomed crop
    ``(y0, y1, x0, x1)`` (default: 18 pixels wide, around a boundary pixel) where every
    pixel carries its response value, so the 1-px ring and the numbers behind it are readable.

    The full-frame panels use nearest-neighbour pixels and a bright scale (every positive
    response is clearly visible; the numbers are in the zoom), so the thin lines do not fade.
    """
    mask, response, target = (np.asarray(a, dtype=float) for a in (mask, response, target))
    if not (mask.shape == response.shape == target.shape) or mask.ndim != 2:
        raise ValueError("mask, response and target must be (H, W) maps of one size")
    h, w = mask.shape
    rows = max(6, round(18 * h / w))  # the zoom keeps the frame's aspect ratio
    y0, y1, x0, x1 = crop if crop is not None else _boundary_crop(mask, target, rows, 18)
    fig, axes = plt.subplots(1, 4, figsize=(14, 14 / 4 * h / w + 0.9))
    box = dict(fill=False, ec="red", lw=1.5)
    axes[0].imshow(mask, cmap="gray", interpolation="nearest")
    axes[0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, **box))
    axes[0].set_title("(a) GT mask (red box: zoom)", fontsize=10)
    positive = response[response > 0]
    bright = float(np.quantile(positive, 0.25)) if positive.size else 1.0
    axes[1].imshow(
        response, cmap="inferno", vmin=0, vmax=max(bright, 1e-6), interpolation="nearest"
    )
    axes[1].set_title(
        "(b) Laplacian (centre 8, neighbours -1),\nclamped at 0: bright = > 0", fontsize=10
    )
    grey = np.stack([0.45 * mask] * 3, -1)
    ring = grey.copy()
    ring[target > 0] = (1.0, 0.15, 0.15)
    axes[2].imshow(ring, interpolation="nearest")
    axes[2].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, **box))
    axes[2].set_title("(c) boundary target: response > 0.1\n(red, on the grey mask)", fontsize=10)
    axes[3].imshow(ring[y0:y1, x0:x1], interpolation="nearest")
    for r in range(y1 - y0):
        for c in range(x1 - x0):
            v = response[y0 + r, x0 + c]
            axes[3].text(
                c, r, f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}", ha="center",
                va="center", fontsize=6.5, color="black" if target[y0 + r, x0 + c] else "white",
                gid="response",
            )  # fmt: skip
    axes[3].set_title(
        f"(d) zoom, rows {y0}-{y1 - 1}, cols {x0}-{x1 - 1}:\nnumbers = clamped response",
        fontsize=10,
    )
    for a in axes:
        a.set_xticks([])
        a.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, out_path, tight=True)


def plot_jf_comparison(
    summary: pd.DataFrame,
    out_path: str | os.PathLike[str] | None = "figures/jf_comparison.png",
    paper: pd.DataFrame | None = None,
    data_label: str = "synth-v1 val",
) -> Figure:
    """J&F bars (± std over seeds where there are several) for each method of ``summary``
    (:func:`gsfm.analysis.comparison.summarise`); trivial baselines in grey. ``paper``: the
    paper's numbers (``PAPER_RESULTS``), drawn in a separate panel labelled as the paper's."""
    if summary.empty:
        raise ValueError("empty summary: nothing to plot")
    n_panels = 2 if paper is not None else 1
    fig, axes = plt.subplots(
        1, n_panels, figsize=(4.6 * n_panels, 3.2), squeeze=False,
        gridspec_kw={"width_ratios": [len(summary), 2][:n_panels]},
    )  # fmt: skip
    ax = axes[0, 0]
    names = list(summary["method"])
    colours = ["0.65" if m in _TRIVIAL else f"C{i}" for i, m in enumerate(names)]
    err = [0.0 if math.isnan(s) else s for s in summary["J&F std"]]
    bars = ax.bar(names, summary["J&F"], yerr=err if any(err) else None, color=colours, capsize=4)
    for b, v, n in zip(bars, summary["J&F"], summary["n_seeds"], strict=True):
        seeds = f"\n({int(n)} seed{'s' if n != 1 else ''})" if n else ""
        ax.text(b.get_x() + b.get_width() / 2, v + 1, f"{v:.1f}{seeds}", ha="center", fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("J&F (x100)", fontsize=8)
    ax.set_title(f"ours: {data_label}", fontsize=9)
    ax.tick_params(labelsize=8)
    if paper is not None:
        ax2 = axes[0, 1]
        pb = ax2.bar(paper["method"], paper["J&F"], color=["C0", "C1"][: len(paper)], alpha=0.45)
        for b, v in zip(pb, paper["J&F"], strict=True):
            ax2.text(b.get_x() + b.get_width() / 2, v + 1, f"{v:.1f}", ha="center", fontsize=7)
        ax2.set_ylim(0, 105)
        ax2.set_title("the paper's numbers (Table 1,\nDAVIS 2017 val; not comparable)", fontsize=8)
        ax2.tick_params(labelsize=8)
    fig.tight_layout()
    return save_figure(fig, out_path)


def plot_qualitative(
    videos: Sequence[Any],
    out_path: str | os.PathLike[str] | None = "figures/fig5_qualitative.png",
) -> Figure:
    """Per video a block of rows: the GT, then each method's masks overlaid on the frames
    (:class:`gsfm.analysis.comparison.QualitativeVideo`); columns: the picked frames.

    Each block has a legend of its objects' colours (the GT's object ids, in the DAVIS palette
    every mask is drawn in), so a wrong colour in a method's row reads as a swapped identity.
    """
    if not videos:
        raise ValueError("no videos to plot")
    n_cols = max(len(v.frames) for v in videos)
    h, w = videos[0].images.shape[1:3]
    row_h = 2.2 * h / w + 0.1
    heights = [len(v.masks) * row_h + 0.6 for v in videos]
    fig = plt.figure(figsize=(2.2 * n_cols + 0.5, sum(heights)))
    subfigs = fig.subfigures(len(videos), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, vid in zip(subfigs, videos, strict=True):
        axes = sub.subplots(len(vid.masks), n_cols, squeeze=False)
        for r, (row_name, masks) in enumerate(vid.masks.items()):
            for c in range(n_cols):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c >= len(vid.frames):
                    ax.axis("off")
                    continue
                ax.imshow(overlay(vid.images[c], masks[c], alpha=0.45))
                if r == 0:
                    ax.set_title(f"frame {vid.frames[c]}", fontsize=8.5, pad=2)
            axes[r, 0].set_ylabel(row_name, fontsize=9.5)
        rows = ", ".join(vid.masks)
        sub.suptitle(f"{vid.name}: {vid.caption}  (rows: {rows})", fontsize=9.5, x=0.02, ha="left")
        objects = qualitative_objects(vid)
        if objects:
            handles = [
                Patch(facecolor=DAVIS_PALETTE[k] / 255.0, edgecolor="yellow", label=f"object {k}")
                for k in objects
            ]
            sub.legend(
                handles=handles, loc="upper right", ncol=len(handles), fontsize=8.5,
                frameon=False, bbox_to_anchor=(0.995, 1.0), handlelength=1.2,
            )  # fmt: skip
        sub.subplots_adjust(left=0.05, right=0.99, bottom=0.02, top=0.86, hspace=0.08, wspace=0.03)
    return save_figure(fig, out_path)


def qualitative_objects(video: Any) -> list[int]:
    """The object ids of a :class:`~gsfm.analysis.comparison.QualitativeVideo`'s ground truth
    (first mask row), sorted: the entries of its colour legend."""
    gt = next(iter(video.masks.values()))
    return sorted(int(k) for k in np.unique(gt) if 0 < k < 255)
