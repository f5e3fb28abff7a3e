"""Trivial predictions, to calibrate a benchmark: what scores without any model.

* ``empty``: every frame all background.
* ``copy-first``: each object's first annotation copied to every later frame (the scene
  frozen at its first annotation). If motion did not matter, this would score high.

Both read ground truth in the DAVIS layout (``root/<video>/<frame>.png`` or a DAVIS root)
and write palette PNGs with the same names into ``out/<video>/``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gsfm.data.io import write_mask
from gsfm.data.layout import list_videos, resolve_layout
from gsfm.metrics import load_sequence_masks

__all__ = ["BASELINES", "write_baseline"]

BASELINES: tuple[str, ...] = ("empty", "copy-first")


def write_baseline(
    gt_root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    kind: str = "copy-first",
    sequences: Sequence[str] | None = None,
    res: str | None = None,
) -> Path:
    """Write the ``kind`` baseline's predictions for every GT video into ``out``."""
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}; choose one of {BASELINES}")
    gt_dir = Path(gt_root)
    if (gt_dir / "Annotations").is_dir():
        gt_dir = resolve_layout(gt_dir, res)[1]
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"ground-truth folder not found: {gt_dir}")
    out = Path(out)
    for seq in sequences if sequences is not None else list_videos(gt_dir):
        names = sorted(p.name for p in (gt_dir / seq).glob("*.png"))
        if not names:
            raise ValueError(f"ground-truth folder {gt_dir / seq} holds no PNG annotations")
        gt = load_sequence_masks(gt_dir / seq, names)
        gt = np.where(gt == 255, 0, gt)
        pred = np.zeros_like(gt)
        if kind == "copy-first":
            for k in sorted(set(np.unique(gt).tolist()) - {0}):
                first = int(np.argmax((gt == k).any(axis=(1, 2))))
                pred[first:][:, gt[first] == k] = k
        for name, m in zip(names, pred, strict=True):
            write_mask(out / seq / name, m)
    return out
