"""Whole videos: :func:`generate_video` samples, renders and annotates video ``i`` of a split.

Video ``i`` of a split is a pure function of ``(version, split, seed, i)``: attempt ``a`` draws
its scene from a numpy ``Generator`` seeded with ``(version_seed, split, seed, i, a)``, and the
first attempt whose annotations pass the first-annotation rule (:func:`_annotate`) is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gsfm.data.synthetic.render import render_frames
from gsfm.data.synthetic.sampling import sample_video
from gsfm.data.synthetic.spec import (
    _SPLIT_CODE,
    KEY_CELL,
    SynthVersion,
    VideoSpec,
    _case_of,
    _split_size,
    _video_name,
    get_version,
)
from gsfm.data.synthetic.textures import PHOTO_NAMES

__all__ = ["SyntheticVideo", "generate_video", "object_table"]


@dataclass
class SyntheticVideo:
    """A generated video: frames, annotations (first-annotation rule applied) and metadata."""

    spec: VideoSpec
    images: np.ndarray  # (T, H, W, 3) uint8
    masks: np.ndarray  # (T, H, W) uint8 object ids
    objects: list[dict[str, Any]]  # one metadata row per annotated object


def _annotate(
    spec: VideoSpec, labels: np.ndarray, full: np.ndarray, v: SynthVersion
) -> tuple[np.ndarray, list[dict[str, Any]]] | None:
    """Apply the first-annotation rule and build metadata; None if the video is unusable."""
    t_all, h, w = labels.shape
    min_px = max(4, round(v.first_min_px * (h / 160.0) ** 2))
    masks = labels.copy()
    rows: list[dict[str, Any]] = []
    for oi, o in enumerate(spec.objects):
        if o.role != "target":
            continue
        area = (labels == o.label).reshape(t_all, -1).sum(1)
        nz = area[area > 0]
        if nz.size == 0:
            return None
        thresh = max(min_px, v.first_min_share * float(np.median(nz)))
        ok = np.nonzero(area >= thresh)[0]
        if ok.size == 0:
            return None
        first = int(ok[0])
        if first > t_all - 4:
            return None  # too late to be evaluated on a few frames
        masks[:first][masks[:first] == o.label] = 0
        area = (masks == o.label).reshape(t_all, -1).sum(1)
        after = area[first + 1 : t_all - 1]
        if np.count_nonzero(after) < 2:
            return None
        vis = area[area > 0]
        share = vis / float(h * w)
        occl = [1.0 - area[t] / full[t, oi] for t in range(first, t_all) if full[t, oi] > 0]
        rows.append(
            {
                "video": spec.name,
                "object_id": o.label,
                "case": spec.case,
                "shape": o.shape.kind,
                "texture": (
                    PHOTO_NAMES[o.texture]
                    if o.texture < len(PHOTO_NAMES)
                    else f"procedural_{o.texture - len(PHOTO_NAMES)}"
                ),
                "first_frame": first,
                "n_frames": t_all,
                "lookalikes": sum(
                    1 for x in spec.objects if x.role == "lookalike" and x.imitates == o.label
                ),
                "mean_area_share": float(share.mean()),
                "min_area_share": float(share.min()),
                "small": bool(share.mean() < 0.01),
                "tiny": bool(share.mean() < 0.005),
                "thin": o.shape.kind in ("thin", "ring", "horse"),
                "late": first > 0,
                "leaves": bool(np.any(area[first:] == 0)),
                "max_occlusion": float(max(occl)) if occl else 0.0,
                "area_per_frame": ";".join(str(int(a)) for a in area),
            }
        )
    if not rows or rows[0]["object_id"] != 1 or rows[0]["first_frame"] != 0:
        return None
    if not _sizes_allowed(masks, rows, v):
        return None
    return masks, rows


def _sizes_allowed(masks: np.ndarray, rows: list[dict[str, Any]], v: SynthVersion) -> bool:
    """Whether every target meets the version's object rule (``min_key_cells``,
    ``area_share``; v1 has none): at least that many key cells visible in every frame from
    its first annotation on, and a mean visible share of the frame inside the range. Cells
    are counted at the version's own frame size, so the rule keeps the same scenes when a
    split is rendered at another size (a smaller one, for tests, has objects under a cell)."""
    if v.min_key_cells <= 0 and v.area_share == (0.0, 1.0):
        return True
    t_all, h, w = masks.shape
    min_px = v.min_key_cells * KEY_CELL**2 * (h * w) / (v.height * v.width)
    low, high = v.area_share
    for row in rows:
        area = (masks[row["first_frame"] :] == row["object_id"]).reshape(-1, h * w).sum(1)
        if area.min() < min_px or not low <= area.mean() / (h * w) < high:
            return False
    return True


def _video_rng(
    v: SynthVersion, split: str, seed: int, index: int, attempt: int
) -> np.random.Generator:
    """The generator of attempt ``attempt`` at video ``index`` of ``split``."""
    return np.random.default_rng(
        [v.version_seed, _SPLIT_CODE[split], int(seed), int(index), attempt]
    )


def generate_video(
    split: str = "val",
    index: int = 0,
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
) -> SyntheticVideo:
    """Generate video ``index`` of ``split`` (deterministic in all arguments).

    ``height``/``width`` default to the version's size; the ``paper`` profile may ask for
    e.g. 480x854 (the scene is the same, rendered at a higher resolution, but the first
    annotation rule is re-applied at that size).
    """
    v = get_version(version)
    n_videos, n_frames = _split_size(v, split)
    if not 0 <= index < n_videos:
        raise ValueError(
            f"video index {index} out of range for split {split!r} (0..{n_videos - 1})"
        )
    h = int(height or v.height)
    w = int(width or v.width)
    if h < 16 or w < 16:
        raise ValueError(f"frame size {h}x{w} is too small (at least 16x16)")
    case = _case_of(v, split, index)
    name = _video_name(v, split, index)
    for attempt in range(v.max_attempts):
        rng = _video_rng(v, split, seed, index, attempt)
        spec = sample_video(rng, v, case, n_frames, v.width / v.height, name)
        images, labels, full = render_frames(spec, range(n_frames), h, w, v.canonical)
        res = _annotate(spec, labels, full, v)
        if res is not None:
            return SyntheticVideo(spec, images, res[0], res[1])
    raise RuntimeError(f"could not generate a valid video {name} in {v.max_attempts} attempts")


def object_table(videos: Sequence[SyntheticVideo]) -> pd.DataFrame:
    """Per-object metadata of ``videos`` (the table written as ``objects_<split>.csv``)."""
    return pd.DataFrame([row for vid in videos for row in vid.objects])
