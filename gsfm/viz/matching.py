"""The paper's Fig. 1: for one query pixel, the memory pixels it matches, model beside model.

* :func:`plot_matching`: the static figure (query pixel, then one panel per model with its
  readout weights on the memory frame, one colour scale and colour bar for all models);
* :func:`plot_lookalike_shares`: the same question measured over every target pixel of every
  video with lookalikes, model beside model (:mod:`gsfm.analysis.lookalike_shares`);
* :func:`query_pixel_picker`: the same figure behind row / column sliders (ipywidgets), so that
  a reader can pick any query pixel; without a Jupyter kernel, or with ``interactive=False``,
  it returns the static figure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gsfm.analysis.matching import FrameKeys, match_models
from gsfm.analysis.wording import interval, signed
from gsfm.viz.figures import save_figure
from gsfm.viz.spectral import widgets_available

__all__ = ["WEIGHT_COLORMAP", "plot_lookalike_shares", "plot_matching", "query_pixel_picker"]

_GREY = (0.55, 0.55, 0.55)
_RED = (1.0, 0.05, 0.05)
#: What a readout weight looks like in the panels: blended from the grey memory frame to red.
WEIGHT_COLORMAP = LinearSegmentedColormap.from_list("gsfm_weight", [_GREY, _RED])


def _outline(ax: Any, mask: np.ndarray | None, colour: str) -> None:
    if mask is not None and np.asarray(mask).any():
        ax.contour(np.asarray(mask, dtype=float), levels=[0.5], colors=[colour], linewidths=1.0)


def plot_matching(
    query_image: np.ndarray,
    memory_image: np.ndarray,
    matches: Mapping[str, Any],
    out_path: str | os.PathLike[str] | None = "figures/fig1_matching.png",
    *,
    target: np.ndarray | None = None,
    distractors: np.ndarray | None = None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
    title: str | None = None,
) -> Figure:
    """(a) the query pixel in the current frame, then per model the memory pixels it matches.

    query_image, memory_image: (H, W, 3) uint8. matches: {model name: PixelMatches} for the
    same query pixel and (first) memory frame. target / distractors: optional (H, W) masks of
    the memory frame, outlined in yellow / cyan. shares: optional {model: matching_shares()}
    for the captions. The weights go from grey (0) to red on **one** scale for all panels (0 to
    the largest weight of any model), read off the colour bar, so the panels compare directly.
    """
    if not matches:
        raise ValueError("no model's matches to plot")
    first = next(iter(matches.values()))
    y, x = first.point
    n = 1 + len(matches)
    h, w = memory_image.shape[:2]
    panel_h = 3.4 * h / w + 1.8  # room for the title and four caption lines
    fig, axes = plt.subplots(
        1, n, figsize=(3.6 * n + 0.8, panel_h), squeeze=False, layout="constrained"
    )
    ax = axes[0, 0]
    ax.imshow(query_image)
    cy, cx = first.cell
    left, _, top, _ = first.pads
    ax.add_patch(
        Rectangle((cx * 16 - left - 0.5, cy * 16 - top - 0.5), 16, 16, fill=False, ec="red", lw=1.5)
    )
    ax.plot([x], [y], "o", ms=7, mfc="red", mec="white", mew=1.2)
    ax.set_title(f"(a) query pixel, frame {first.query_frame}", fontsize=11)
    ax.set_xlabel(f"pixel row {y}, column {x}\nred box: its 16x16 key cell", fontsize=9.5)
    maps = {name: m.weight_map()[0] for name, m in matches.items()}
    vmax = max(float(wm.max()) for wm in maps.values()) or 1.0
    base = memory_image.astype(np.float32) / 255.0
    grey = 0.35 + 0.45 * base.mean(axis=2, keepdims=True)
    red = np.array(_RED, dtype=np.float32)
    for i, (name, m) in enumerate(matches.items(), start=1):
        ax = axes[0, i]
        alpha = np.clip(maps[name] / vmax, 0.0, 1.0)[..., None]
        ax.imshow(np.clip((1 - alpha) * grey + alpha * red, 0, 1))
        _outline(ax, target, "yellow")
        _outline(ax, distractors, "cyan")
        k = "all" if m.top_k is None else f"top-{m.top_k}"
        lines = [f"{k} weights"]
        if target is not None and len(m.memory_frames) == 1:
            on = 100 * m.share_on(np.asarray(target, bool)[None])
            lines.append(f"this pixel: {on:.0f} % on the target")
        if shares and name in shares:
            s = shares[name]
            lines += [
                f"mean over {int(s['n_query_cells'])} target cells:",
                f"{100 * s['target']:.0f} % on the target, {100 * s['distractors']:.0f} % on lookalikes",
            ]
        ax.set_title(
            f"({chr(97 + i)}) {name}: matches in memory frame {m.memory_frames[0]}", fontsize=11
        )
        ax.set_xlabel("\n".join(lines), fontsize=9.5)
    for a in axes[0]:
        a.set_xticks([])
        a.set_yticks([])
    bar = fig.colorbar(
        ScalarMappable(Normalize(0.0, vmax), WEIGHT_COLORMAP),
        ax=list(axes[0, 1:]),
        fraction=0.04,
        pad=0.02,
        shrink=0.9,
    )
    bar.set_label("readout weight of the query pixel", fontsize=9.5)
    bar.ax.tick_params(labelsize=9)
    fig.suptitle(
        title
        or "Matching confusion (paper Fig. 1): yellow = target, cyan = lookalikes; "
        "red = weight (one scale for all panels)",
        fontsize=11.5,
    )
    return save_figure(fig, out_path)


def query_pixel_picker(
    models: Mapping[str, Any],
    frames: torch.Tensor,
    query_frame: int,
    point: tuple[int, int],
    memory_frames: Sequence[int] = (0,),
    *,
    query_image: np.ndarray,
    memory_image: np.ndarray,
    top_k: int | None | Literal["config"] = "config",
    keys: Mapping[str, FrameKeys] | None = None,
    target: np.ndarray | None = None,
    distractors: np.ndarray | None = None,
    query_target: np.ndarray | None = None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
    out_path: str | os.PathLike[str] | None = "figures/fig1_matching.png",
    interactive: bool = True,
) -> Any:
    """Fig. 1 with a query-pixel picker: row / column sliders redraw what that pixel matches.

    models: {label: network}; frames: the video's normalised frames (T, 3, H, W); keys: {label:
    :func:`gsfm.analysis.matching.frame_keys` output} so that a redraw only reads the memory.
    target / distractors: masks of the memory frame (outlined); query_target: the target in
    the query frame (the picker says whether the picked pixel is on it).
    The figure for the starting ``point`` is written to ``out_path``; the pixels a reader picks
    afterwards are only drawn (the saved figure stays reproducible). When ``interactive`` is
    False (executed notebooks, CI) or :func:`gsfm.viz.spectral.widgets_available` is not (no
    Jupyter kernel, no ipywidgets), returns that static figure instead of the widgets.
    """
    plot_kw: dict[str, Any] = dict(target=target, distractors=distractors, shares=shares)

    def figure(p: tuple[int, int], path: str | os.PathLike[str] | None) -> Figure:
        found = match_models(models, frames, query_frame, p, memory_frames, top_k=top_k, keys=keys)
        return plot_matching(query_image, memory_image, found, path, **plot_kw)

    start = figure(point, out_path)
    if not (interactive and widgets_available()):
        return start

    h, w = frames.shape[-2:]
    row = widgets.IntSlider(
        value=point[0], min=0, max=h - 1, description="row", continuous_update=False
    )
    col = widgets.IntSlider(
        value=point[1], min=0, max=w - 1, description="column", continuous_update=False
    )
    note = widgets.HTML()
    out = widgets.Output()

    def redraw(*_: Any) -> None:
        p = (int(row.value), int(col.value))
        on = ""
        if query_target is not None:
            on = " (on the target)" if query_target[p] else " (not on the target)"
        note.value = f"query pixel row {p[0]}, column {p[1]}{on}; frame {query_frame}"
        fig = start if p == tuple(point) else figure(p, None)
        with out:
            out.clear_output(wait=True)
            display(fig)

    for s in (row, col):
        s.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([row, col]), note, out])


_SHARE_COLOURS = {"target": "#e6a817", "lookalikes": "#1f9bd1", "rest": "#8c8c8c"}


def plot_lookalike_shares(
    rows: Any,
    summary: Any,
    differences: Any,
    out_path: str | os.PathLike[str] | None = "figures/fig1_lookalike_shares.png",
) -> Figure:
    """Fig. 1 measured (:mod:`gsfm.analysis.lookalike_shares`): (a) per model, the share of the
    top-k weight on the target, on the lookalikes and elsewhere, mean over videos with its 95 %
    interval and one dot per video (and seed); (b) each video's lookalike share, STCN against
    GSFM: below the diagonal GSFM puts less weight on lookalikes (the paper's Fig. 1)."""
    models = list(dict.fromkeys(summary["model"]))
    fig, (ax, bx) = plt.subplots(
        1, 2, figsize=(12.5, 4.9), gridspec_kw={"width_ratios": [1.6, 1]}, layout="constrained"
    )
    width = 0.8 / 3
    for j, share in enumerate(("target", "lookalikes", "rest")):
        for i, model in enumerate(models):
            r = summary[(summary["model"] == model) & (summary["share"] == share)].iloc[0]
            x = i + (j - 1) * width
            err = None
            if np.isfinite(r.low):
                err = [[r.estimate - r.low], [r.high - r.estimate]]
            ax.bar(x, r.estimate, width * 0.92, color=_SHARE_COLOURS[share], alpha=0.75,
                   yerr=err, capsize=3, label=share if i == 0 else None)  # fmt: skip
            per_video = rows[rows["model"] == model].groupby(["seed", "video"])[f"share_{share}"]
            pts = 100 * per_video.mean().to_numpy()
            jitter = np.linspace(-0.3, 0.3, len(pts)) * width if len(pts) > 1 else np.zeros(1)
            ax.plot(x + jitter, pts, "o", ms=3, color="black", alpha=0.55)
        if share == "lookalikes":
            for i, model in enumerate(models):
                r = summary[(summary["model"] == model) & (summary["share"] == "lookalike_area")]
                area = float(r["estimate"].iloc[0])
                ax.hlines(area, i - width / 2, i + width / 2, colors="#1f4e79", linestyles="--",
                          lw=1.2, label="lookalikes' area in the memory frame" if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("share of the top-k weight (%)")
    ax.legend(fontsize=8.5, loc="upper left", ncols=2)
    ax.set_ylim(0, 115)  # room for the legend above the dots
    ax.set_yticks(range(0, 101, 20))
    over = str(summary["over"].iloc[0])
    ax.set_title(f"(a) where every target pixel's weight goes\nbars: mean, 95 % interval {over}",
                 fontsize=10)  # fmt: skip
    ax.grid(axis="y", alpha=0.3)
    look = {
        m: 100 * rows[rows["model"] == m].groupby(["seed", "video"])["share_lookalikes"].mean()
        for m in ("STCN", "GSFM")
    }
    both = look["STCN"].index.intersection(look["GSFM"].index)
    xs, ys = look["STCN"][both].to_numpy(), look["GSFM"][both].to_numpy()
    top = max(5.0, float(max(xs.max(), ys.max())) * 1.1)
    bx.plot([0, top], [0, top], color="0.5", lw=0.8)
    bx.plot(xs, ys, "o", color=_SHARE_COLOURS["lookalikes"], mec="black", mew=0.5)
    bx.set_xlim(0, top)
    bx.set_ylim(0, top)
    bx.set_aspect("equal")
    bx.set_xlabel("STCN: weight on lookalikes (%)")
    bx.set_ylabel("GSFM: weight on lookalikes (%)")
    d = differences[(differences["comparison"] == "GSFM − STCN")
                    & (differences["share"] == "lookalikes")].iloc[0]  # fmt: skip
    span = interval(d.low, d.high) if np.isfinite(d.low) else "(no interval)"
    bx.set_title(
        f"(b) one dot per video: below the diagonal = the paper's Fig. 1\n"
        f"GSFM − STCN {signed(d.estimate)} points {span}: {d.verdict}",
        fontsize=10,
    )
    bx.grid(alpha=0.3)
    fig.suptitle(
        "Matching confusion measured (paper Fig. 1): share of the readout weight of every target "
        "pixel, memory = the first frame", fontsize=11,
    )  # fmt: skip
    return save_figure(fig, out_path)
