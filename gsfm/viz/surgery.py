"""Spectral surgery on a trained network, drawn (:mod:`gsfm.analysis.surgery`).

* :func:`plot_surgery`: what one query pixel matches as trained and after one surgery (the
  panels of :func:`gsfm.viz.matching.plot_matching`), with the shares and J&F in the title;
* :func:`plot_surgery_grid`: the static overview, one panel per surgery of a list (the
  figure an executed notebook shows);
* :func:`surgery_widget`: controls (LFM / HFM switches, σ and its mode, a radial band of the
  key features to zero or keep) that redraw :func:`plot_surgery` and a one-line readout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from gsfm.analysis.surgery import Surgery, SurgeryBench, SurgeryResult
from gsfm.viz.figures import figure_image, save_figure
from gsfm.viz.matching import WEIGHT_COLORMAP, _outline, plot_matching
from gsfm.viz.spectral import widgets_available

__all__ = [
    "SIGMA_CHOICES",
    "plot_surgery",
    "plot_surgery_grid",
    "readout_text",
    "surgery_widget",
]

#: the σ values the widget offers (bins or, in "relative" mode, a fraction of the map size)
SIGMA_CHOICES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0)


def readout_text(label: str, result: SurgeryResult, base: SurgeryResult) -> str:
    """``GSFM, <surgery>: target 41 %, lookalikes 12 % of the weight; J&F on 3 videos 45.2
    (as trained 48.0)``: the numbers the widget shows under its controls."""
    s, jf = result.shares, result.mean_jf
    return (
        f"{label}, {result.surgery.describe()}: target {100 * s['target']:.0f} %, lookalikes "
        f"{100 * s['distractors']:.0f} % of the weight (mean over {s['n_query_cells']} target "
        f"cells); J&F on {len(result.jf)} videos {jf:.1f} (as trained {base.mean_jf:.1f})"
    )


def plot_surgery(
    bench: SurgeryBench,
    base: SurgeryResult,
    result: SurgeryResult,
    out_path: str | os.PathLike[str] | None = None,
    *,
    label: str = "GSFM",
) -> Figure:
    """The query pixel, what it matches as trained and after ``result``'s surgery (one weight
    scale), with both shares and the J&F of the bench's videos."""
    after = f"after: {result.surgery.describe()}"
    return plot_matching(
        bench.query_image,
        bench.memory_image,
        {"as trained": base.matches, after: result.matches},
        out_path,
        target=bench.target[0],
        distractors=bench.distractors[0],
        shares={"as trained": base.shares, after: result.shares},
        title=f"{label}: J&F on {len(result.jf)} short videos {result.mean_jf:.1f} after "
        f"surgery, {base.mean_jf:.1f} as trained (yellow = target, cyan = lookalikes)",
    )


def plot_surgery_grid(
    bench: SurgeryBench,
    results: Sequence[SurgeryResult],
    out_path: str | os.PathLike[str] | None = "figures/spectral_surgery.png",
    *,
    label: str = "GSFM",
    note: str = "",
) -> Figure:
    """One panel per surgery: the query pixel's weights on memory frame 0 (one scale for all),
    captioned with the surgery, the target / lookalike shares and the J&F of the videos."""
    if not results:
        raise ValueError("no surgery results to plot")
    query_image, memory_image = bench.query_image, bench.memory_image
    n = 1 + len(results)
    cols = min(n, 4)
    rows = -(-n // cols)
    h, w = memory_image.shape[:2]
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, (3.4 * h / w + 1.3) * rows), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    y, x = results[0].matches.point
    ax = axes[0, 0]
    ax.imshow(query_image)
    ax.plot([x], [y], "o", ms=7, mfc="red", mec="white", mew=1.2)
    ax.set_title(f"query pixel, frame {bench.query_frame}", fontsize=10)
    maps = [r.matches.weight_map()[0] for r in results]
    vmax = max(float(m.max()) for m in maps) or 1.0
    grey = 0.35 + 0.45 * (memory_image.astype(np.float32) / 255.0).mean(axis=2, keepdims=True)
    red = np.array(WEIGHT_COLORMAP(1.0)[:3], dtype=np.float32)
    for i, (r, wm) in enumerate(zip(results, maps, strict=True), start=1):
        ax = axes[i // cols, i % cols]
        alpha = np.clip(wm / vmax, 0.0, 1.0)[..., None]
        ax.imshow(np.clip((1 - alpha) * grey + alpha * red, 0, 1))
        _outline(ax, bench.target[0], "yellow")
        _outline(ax, bench.distractors[0], "cyan")
        ax.set_title(r.surgery.describe(), fontsize=9.5)
        ax.set_xlabel(
            f"target {100 * r.shares['target']:.0f} %, lookalikes "
            f"{100 * r.shares['distractors']:.0f} %\nJ&F {r.mean_jf:.1f} ({len(r.jf)} videos)",
            fontsize=9,
        )
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
    for a in axes.ravel()[n:]:
        a.set_axis_off()
    fig.suptitle(
        f"Spectral surgery on {label} at test time: what one query pixel matches in memory frame 0"
        + (f"\n{note}" if note else ""),
        fontsize=11,
    )
    return save_figure(fig, out_path)


def surgery_widget(
    model: Any,
    bench: SurgeryBench,
    *,
    label: str = "GSFM",
    start: Surgery | None = None,
    interactive: bool = True,
) -> Any:
    """Controls that apply a surgery to ``model`` and redraw :func:`plot_surgery` and the
    :func:`readout_text` line; without a Jupyter kernel or with ``interactive=False``, the
    static :func:`plot_surgery` of ``start`` (default: the LFM bypassed) as a PNG image
    (:func:`gsfm.viz.figures.figure_image`).

    CSS classes (for browser tests): ``gsfm-surgery`` (the box), ``gsfm-surgery-lfm`` /
    ``-hfm`` (checkboxes), ``gsfm-surgery-sigma`` (slider), ``gsfm-surgery-readout`` (the
    line), ``gsfm-surgery-output`` (the figure).
    """
    start = start or Surgery(lfm=False)
    base = bench.measure(model)
    kw = dict(label=label)
    if not (interactive and widgets_available()):
        return figure_image(plot_surgery(bench, base, bench.measure(model, start), **kw))

    lfm = widgets.Checkbox(value=start.lfm, description="LFM on", indent=False)
    hfm = widgets.Checkbox(value=start.hfm, description="HFM on", indent=False)
    sigma = widgets.SelectionSlider(
        options=["as trained", *SIGMA_CHOICES], value="as trained", description="σ",
        continuous_update=False,
    )  # fmt: skip
    mode = widgets.Dropdown(
        options=["as trained", "bins", "relative"], value="as trained", description="σ mode"
    )
    action = widgets.ToggleButtons(
        options=["none", "zero", "keep"], value="none", description="key band"
    )
    band = widgets.IntRangeSlider(
        value=(0, 2), min=0, max=start.bins, description="radial bins", continuous_update=False
    )
    readout = widgets.HTML()
    out = widgets.Output()
    for w, css in ((lfm, "lfm"), (hfm, "hfm"), (sigma, "sigma"), (readout, "readout"), (out, "output")):  # fmt: skip
        w.add_class(f"gsfm-surgery-{css}")

    def current() -> Surgery:
        lo, hi = band.value
        use_band = action.value != "none" and hi > lo
        return Surgery(
            lfm=lfm.value,
            hfm=hfm.value,
            sigma=None if sigma.value == "as trained" else float(sigma.value),
            sigma_mode=None if mode.value == "as trained" else mode.value,
            band=(lo, hi) if use_band else None,
            band_action="zero" if action.value == "none" else action.value,
            bins=start.bins,
        )

    def redraw(*_: Any) -> None:
        readout.value = "measuring ..."
        try:
            result = bench.measure(model, current())
        except ValueError as exc:  # a combination the modules refuse: say so, keep the figure
            readout.value = f"not applied: {exc}"
            return
        readout.value = readout_text(label, result, base)
        fig = plot_surgery(bench, base, result, None, **kw)
        with out:
            out.clear_output(wait=True)
            display(figure_image(fig))

    for w in (lfm, hfm, sigma, mode, action, band):
        w.observe(redraw, names="value")
    redraw()
    box = widgets.VBox(
        [widgets.HBox([lfm, hfm, sigma, mode]), widgets.HBox([action, band]), readout, out]
    )
    box.add_class("gsfm-surgery")
    return box
