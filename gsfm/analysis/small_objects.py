"""The paper's Fig. 7 on our data: the smallest annotated objects, cropped and enlarged, with
the ground truth and each model's prediction.

Which objects are shown is decided by a rule: the ``n`` smallest objects by mean area (the
``area`` column of the ablation's per-object table, a fraction of the frame), one per video,
optionally followed by the smallest objects that tell the models apart (not
``model_independent``: see :func:`gsfm.ablation.small_split.model_independent`). For each, the
frame is the middle one of the frames after its first annotation (the one given to the models)
where the object is annotated and at least one method's mask marks it; when no method ever
marks it, the middle annotated frame, and the crop says so. The crop is the object's box grown
``context`` times around its centre (at least ``min_side`` pixels), enlarged without
interpolation so that single pixels stay visible; each mask shows that object only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gsfm.data.io import list_frames, read_image, read_mask
from gsfm.data.layout import resolve_layout

__all__ = ["ObjectCrop", "object_crops", "smallest_objects"]


@dataclass(frozen=True)
class ObjectCrop:
    """One small object: the whole frame, the crop box, and the enlarged crops of the image
    and of every mask (``"GT"`` first, then one per method; object ids)."""

    sequence: str
    object: int
    area: float  # mean share of the frame over the frames where it is annotated
    frame: str  # the frame's file stem
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 in the frame
    image: np.ndarray  # the whole frame (H, W, 3) uint8
    crop: np.ndarray  # enlarged crop of the frame
    masks: dict[str, np.ndarray]  # enlarged crops of the masks, this object's pixels only
    marked_by: tuple[str, ...] = ()  # the methods whose mask marks the object in this frame
    ever_marked: bool = True  # whether any method marks it in any frame after its first


def smallest_objects(objects: pd.DataFrame, n: int = 4, informative: int = 0) -> pd.DataFrame:
    """The ``n`` smallest objects of a per-object table, at most one per video: columns
    ``split, sequence, object, area`` (the mean over the rows of that object), smallest first;
    then the ``informative`` smallest of the other videos' objects that are not
    ``model_independent`` (a column the table must have then), flagged in ``informative``."""
    if n < 1 or informative < 0:
        raise ValueError(f"n must be >= 1 and informative >= 0, got {n}, {informative}")
    missing = {"split", "sequence", "object", "area"} - set(objects.columns)
    if informative and "model_independent" not in objects.columns:
        missing.add("model_independent")
    if missing:
        raise ValueError(f"the per-object table lacks the column(s) {sorted(missing)}")
    keys = ["split", "sequence", "object"]
    mean = objects.groupby(keys, as_index=False)["area"].mean()
    mean = mean.sort_values(["area", "sequence", "object"], kind="stable")
    picks = mean.drop_duplicates("sequence").head(n).assign(informative=False)
    if informative:
        flag = objects.groupby(keys)["model_independent"].agg(lambda f: f.astype(bool).all())
        rest = mean[~mean["sequence"].isin(picks["sequence"])]
        rest = rest[~rest.set_index(keys).index.map(flag).to_numpy(dtype=bool)]
        more = rest.drop_duplicates("sequence").head(informative).assign(informative=True)
        picks = pd.concat([picks, more], ignore_index=True)
    return picks.reset_index(drop=True)


def _box(mask: np.ndarray, context: float, min_side: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    cy, cx = (ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2
    side = max(min_side, context * max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1))
    h, w = mask.shape
    side = int(min(side, h, w))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    return y0, y0 + side, x0, x0 + side


def _enlarge(a: np.ndarray, size: int) -> np.ndarray:
    k = max(1, size // a.shape[0])
    out = np.repeat(np.repeat(a, k, axis=0), k, axis=1)
    return out


def _marking(
    pred_dirs: Mapping[str, str | os.PathLike[str]], seq: str, stem: str, obj: int
) -> tuple[str, ...]:
    """The methods whose predicted mask of frame ``stem`` of ``seq`` marks object ``obj``."""
    return tuple(
        method
        for method, folder in pred_dirs.items()
        if (Path(folder) / seq / f"{stem}.png").is_file()
        and (read_mask(Path(folder) / seq / f"{stem}.png") == obj).any()
    )


def object_crops(
    val_root: str | os.PathLike[str],
    pred_dirs: Mapping[str, str | os.PathLike[str]],
    picks: pd.DataFrame,
    *,
    context: float = 4.0,
    min_side: int = 24,
    size: int = 144,
) -> list[ObjectCrop]:
    """Crops of every object in ``picks`` (rows of :func:`smallest_objects`) from the
    validation folder ``val_root`` and the prediction folders ``pred_dirs`` ({method: folder}
    of palette PNGs, as :func:`gsfm.experiments.evaluated_run` writes them)."""
    img_root, ann_root = resolve_layout(val_root)
    out = []
    for row in picks.itertuples(index=False):
        seq, obj = str(row.sequence), int(row.object)
        stems = [Path(f).stem for f in list_frames(ann_root / seq, (".png",))]
        present = [s for s in stems if (read_mask(ann_root / seq / f"{s}.png") == obj).any()]
        if not present:
            raise ValueError(f"object {obj} is never annotated in {ann_root / seq}")
        later = present[1:] or present  # the first annotation is the models' input
        marked = [s for s in later if _marking(pred_dirs, seq, s, obj)]
        stem = (marked or later)[len(marked or later) // 2]
        image = read_image(img_root / seq / f"{stem}.jpg")
        gt = read_mask(ann_root / seq / f"{stem}.png")
        y0, y1, x0, x1 = _box(gt == obj, context, min_side)
        masks = {"GT": gt}
        for method, folder in pred_dirs.items():
            masks[method] = read_mask(Path(folder) / seq / f"{stem}.png")
        out.append(
            ObjectCrop(
                seq,
                obj,
                float(row.area),
                stem,
                (y0, y1, x0, x1),
                image,
                _enlarge(image[y0:y1, x0:x1], size),
                {
                    k: _enlarge(np.where(m == obj, m, 0)[y0:y1, x0:x1], size)
                    for k, m in masks.items()
                },
                _marking(pred_dirs, seq, stem, obj),
                bool(marked),
            )  # fmt: skip
        )
    return out
