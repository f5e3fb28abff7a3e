"""The frequency content of trained features, from :mod:`gsfm.analysis.feature_spectra`.

* :func:`plot_feature_spectra` (``feature_spectra.png``): radial power spectra before and after
  the LFM and the HFM, one colour per curve;
* :func:`plot_residual_spectra` (``residual_spectra.png``): what the modules add, their
  residual z: its spectrum beside its input's, and ``‖z‖/‖x‖`` per radial band, with 95 %
  intervals.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gsfm.analysis.feature_spectra import low_share
from gsfm.viz.figures import save_figure

__all__ = ["plot_feature_spectra", "plot_residual_spectra"]

# (panel title, the places drawn in it): the encoder's 1/16 maps and the decoder's 1/4 maps
_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("key encoder, 1/16 (LFM)", ("encoder f16", "after LFM")),
    ("decoder, 1/4 (HFM)", ("decoder f4", "HFM input", "after HFM")),
)
# one colour per (model, place) curve, in drawing order (colour-blind-safe tab10 subset)
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f")  # fmt: skip
_STYLE = {
    "encoder f16": ("-", "before LFM (encoder f16)"),
    "after LFM": ("--", "after LFM"),
    "decoder f4": ("-", "decoder trunk f4"),
    "HFM input": (":", "HFM input (boundary branch)"),
    "after HFM": ("--", "after HFM"),
}


def _radius_line(ax: Any, radius: float, y: float = 0.97) -> None:
    """A labelled vertical line at ``radius`` cycles per pixel."""
    ax.axvline(radius, color="0.35", lw=1.0, ls="--")
    ax.text(radius, y, f" {radius} cycles/pixel", transform=ax.get_xaxis_transform(),
            fontsize=8, color="0.25", va="top", ha="left")  # fmt: skip


def plot_feature_spectra(
    table: pd.DataFrame,
    out_path: str | os.PathLike[str] | None = None,
    *,
    note: str = "",
    radius: float = 0.125,
) -> Figure:
    """Radial power spectra (share of non-DC power per radius bin) of each model's features
    before and after its frequency modules, one colour per (model, place); the legend gives
    the share below ``radius``, marked by a labelled line. Before and after differ little by
    construction (the modules return x + z with a small z): :func:`plot_residual_spectra`
    shows z itself."""
    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(1, len(_PANELS), figsize=(6.2 * len(_PANELS), 4.4))
    colours = iter(_COLOURS)
    for ax, (title, places) in zip(axes, _PANELS, strict=True):
        for model in models:
            for place in places:
                rows = table[(table["model"] == model) & (table["place"] == place)]
                if rows.empty:
                    continue
                style, name = _STYLE[place]
                share = low_share(rows["power"].to_numpy(), radius)
                ax.plot(
                    rows["radius"], rows["power"], style, color=next(colours), marker="o", ms=3,
                    label=f"{model}: {name} ({100 * share:.1f} % below {radius})",
                )  # fmt: skip
        _radius_line(ax, radius)
        ax.set_title(title)
        ax.set_xlabel("radial frequency (cycles per pixel)")
        ax.legend(fontsize=7.5, loc="upper right")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of non-DC power")
    maps = int(table["maps"].max()) if "maps" in table else 0
    fig.suptitle(
        "Trained features in the frequency domain, before and after the LFM and the HFM "
        "(x and x + z: close by construction)",
        fontsize=10.5,
    )
    fig.text(
        0.01, 0.01, f"{note} Mean over up to {maps} maps per place; per-channel means removed.",
        fontsize=7.5, color="0.3",
    )  # fmt: skip
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return save_figure(fig, out_path)


def plot_residual_spectra(
    rows: pd.DataFrame,
    summary: pd.DataFrame,
    out_path: str | os.PathLike[str] | None = None,
    *,
    note: str = "",
    radius: float = 0.125,
) -> Figure:
    """Per frequency module (columns): top, the radial power spectrum of its residual z beside
    that of its input x (mean over videos, shaded between the videos' 10th and 90th
    percentiles); bottom, ``‖z‖/‖x‖`` per radial band with its 95 % interval
    (:func:`gsfm.analysis.feature_spectra.residual_summary`)."""
    modules = list(dict.fromkeys(summary["module"]))
    if not modules:
        raise ValueError("no module rows to plot")
    fig, axes = plt.subplots(2, len(modules), figsize=(6.0 * len(modules), 7.4), squeeze=False)
    for j, module in enumerate(modules):
        ax, bx = axes[0, j], axes[1, j]
        m = rows[rows["module"] == module]
        for col, name, colour in (
            ("x_power", "input x", "#4c72b0"),
            ("z_power", "residual z", "#dd8452"),
        ):
            per_video = m.pivot_table(index="bin", columns=["seed", "video"], values=col)
            r = m.groupby("bin")["radius"].first()
            ax.plot(r, per_video.mean(axis=1), "-o", ms=3, color=colour, label=name)
            ax.fill_between(r, per_video.quantile(0.1, axis=1), per_video.quantile(0.9, axis=1),
                            color=colour, alpha=0.2, lw=0)  # fmt: skip
        _radius_line(ax, radius)
        ax.set_title(f"{module}: radial power spectrum of x and of z")
        ax.set_ylabel("share of non-DC power")
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(alpha=0.3)
        s = summary[(summary["module"] == module) & (summary["quantity"] == "z/x")]
        has = np.isfinite(s["low"].to_numpy())
        ax_err = [s["estimate"] - s["low"], s["high"] - s["estimate"]] if has.all() else None
        bx.errorbar(s["radius"], s["estimate"], yerr=ax_err, fmt="o-", ms=3.5, capsize=3,
                    color="#55a868", label="‖z‖/‖x‖ in the band, 95 % interval")  # fmt: skip
        allr = summary[(summary["module"] == module) & (summary["quantity"] == "z/x all")]
        if not allr.empty:
            bx.axhline(float(allr["estimate"].iloc[0]), color="#8172b3", lw=1.0, ls=":",
                       label=f"all frequencies: {float(allr['estimate'].iloc[0]):.3f}")  # fmt: skip
        _radius_line(bx, radius)
        bx.set_ylim(bottom=0)
        bx.set_title(f"{module}: size of z against x, per band")
        bx.set_xlabel("radial frequency (cycles per pixel; bin 0 holds the DC term)")
        bx.set_ylabel("‖z‖ / ‖x‖")
        bx.legend(fontsize=8, loc="upper right")
        bx.grid(alpha=0.3)
    over = str(summary["over"].iloc[0])
    fig.suptitle(
        f"What the frequency modules add: their residual z (output = x + z); intervals {over}",
        fontsize=10.5,
    )
    if note:
        fig.text(0.01, 0.005, note, fontsize=7.5, color="0.3")
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    return save_figure(fig, out_path)
