"""Whether two predictions of the same video agree: pixel share and per-object IoU
(:func:`mask_agreement`), the tolerance a faster inference path must stay within
(:data:`FAST_PATH_TOLERANCE`), and both engine settings run on a DAVIS-layout folder
(:func:`compare_on_folder`). Used by the fast-path checks (AMP, CUDA graphs, torch.compile)
in ``benchmarks/``: a faster path counts only if it gives the float32 path's masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gsfm.data.davis import DAVISEvalDataset
from gsfm.inference import InferenceEngine, InferenceSettings
from gsfm.metrics import video_jf

if TYPE_CHECKING:
    from gsfm.model import GSFMNet

__all__ = [
    "FAST_PATH_TOLERANCE",
    "AgreementTolerance",
    "MaskAgreement",
    "compare_on_folder",
    "mask_agreement",
]


@dataclass(frozen=True)
class MaskAgreement:
    """How far two predictions of the same frames agree (:func:`mask_agreement`).

    pixels: share of pixels with the same label. iou: {object id: IoU of its two masks over
    all compared frames together}. frames: frames compared.
    """

    pixels: float
    iou: dict[int, float]
    frames: int

    @property
    def iou_min(self) -> float:
        """The worst object's IoU (NaN without objects)."""
        return min(self.iou.values()) if self.iou else float("nan")

    @property
    def iou_mean(self) -> float:
        """The mean IoU over objects (NaN without objects)."""
        return float(np.mean(list(self.iou.values()))) if self.iou else float("nan")


def mask_agreement(a: Any, b: Any) -> MaskAgreement:
    """Compare two predictions (T, H, W) (or (H, W)) of object ids of the same video.

    Objects are the non-zero ids in either prediction; an object's IoU is |A ∩ B| / |A ∪ B|
    with its pixels of all frames pooled. Pass only the frames to compare (e.g. those after
    the first annotation, which both predictions copy).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"the two predictions differ in shape: {a.shape} and {b.shape}")
    if a.ndim not in (2, 3) or a.size == 0:
        raise ValueError(
            f"predictions must be non-empty (T, H, W) or (H, W) id maps, got {a.shape}"
        )
    ids = sorted((set(np.unique(a).tolist()) | set(np.unique(b).tolist())) - {0})
    iou = {}
    for k in ids:
        in_a, in_b = a == k, b == k
        iou[int(k)] = float(np.logical_and(in_a, in_b).sum() / np.logical_or(in_a, in_b).sum())
    frames = 1 if a.ndim == 2 else a.shape[0]
    return MaskAgreement(pixels=float((a == b).mean()), iou=iou, frames=frames)


@dataclass(frozen=True)
class AgreementTolerance:
    """When two settings count as giving the same masks.

    min_pixels: least share of equal pixels. max_jf_difference: largest |J&F difference| in
    J&F's own units (fractions: 0.005 = 0.5 points), checked where ground truth exists.
    """

    min_pixels: float = 0.995
    max_jf_difference: float = 0.005

    def accepts(self, agreement: MaskAgreement, jf_difference: float | None = None) -> bool:
        """Whether ``agreement`` (and the J&F difference, if known and not NaN) is within."""
        if not agreement.pixels >= self.min_pixels:
            return False
        if jf_difference is None or math.isnan(jf_difference):
            return True
        return abs(jf_difference) <= self.max_jf_difference


# The fast path (amp / compile) must give the float32 path's masks within this.
FAST_PATH_TOLERANCE = AgreementTolerance(min_pixels=0.995, max_jf_difference=0.005)


def compare_on_folder(
    model: GSFMNet,
    data_root: str | Path,
    candidate: InferenceSettings,
    reference: InferenceSettings | None = None,
    *,
    split: str = "val",
    videos: Sequence[str] | None = None,
    res: str | None = None,
    tolerance: AgreementTolerance = FAST_PATH_TOLERANCE,
) -> pd.DataFrame:
    """Segment every video of a DAVIS-layout folder with two engine settings and compare.

    ``reference`` and ``candidate`` are :class:`~gsfm.inference.InferenceSettings` (e.g. the
    default, float32, and ``InferenceSettings(amp="bf16")``). Each object is given at its first annotated frame
    (the ``"appearance"`` policy of :mod:`gsfm.prediction`). One row per video: ``video``,
    ``frames``, ``objects``, the :func:`mask_agreement` of the frames after the first
    annotation (``pixels``, ``iou_min``, ``iou_mean``), ``jf_reference``, ``jf_candidate`` and
    ``jf_difference`` (candidate − reference; NaN unless every frame has a ground-truth PNG),
    ``fps_reference``, ``fps_candidate`` and ``within_tolerance``.
    """
    data = DAVISEvalDataset(data_root, split, res=res, videos=videos)
    engines = (InferenceEngine(model, reference), InferenceEngine(model, candidate))
    rows = []
    for i in range(len(data)):
        item = data[i]
        gt, info = item["masks"].numpy(), item["info"]
        anns = {
            t: np.where(np.isin(gt[t], ids), gt[t], 0).astype(np.uint8)
            for t, ids in sorted(info["gt_obj"].items())
        }
        ref, cand = (engine.propagate(item["rgb"], anns) for engine in engines)
        start = min(anns) + 1
        agreement = (
            mask_agreement(ref.masks[start:], cand.masks[start:]) if start < len(gt) else None
        )
        full_gt = bool(item["annotated"].all())
        jf_ref = video_jf(gt, ref.masks) if full_gt else float("nan")
        jf_cand = video_jf(gt, cand.masks) if full_gt else float("nan")
        rows.append(
            {
                "video": info["name"],
                "frames": len(gt),
                "objects": len(info["labels"]),
                "pixels": agreement.pixels if agreement else float("nan"),
                "iou_min": agreement.iou_min if agreement else float("nan"),
                "iou_mean": agreement.iou_mean if agreement else float("nan"),
                "jf_reference": jf_ref,
                "jf_candidate": jf_cand,
                "jf_difference": jf_cand - jf_ref,
                "fps_reference": ref.fps,
                "fps_candidate": cand.fps,
                "within_tolerance": agreement is None
                or tolerance.accepts(agreement, jf_cand - jf_ref),
            }
        )
    return pd.DataFrame(rows)
