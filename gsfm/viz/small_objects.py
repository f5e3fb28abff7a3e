"""The paper's Fig. 7 on our data (``fig7_small_objects.png``): the smallest objects, cropped
and enlarged, with the ground truth and each model's prediction
(:func:`gsfm.analysis.small_objects.object_crops`)."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gsfm.analysis.small_objects import ObjectCrop
from gsfm.viz.data import overlay
from gsfm.viz.figures import save_figure

__all__ = ["plot_small_object_crops"]


def plot_small_object_crops(
    crops: Sequence[ObjectCrop],
    out_path: str | os.PathLike[str] | None = None,
    *,
    scores: Mapping[tuple[str, int], Mapping[str, float]] | None = None,
    note: str = "",
    independent: Collection[tuple[str, int]] = (),
) -> Figure:
    """One row per object: the whole frame with the crop box, then the enlarged crop with the
    ground truth and with each method's mask. ``scores``: {(sequence, object): {method: J&F}}
    shown in the titles (the object's score over the whole video). ``independent``: the
    objects every method scores the same in every run (model-independent), said in their row.
    A method whose mask misses the object in the frame shown says so; so does a row whose
    object no method marks in any frame (the frame is then the middle annotated one)."""
    if not crops:
        raise ValueError("no objects to plot")
    names = list(crops[0].masks)
    n_cols = 1 + len(names)
    fig, axes = plt.subplots(
        len(crops), n_cols, figsize=(2.3 * n_cols + 1.4, 2.3 * len(crops) + 0.5), squeeze=False
    )
    for r, c in enumerate(crops):
        ax = axes[r, 0]
        ax.imshow(c.image)
        y0, y1, x0, x1 = c.box
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=1.2))
        same = (c.sequence, c.object) in set(independent)
        ax.set_title(
            f"{c.sequence}, object {c.object}\n{100 * c.area:.2f} % of the frame, frame {c.frame}"
            + ("\nmodel-independent: same J&F for all" if same else "")
            + ("" if c.ever_marked else "\nno model marks it in any frame"),
            fontsize=8,
        )
        for k, name in enumerate(names, start=1):
            ax = axes[r, k]
            ax.imshow(overlay(c.crop, c.masks[name]))
            score = (scores or {}).get((c.sequence, c.object), {}).get(name)
            extra = f"\nJ&F {score:.1f} (video)" if score is not None else ""
            if name != "GT" and name not in c.marked_by:
                extra += "\nmisses it in this frame"
            ax.set_title(f"{name}{extra}", fontsize=8.5)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(
        "The smallest objects (the paper's Fig. 7): crops enlarged without interpolation",
        fontsize=10,
    )
    explain = (
        "Frame shown: the middle of those after the first annotation where a model's mask marks "
        "the object (else the middle annotated frame)."
    )
    if independent:
        explain += (
            " Model-independent: every model scores the object the same in every run (found "
            "by none, or perfectly by all), so it cannot tell the models apart."
        )
    note = f"{note}\n{explain}" if note else explain
    fig.text(0.01, 0.005, note, fontsize=7.5, color="0.3", wrap=True)
    fig.tight_layout(rect=(0, 0.045, 1, 0.97))
    return save_figure(fig, out_path)
