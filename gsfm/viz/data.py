"""Figures about the data: the synthetic benchmark's hard cases with mask overlays."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gsfm.data.io import DAVIS_PALETTE  # noqa: E402
from gsfm.viz.figures import save_figure  # noqa: E402

__all__ = ["overlay", "plot_benchmark_examples"]

_CAPTION = {
    "lookalike": "unannotated lookalikes (same texture, similar shape)",
    "small": "small targets (< 1 % / 0.5 % of the frame)",
    "thin": "thin parts and fine boundaries",
    "occlusion": "occlusion by unannotated objects",
    "late": "object first annotated in a later frame",
    "camera": "camera pan and zoom",
    "leave": "object leaves the frame and comes back",
    "mixed": "several hard cases at once",
}


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.3) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with object ids of ``mask`` blended in DAVIS colours and
    outlined (so the texture stays visible and lookalikes can be compared)."""
    from gsfm.metrics import boundary_map

    out = image.astype(np.float32).copy()
    fg = mask > 0
    colours = DAVIS_PALETTE[mask].astype(np.float32)
    out[fg] = (1 - alpha) * out[fg] + alpha * colours[fg]
    for k in np.unique(mask[fg]).tolist():
        edge = boundary_map(mask == k)
        out[edge] = (255.0, 255.0, 0.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _load(root_or_videos: str | os.PathLike[str] | Sequence[object] | None, cases: Sequence[str]):
    """``[(case, name, images, masks, objects-metadata rows)]``, first video of each case."""
    out = []
    if root_or_videos is None or isinstance(root_or_videos, (str, os.PathLike)):
        if root_or_videos is None:
            from gsfm.data.synthetic import CASES, generate_video

            for case in cases:
                vid = generate_video("val", CASES.index(case))
                out.append((case, vid.spec.name, vid.images, vid.masks, vid.objects))
            return out
        import pandas as pd

        from gsfm.data.davis import DAVISEvalDataset

        root = Path(root_or_videos)
        table = (
            pd.read_csv(root / "objects_val.csv") if (root / "objects_val.csv").is_file() else None
        )
        ds = DAVISEvalDataset(root, split="val")
        for case in cases:
            names = [n for n in ds.videos if n.endswith(f"_{case}")]
            if not names:
                continue
            vid = ds.video(ds.videos.index(names[0]))
            masks, _ = vid.masks()
            rows = [] if table is None else table[table["video"] == names[0]].to_dict("records")
            out.append((case, names[0], vid.images(), masks, rows))
        return out
    for vid in root_or_videos:  # SyntheticVideo objects
        if vid.spec.case in cases:
            out.append((vid.spec.case, vid.spec.name, vid.images, vid.masks, vid.objects))
    return out


def plot_benchmark_examples(
    root_or_videos: str | os.PathLike[str] | Sequence[object] | None = None,
    out_path: str | os.PathLike[str] | None = "figures/synthetic_benchmark_examples.png",
    cases: Sequence[str] = ("lookalike", "small", "thin", "occlusion", "late", "camera", "leave"),
    n_frames: int = 4,
) -> Figure:
    """A grid: one row per hard case (first val video of that case), ``n_frames`` frames with
    the annotation overlaid. ``root_or_videos``: a ``gsfm synth`` folder, a list of
    :class:`gsfm.data.synthetic.SyntheticVideo`, or None (generate the val videos in memory).
    """
    rows = _load(root_or_videos, cases)
    if not rows:
        raise ValueError(f"no video of the cases {list(cases)} found in {root_or_videos}")
    fig, axes = plt.subplots(
        len(rows), n_frames, figsize=(2.4 * n_frames, 1.55 * len(rows)), squeeze=False
    )
    for r, (case, name, images, masks, objects) in enumerate(rows):
        t_all = len(images)
        first = min(
            (int(o["first_frame"]) for o in objects if int(o["first_frame"]) > 0), default=0
        )
        if case == "late" and first > 0:
            picks = np.linspace(max(first - 2, 0), t_all - 1, n_frames).round().astype(int)
        else:
            picks = np.linspace(0, t_all - 1, n_frames).round().astype(int)
        for c, t in enumerate(picks):
            ax = axes[r, c]
            ax.imshow(overlay(images[t], masks[t]))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"frame {t}", fontsize=7, pad=2)
        detail = ""
        if objects:
            look = sum(int(o["lookalikes"]) for o in objects)
            share = min(float(o["mean_area_share"]) for o in objects)
            detail = (
                f"  [{len(objects)} obj, {look} lookalikes, smallest {100 * share:.2f} % of frame]"
            )
        axes[r, 0].set_ylabel(case, fontsize=8)
        axes[r, 0].text(
            0.0,
            1.2,
            f"{name}: {_CAPTION.get(case, case)}{detail}",
            transform=axes[r, 0].transAxes,
            fontsize=7,
        )
    fig.suptitle(
        "synth-v1 validation: the hard cases (tinted, yellow outline = annotated objects)",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.04, right=0.99, top=0.9, bottom=0.01, hspace=0.62, wspace=0.04)
    return save_figure(fig, out_path)
