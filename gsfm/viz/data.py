"""Figures about the data: the synthetic benchmark's hard cases with mask overlays."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gsfm.data.davis import DAVISEvalDataset
from gsfm.data.io import DAVIS_PALETTE
from gsfm.data.synthetic import CASES, generate_video
from gsfm.metrics import boundary_map
from gsfm.viz.figures import save_figure

__all__ = ["overlay", "plot_benchmark_examples", "small_object_boxes"]

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
            for case in cases:
                vid = generate_video("val", CASES.index(case))
                out.append((case, vid.spec.name, vid.images, vid.masks, vid.objects))
            return out
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


Box = tuple[int, int, int, int]  # (y0, y1, x0, x1), end-exclusive


def small_object_boxes(
    mask: np.ndarray,
    below: float = 0.01,
    margin: float = 0.5,
    min_side: int = 16,
    max_height: float = 0.2,
    limit: int = 2,
) -> list[Box]:
    """Zoom windows ``(y0, y1, x0, x1)`` around the small objects of ``mask`` (H, W).

    An object is small when it covers less than ``below`` of the frame. Its window is its
    bounding box grown by ``margin`` of its size on every side (at least ``min_side`` pixels
    tall, or ``max_height`` of the frame if that is less), with the frame's aspect ratio, inside the frame. A window taller than ``max_height``
    of the frame is dropped: an inset could not magnify it (the object is spread out, e.g.
    mostly hidden by an occluder). Two overlapping windows are merged when the union still
    fits. At most ``limit`` windows, smallest objects first.
    """
    h, w = mask.shape
    min_side = min(min_side, int(max_height * h))  # small frames: still a window that fits
    ids, counts = np.unique(mask[(mask > 0) & (mask < 255)], return_counts=True)
    boxes: list[Box] = []
    for i in np.argsort(counts, kind="stable"):
        if counts[i] >= below * h * w or len(boxes) >= limit:
            break
        ys, xs = np.nonzero(mask == ids[i])
        box = _window(h, w, ys.min(), ys.max() + 1, xs.min(), xs.max() + 1, margin, min_side)
        if box[1] - box[0] > max_height * h:
            continue
        for j, other in enumerate(boxes):
            union = _window(
                h, w, min(box[0], other[0]), max(box[1], other[1]),
                min(box[2], other[2]), max(box[3], other[3]), 0.0, min_side,
            )  # fmt: skip
            if _overlap(box, other) and union[1] - union[0] <= max_height * h:
                boxes[j] = union
                break
        else:
            boxes.append(box)
    return boxes


def _window(
    h: int, w: int, y0: int, y1: int, x0: int, x1: int, margin: float, min_side: int
) -> Box:
    """The box y0:y1, x0:x1 grown by ``margin`` of its size per side, with the frame's aspect
    ratio (at least ``min_side`` tall), shifted inside the frame."""
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    side = max((1 + 2 * margin) * max(y1 - y0, (x1 - x0) * h / w), min_side)
    bh, bw = min(int(round(side)), h), min(int(round(side * w / h)), w)
    top = int(min(max(round(cy - bh / 2), 0), h - bh))
    left = int(min(max(round(cx - bw / 2), 0), w - bw))
    return top, top + bh, left, left + bw


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _zoom_insets(ax: object, image: np.ndarray, boxes: Sequence[Box], size: float = 0.42) -> None:
    """One inset per box, ``image`` (the panel's picture) magnified on it, each in the free
    corner farthest from its box, with the zoomed area marked on the panel."""
    h, w = image.shape[:2]
    corners = {(0, 0), (0, 1), (1, 0), (1, 1)}  # (bottom?, right?) in axes coordinates
    for y0, y1, x0, x1 in boxes:
        cy, cx = (y0 + y1) / 2 / h, (x0 + x1) / 2 / w  # 0 = top / left
        bottom, right = max(corners, key=lambda c: abs(c[0] - (1 - cy)) + abs(c[1] - cx))
        corners.discard((bottom, right))
        inset = ax.inset_axes(  # type: ignore[attr-defined]
            [
                1 - size - 0.01 if right else 0.01,
                0.01 if not bottom else 1 - size - 0.01,
                size,
                size,
            ]
        )
        inset.imshow(image, interpolation="nearest")
        inset.set_xlim(x0 - 0.5, x1 - 0.5)
        inset.set_ylim(y1 - 0.5, y0 - 0.5)
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_gid("zoom")
        for spine in inset.spines.values():
            spine.set_edgecolor("white")
            spine.set_linewidth(1.2)
        ax.indicate_inset_zoom(inset, edgecolor="white", alpha=0.9)  # type: ignore[attr-defined]


def plot_benchmark_examples(
    root_or_videos: str | os.PathLike[str] | Sequence[object] | None = None,
    out_path: str | os.PathLike[str] | None = "figures/synthetic_benchmark_examples.png",
    cases: Sequence[str] = ("lookalike", "small", "thin", "occlusion", "late", "camera", "leave"),
    n_frames: int = 4,
    zoom_below: float = 0.01,
) -> Figure:
    """A grid: one row per hard case (first val video of that case), ``n_frames`` frames with
    the annotation overlaid. ``root_or_videos``: a ``gsfm synth`` folder, a list of
    :class:`gsfm.data.synthetic.SyntheticVideo`, or None (generate the val videos in memory).

    Objects under ``zoom_below`` of the frame that an inset can magnify at least twice get one
    (:func:`small_object_boxes`, at most two per panel): such objects are a few pixels across.
    """
    rows = _load(root_or_videos, cases)
    if not rows:
        raise ValueError(f"no video of the cases {list(cases)} found in {root_or_videos}")
    height = 1.75 * len(rows) + 0.5  # inches: rows of frames, plus the title
    fig, axes = plt.subplots(len(rows), n_frames, figsize=(2.6 * n_frames, height), squeeze=False)
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
            shown = overlay(images[t], masks[t])
            ax.imshow(shown)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"frame {t}", fontsize=8, pad=2)
            _zoom_insets(ax, shown, small_object_boxes(masks[t], zoom_below))
        detail = ""
        if objects:
            look = sum(int(o["lookalikes"]) for o in objects)
            share = min(float(o["mean_area_share"]) for o in objects)
            detail = (
                f"  [{len(objects)} obj, {look} lookalikes, smallest {100 * share:.2f} % of frame]"
            )
        axes[r, 0].set_ylabel(case, fontsize=9)
        axes[r, 0].text(
            0.0,
            1.2,
            f"{name}: {_CAPTION.get(case, case)}{detail}",
            transform=axes[r, 0].transAxes,
            fontsize=8,
        )
    fig.suptitle(
        "synth-v1 validation: the hard cases (tinted, yellow outline = annotated objects; "
        "white insets: the tiniest objects, magnified)",
        fontsize=10,
    )
    top = 1 - 0.85 / height  # the title and the first row's caption keep 0.85 inch
    fig.subplots_adjust(left=0.04, right=0.99, top=top, bottom=0.01, hspace=0.62, wspace=0.04)
    return save_figure(fig, out_path)
