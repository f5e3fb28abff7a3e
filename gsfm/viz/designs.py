"""The design pilot's figure: each seed's paired difference, per design, for each pair."""

from __future__ import annotations

import os
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gsfm.viz.figures import save_figure

__all__ = ["plot_design_pilot"]


def plot_design_pilot(
    seeds: pd.DataFrame, out_path: str | os.PathLike[str] | None = None
) -> Figure:
    """One panel per pair (:func:`gsfm.ablation.designs.seed_differences`): each seed's mean
    J&F difference as a dot, one column per design, and the design's mean as a bar. The dots'
    spread is the seed noise the designs differ in; the grey band is ±2 J&F, the "bounded"
    zone of the verdicts."""
    pairs = list(dict.fromkeys(seeds["pair"])) or ["(no rows)"]
    designs = list(dict.fromkeys(seeds["design"]))
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, pair in zip(axes[0], pairs, strict=True):
        part = seeds[seeds["pair"] == pair]
        ax.axhspan(-2, 2, color="0.9", zorder=0)
        ax.axhline(0, color="0.4", lw=0.8)
        for i, design in enumerate(designs):
            d = part.loc[part["design"] == design, "diff"].to_numpy(dtype=float)
            if d.size == 0:
                continue
            x = i + np.linspace(-0.12, 0.12, d.size) if d.size > 1 else np.array([float(i)])
            ax.plot(x, d, "o", color=colours(i), label=f"{design} ({d.size} seed"
                    f"{'s' if d.size != 1 else ''})")  # fmt: skip
            ax.plot([i - 0.25, i + 0.25], [d.mean()] * 2, color=colours(i), lw=2)
        labels = [textwrap.fill(d, 16) for d in designs]  # long design names on two lines
        ax.set_xticks(range(len(designs)), labels, fontsize=8)
        ax.set_xlim(-0.6, max(len(designs), 1) - 0.4)
        ax.set_title(pair, fontsize=10)
        ax.set_ylabel("per-seed mean J&F difference")
        if part.empty:
            ax.text(0.5, 0.5, "no rows yet", transform=ax.transAxes, ha="center")
    fig.suptitle("Paired differences per seed, by training design (grey: ±2 J&F)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_path)
