"""The paper's Fig. 1: for one query pixel, the memory pixels it matches, model beside model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from gsfm.viz.figures import save_figure  # noqa: E402

__all__ = ["plot_matching"]


def _outline(ax: Any, mask: np.ndarray | None, colour: str) -> None:
    if mask is not None and np.asarray(mask).any():
        ax.contour(np.asarray(mask, dtype=float), levels=[0.5], colors=[colour], linewidths=0.8)


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
    for the captions. The weights are shown in red, scaled to each panel's largest weight.
    """
    if not matches:
        raise ValueError("no model's matches to plot")
    first = next(iter(matches.values()))
    y, x = first.point
    n = 1 + len(matches)
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 2.6), squeeze=False)
    ax = axes[0, 0]
    ax.imshow(query_image)
    cy, cx = first.cell
    left, _, top, _ = first.pads
    ax.add_patch(
        Rectangle((cx * 16 - left - 0.5, cy * 16 - top - 0.5), 16, 16, fill=False, ec="red", lw=1)
    )
    ax.plot([x], [y], "o", ms=5, mfc="red", mec="white", mew=1.0)
    ax.set_title(f"(a) query pixel, frame {first.query_frame}", fontsize=8)
    base = memory_image.astype(np.float32) / 255.0
    grey = 0.35 + 0.45 * base.mean(axis=2, keepdims=True)
    for i, (name, m) in enumerate(matches.items(), start=1):
        ax = axes[0, i]
        w = m.weight_map()[0]
        alpha = (w / w.max() if w.max() > 0 else w)[..., None]
        red = np.array([1.0, 0.05, 0.05], dtype=np.float32)
        ax.imshow(np.clip((1 - alpha) * grey + alpha * red, 0, 1))
        _outline(ax, target, "yellow")
        _outline(ax, distractors, "cyan")
        k = "all" if m.top_k is None else f"top-{m.top_k}"
        label = f"({chr(97 + i)}) matched pixels ({name}), memory frame {m.memory_frames[0]}"
        caption = f"{k} weights"
        if target is not None and len(m.memory_frames) == 1:
            caption += f"; {100 * m.share_on(np.asarray(target, bool)[None]):.0f} % on the target"
        if shares and name in shares:
            s = shares[name]
            caption = (
                f"{k}; mean over {int(s['n_query_cells'])} target cells:\n"
                f"{100 * s['target']:.0f} % on target, {100 * s['distractors']:.0f} % on lookalikes"
            )
        ax.set_title(label, fontsize=8)
        ax.set_xlabel(caption, fontsize=7)
    for a in axes[0]:
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(
        title
        or "Matching confusion (paper Fig. 1): red = readout weight of the query pixel; "
        "yellow = target, cyan = lookalikes",
        fontsize=8,
    )
    fig.tight_layout()
    return save_figure(fig, out_path)
