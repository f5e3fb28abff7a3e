"""The frequency content of trained features (``feature_spectra.png``), from the table of
:func:`gsfm.analysis.feature_spectra.feature_spectra`."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from gsfm.analysis.feature_spectra import low_share
from gsfm.viz.figures import save_figure

__all__ = ["plot_feature_spectra"]

# (panel title, the places drawn in it): the encoder's 1/16 maps and the decoder's 1/4 maps
_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("key encoder, 1/16 (LFM)", ("encoder f16", "after LFM")),
    ("decoder, 1/4 (HFM)", ("decoder f4", "HFM input", "after HFM")),
)
_STYLE = {
    "encoder f16": ("-", "before LFM (encoder f16)"),
    "after LFM": ("--", "after LFM"),
    "decoder f4": ("-", "decoder trunk f4"),
    "HFM input": (":", "HFM input (boundary branch)"),
    "after HFM": ("--", "after HFM"),
}


def plot_feature_spectra(
    table: pd.DataFrame,
    out_path: str | os.PathLike[str] | None = None,
    *,
    note: str = "",
    radius: float = 0.125,
) -> Figure:
    """Radial power spectra (share of non-DC power per radius bin) of each model's features
    before and after its frequency modules; the legend gives the share below ``radius``."""
    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(1, len(_PANELS) + 1, figsize=(5.6 * (len(_PANELS) + 1), 4.2))
    axes = axes.reshape(1, -1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, places) in zip(axes[0][:-1], _PANELS, strict=True):
        for i, model in enumerate(models):
            for place in places:
                rows = table[(table["model"] == model) & (table["place"] == place)]
                if rows.empty:
                    continue
                style, name = _STYLE[place]
                share = low_share(rows["power"].to_numpy(), radius)
                ax.plot(
                    rows["radius"], rows["power"], style, color=colours[i % len(colours)],
                    marker="o", ms=3, label=f"{model}: {name} ({100 * share:.1f} % below {radius})",
                )  # fmt: skip
        ax.axvline(radius, color="0.6", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("radial frequency (cycles per pixel)")
        ax.legend(fontsize=7.5, loc="upper right")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share of non-DC power")
    ax = axes[0][-1]  # what each module changes: after − before, per radius bin
    for i, model in enumerate(models):
        for before, after, style in (
            ("encoder f16", "after LFM", "-"),
            ("HFM input", "after HFM", "--"),
        ):
            b = table[(table["model"] == model) & (table["place"] == before)]
            a = table[(table["model"] == model) & (table["place"] == after)]
            if a.empty or b.empty:
                continue
            delta = a["power"].to_numpy() - b["power"].to_numpy()
            ax.plot(
                a["radius"], 100 * delta, style, color=colours[i % len(colours)], marker="o", ms=3,
                label=f"{model}: {after} − {'before' if before == 'encoder f16' else before}",
            )  # fmt: skip
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_title("change made by the module (after − before)")
    ax.set_xlabel("radial frequency (cycles per pixel)")
    ax.set_ylabel("percentage points of the power")
    ax.legend(fontsize=7.5)
    ax.grid(alpha=0.3)
    maps = int(table["maps"].max()) if "maps" in table else 0
    fig.suptitle(
        "Trained features in the frequency domain: does the LFM move power to low frequencies "
        "and the HFM to high ones?",
        fontsize=10.5,
    )
    fig.text(
        0.01, 0.01, f"{note} Mean over up to {maps} maps per place; per-channel means removed.",
        fontsize=7.5, color="0.3",
    )  # fmt: skip
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return save_figure(fig, out_path)
