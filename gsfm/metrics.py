"""DAVIS J, F and J&F, exactly as the official DAVIS 2017 toolkit computes them, vectorised.

Per object and frame (``docs/evaluation.md`` §1):

* :func:`jaccard`: J = |P & G| / |P | G|, and 1 when both masks are empty.
* :func:`f_measure`: the boundary F-score. Boundaries come from :func:`boundary_map` (a pixel
  differs from its east, south or south-east neighbour; one pixel wide; the image border is not
  a contour); each boundary is dilated with a disk of radius ``ceil(bound_th * diagonal)``
  (8 px at 480x854); precision = |Bp & dil(Bg)| / |Bp|, recall = |Bg & dil(Bp)| / |Bg|,
  with the toolkit's rules when a boundary is empty (both empty -> F = 1, one empty -> F = 0).
* :func:`statistics`: Mean (nanmean), Recall (share of frames with value > 0.5) and Decay
  (mean of the first quarter minus mean of the last quarter, bins with shared edges).

**Decay fix.** The toolkit casts the Decay bin edges to ``uint8``; with 256 or more evaluated
frames the edges wrap around and Decay becomes wrong (NaN at exactly 256 frames under NumPy 2).
:func:`statistics` keeps the edges in int64, which gives the same value as the toolkit below 256
frames and the intended value above (``statistics(..., uint8_edges=True)`` reproduces the bug).

Folders (:func:`score_folders`, used by ``python -m gsfm score``): ground truth and predictions
are palette PNGs ``<root>/<video>/<frame>.png``; the first and last frame of every sequence are
dropped; GT label 255 (void) counts as background; every object of every sequence is one entry
of the object-weighted dataset means; J&F = (J-Mean + F-Mean) / 2. Object sets:

* ``objects="davis"``: the official rule, ids ``1..max(first GT frame)``, all evaluated frames
  (an id missing from that range is scored as an empty object: J = F = 1 where it is not
  predicted, so ground truth with ids ``1, 3`` or ``1, 200`` is better scored with
  ``objects="appearance"``);
* ``objects="appearance"``: every id found in any GT frame; object k is scored on the frames
  after its first annotated frame (YouTube-VOS style, for objects that appear later);
* ``objects="auto"`` (default): "davis" when every GT object is in the first frame (then it is
  the official result), else "appearance".

A predicted id that the GT lacks is an error (the toolkit exits on it as well), and so is a
predicted 255: void is never predicted. A missing ground-truth frame is an error too (the
toolkit fails on it as well): a frame of the video (a JPEG under ``JPEGImages`` of a DAVIS-layout
root) or a prediction without its ground-truth PNG; ``allow_missing_gt=True`` scores the
annotated frames only and lists the skipped ones in :attr:`EvalResult.missing_gt`. In a folder, the ``.png`` files are the frames; hidden
files (``.DS_Store``, macOS ``._00000.png``), sub-folders and other files are ignored, in the
ground truth and in the predictions. Errors (``FileNotFoundError`` / ``ValueError``) name the
file or folder (:class:`gsfm.errors.MissingFileError` / :class:`gsfm.errors.DataError`, which
are ``FileNotFoundError`` / ``ValueError``): a missing folder, prediction or ground-truth frame,
an unreadable or RGB PNG, a size that differs within a sequence or from the ground truth, an
unknown predicted id.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from gsfm.data.io import read_mask
from gsfm.data.layout import list_videos, resolve_layout
from gsfm.errors import DataError, MissingFileError

__all__ = [
    "EvalResult",
    "boundary_map",
    "boundary_radius",
    "disk",
    "f_measure",
    "format_result",
    "jaccard",
    "load_sequence_masks",
    "missing_gt_error",
    "score_folders",
    "score_sequence",
    "size_buckets",
    "statistics",
    "video_jf",
]

METRIC_COLUMNS: tuple[str, ...] = (
    "J&F-Mean",
    "J-Mean",
    "J-Recall",
    "J-Decay",
    "F-Mean",
    "F-Recall",
    "F-Decay",
)


# --- per-frame measures -----------------------------------------------------------------------


def _as_bool_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred).astype(bool, copy=False)
    g = np.asarray(gt).astype(bool, copy=False)
    if p.shape != g.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground truth shape {g.shape}")
    if p.ndim < 2:
        raise ValueError(f"masks must be (..., H, W), got shape {p.shape}")
    return p, g


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float | np.ndarray:
    """Region similarity J of boolean masks ``(..., H, W)``; 1 where both are empty.

    Returns a float for 2-D input, else an array over the leading axes.
    """
    p, g = _as_bool_pair(pred, gt)
    inter = np.logical_and(p, g).sum(axis=(-2, -1), dtype=np.int64)
    union = np.logical_or(p, g).sum(axis=(-2, -1), dtype=np.int64)
    j = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(j) if j.ndim == 0 else j


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of boolean masks ``(..., H, W)`` (Martin's seg2bmap rule).

    A pixel is on the boundary if it differs from its east, south or south-east neighbour.
    In the last row only the east neighbour counts, in the last column only the south one,
    and the bottom-right pixel is never a boundary. The image border is not a contour.
    """
    m = np.asarray(mask).astype(bool, copy=False)
    b = np.zeros_like(m)
    # interior: compare with east, south and south-east
    core = m[..., :-1, :-1]
    b[..., :-1, :-1] = (core ^ m[..., :-1, 1:]) | (core ^ m[..., 1:, :-1]) | (core ^ m[..., 1:, 1:])
    # last row: east only; last column: south only; bottom-right corner: 0
    b[..., -1, :-1] = m[..., -1, :-1] ^ m[..., -1, 1:]
    b[..., :-1, -1] = m[..., :-1, -1] ^ m[..., 1:, -1]
    b[..., -1, -1] = False
    return b


def boundary_radius(shape: Sequence[int], bound_th: float = 0.008) -> int:
    """Dilation radius in pixels: ``bound_th`` itself if >= 1, else ceil(bound_th * diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    h, w = int(shape[-2]), int(shape[-1])
    return int(math.ceil(bound_th * math.hypot(h, w)))


def disk(radius: int) -> np.ndarray:
    """Disk structuring element: offsets with dx^2 + dy^2 <= r^2, as uint8 ``(2r+1, 2r+1)``."""
    r = int(radius)
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return (x * x + y * y <= r * r).astype(np.uint8)


def _dilated_hits(bp: np.ndarray, bg: np.ndarray, kernel: np.ndarray, r: int) -> tuple[int, int]:
    """``(|bp & dil(bg)|, |bg & dil(bp)|)`` for 2-D bool maps, dilating only the box that
    holds both boundaries plus the radius (the rest of the frame cannot contribute)."""
    union = bp | bg
    rows = np.flatnonzero(union.any(axis=1))
    cols = np.flatnonzero(union.any(axis=0))
    h, w = bp.shape
    y0, y1 = max(int(rows[0]) - r, 0), min(int(rows[-1]) + r + 1, h)
    x0, x1 = max(int(cols[0]) - r, 0), min(int(cols[-1]) + r + 1, w)
    p = np.ascontiguousarray(bp[y0:y1, x0:x1])
    g = np.ascontiguousarray(bg[y0:y1, x0:x1])
    dil_g = cv2.dilate(g.view(np.uint8), kernel)
    dil_p = cv2.dilate(p.view(np.uint8), kernel)
    return int(np.count_nonzero(p & (dil_g > 0))), int(np.count_nonzero(g & (dil_p > 0)))


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float | np.ndarray:
    """Contour accuracy F of boolean masks ``(..., H, W)`` (DAVIS rules, see module doc)."""
    p, g = _as_bool_pair(pred, gt)
    shape = p.shape
    bp = boundary_map(p).reshape(-1, shape[-2], shape[-1])
    bg = boundary_map(g).reshape(-1, shape[-2], shape[-1])
    n_p = bp.sum(axis=(1, 2), dtype=np.int64)
    n_g = bg.sum(axis=(1, 2), dtype=np.int64)
    r = boundary_radius(shape, bound_th)
    kernel = disk(r)
    f = np.zeros(len(n_p), dtype=np.float64)
    f[(n_p == 0) & (n_g == 0)] = 1.0  # both boundaries empty: P = R = 1
    for i in np.nonzero((n_p > 0) & (n_g > 0))[0]:
        hits_p, hits_g = _dilated_hits(bp[i], bg[i], kernel, r)
        precision = hits_p / n_p[i]
        recall = hits_g / n_g[i]
        if precision + recall > 0:
            f[i] = 2 * precision * recall / (precision + recall)
    f = f.reshape(shape[:-2])
    return float(f) if f.ndim == 0 else f


def statistics(
    values: Sequence[float] | np.ndarray, n_bins: int = 4, uint8_edges: bool = False
) -> tuple[float, float, float]:
    """``(mean, recall, decay)`` of per-frame values, as the DAVIS toolkit computes them.

    Recall is the share of frames with value > 0.5 (strictly). Decay: the frame indices are cut
    at ``round(linspace(1, T, n_bins + 1) + 1e-10) - 1`` (halves round up); each bin includes its
    right edge; decay = mean(first bin) - mean(last bin). The edges are int64 here (the toolkit's
    uint8 cast breaks for T >= 256; ``uint8_edges=True`` reproduces it for comparison).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return math.nan, math.nan, math.nan
    with np.errstate(invalid="ignore"):
        mean = float(np.nanmean(v)) if np.any(~np.isnan(v)) else math.nan
        recall = float(np.nanmean(v > 0.5))
    edges = np.round(np.linspace(1, len(v), n_bins + 1) + 1e-10) - 1
    edges = edges.astype(np.uint8) if uint8_edges else edges.astype(np.int64)
    with np.errstate(over="ignore"):  # only the uint8 emulation can overflow
        bins = [v[edges[i] : edges[i + 1] + 1] for i in range(n_bins)]
    first, last = bins[0], bins[-1]
    if first.size == 0 or last.size == 0 or np.all(np.isnan(first)) or np.all(np.isnan(last)):
        decay = math.nan
    else:
        decay = float(np.nanmean(first) - np.nanmean(last))
    return mean, recall, decay


# --- sequences and folders ---------------------------------------------------------------------


def load_sequence_masks(
    folder: Path, frames: Sequence[str], what: str = "annotation"
) -> np.ndarray:
    """Stack ``folder/<frame>`` id maps into ``(T, H, W)`` uint8; errors name the file (as
    ``what``: "annotation" for ground truth, "prediction")."""
    out: np.ndarray | None = None
    first_path: Path | None = None
    for t, name in enumerate(frames):
        path = folder / name
        if not path.is_file():
            raise MissingFileError(f"missing {what}: {path}", path)
        m = read_mask(path, what)
        if out is None:
            out = np.empty((len(frames), *m.shape), dtype=np.uint8)
            first_path = path
        elif m.shape != out.shape[1:]:
            raise DataError(
                f"{what} {path} is {m.shape[1]}x{m.shape[0]} but {first_path} is "
                f"{out.shape[2]}x{out.shape[1]}: all frames of a sequence must have one size",
                path,
            )
        out[t] = m
    if out is None:
        raise DataError(f"no frames to read in {folder}", folder)
    return out


@dataclass
class ObjectScore:
    """Per-frame J and F of one object, and the frames they belong to."""

    object_id: int
    frames: list[int]
    j: np.ndarray
    f: np.ndarray
    first_frame: int
    area_share: float  # mean GT area / frame area over evaluated frames where it is visible
    first_area_share: float  # GT area / frame area in its first annotated frame


def score_sequence(
    gt: np.ndarray,
    pred: np.ndarray,
    objects: str = "auto",
    skip_first_last: bool = True,
    bound_th: float = 0.008,
    name: str = "sequence",
    frame_names: Sequence[str] | None = None,
    binary: bool = False,
) -> list[ObjectScore]:
    """Score one sequence of id maps ``(T, H, W)``; see the module doc for ``objects``.

    ``frame_names`` (one per frame, e.g. the prediction files) name the offending frame in
    errors. ``binary=True`` is DAVIS 2016's single-object task: every non-zero pixel of the
    GT (its masks are 0/255) and of the prediction is the one object, id 1.
    """
    if gt.shape != pred.shape:
        raise ValueError(f"{name}: prediction shape {pred.shape} differs from GT {gt.shape}")
    if binary:
        gt, pred = (gt != 0).astype(np.uint8), (pred != 0).astype(np.uint8)
    gt = np.where(gt == 255, 0, gt)  # void counts as background (semi-supervised)
    t_all = gt.shape[0]
    lo, hi = (1, t_all - 1) if skip_first_last else (0, t_all)
    present = [
        set(np.flatnonzero(np.bincount(gt[t].ravel(), minlength=256)).tolist()) - {0}
        for t in range(t_all)
    ]
    all_ids = sorted(set().union(*present))
    if objects == "auto":
        objects = "davis" if set(all_ids) <= present[0] else "appearance"
    if objects == "davis":
        n = int(gt[0].max())
        ids = list(range(1, n + 1))
        first = dict.fromkeys(ids, 0)
    elif objects == "appearance":
        ids = all_ids
        first = {k: next(t for t in range(t_all) if k in present[t]) for k in ids}
    else:
        raise ValueError(f"objects must be 'auto', 'davis' or 'appearance', got {objects!r}")
    pred_ids = set(np.flatnonzero(np.bincount(pred[lo:hi].ravel(), minlength=256)).tolist()) - {0}
    extra = sorted(pred_ids - set(ids))
    if extra:
        t_bad = next(t for t in range(lo, hi) if np.isin(pred[t], extra).any())
        where = f"frame {t_bad}" if frame_names is None else str(frame_names[t_bad])
        raise ValueError(
            f"{name}: prediction uses object id(s) {extra} that the ground truth lacks "
            f"(first in {where})"
        )
    area = float(gt.shape[1] * gt.shape[2])
    scores: list[ObjectScore] = []
    for k in ids:
        start = max(lo, first[k] + 1) if objects == "appearance" else lo
        frames = list(range(start, hi))
        if not frames:
            continue
        g = gt[start:hi] == k
        p = pred[start:hi] == k
        sizes = g.sum(axis=(1, 2))
        vis = sizes[sizes > 0]
        scores.append(
            ObjectScore(
                object_id=k,
                frames=frames,
                j=np.asarray(jaccard(p, g), dtype=np.float64).reshape(-1),
                f=np.asarray(f_measure(p, g, bound_th), dtype=np.float64).reshape(-1),
                first_frame=first[k],
                area_share=float(vis.mean() / area) if vis.size else 0.0,
                first_area_share=float((gt[first[k]] == k).sum() / area),
            )
        )
    return scores


def video_jf(gt: np.ndarray, pred: np.ndarray) -> float:
    """J&F of one video from its (T, H, W) id maps: the mean over its objects of
    (mean J + mean F) / 2, the DAVIS rules (:func:`score_sequence`); NaN without objects."""
    scores = score_sequence(gt, pred)
    if not scores:
        return float("nan")
    return float(np.mean([(np.nanmean(s.j) + np.nanmean(s.f)) / 2 for s in scores]))


@dataclass
class EvalResult:
    """Scores of a folder of predictions.

    ``per_object``: one row per (sequence, object) with J/F Mean, Recall, Decay, J&F-Mean,
    first annotated frame and area shares; ``per_sequence``: object means per sequence;
    ``global_scores``: object-weighted dataset means (one row); ``per_frame``: long table of
    (sequence, object, frame, J, F); ``missing_gt``: the ground-truth PNGs that were missing
    and whose frames were skipped (only with ``allow_missing_gt=True``; else that is an error).
    """

    per_object: pd.DataFrame
    per_sequence: pd.DataFrame
    global_scores: pd.DataFrame
    per_frame: pd.DataFrame = field(repr=False)
    missing_gt: list[str] = field(default_factory=list)

    @property
    def jf(self) -> float:
        """Global J&F-Mean in [0, 1]."""
        return float(self.global_scores["J&F-Mean"].iloc[0])


def _resolve_roots(root: Path, res: str | None) -> tuple[Path | None, Path]:
    """``(image root or None, annotation root)`` of a DAVIS-layout root or a folder of videos."""
    if not root.is_dir():
        raise MissingFileError(f"folder not found: {root}", root)
    if (root / "Annotations").is_dir():
        return resolve_layout(root, res)
    return None, root


def _stems(folder: Path | None, extensions: tuple[str, ...]) -> set[str]:
    """Stems of the (non-hidden) files of ``folder`` with one of ``extensions``."""
    if folder is None or not folder.is_dir():
        return set()
    return {
        f.stem
        for f in folder.iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in extensions
    }


def missing_gt_error(video: str, missing: Sequence[Path]) -> MissingFileError:
    """The one error for ground-truth PNGs ``missing`` from ``video`` (scoring without them
    would change the scores without a word)."""
    more = f" (and {len(missing) - 1} more frames)" if len(missing) > 1 else ""
    return MissingFileError(
        f"ground truth missing for video {video!r}, frame {missing[0].stem}: {missing[0]} does "
        f"not exist{more}; scoring without it would change the scores silently (pass "
        "--allow-missing-gt to score the annotated frames only)",
        missing[0],
    )


def _missing_gt(seq: str, gdir: Path, names: list[str], others: set[str]) -> list[Path]:
    """Ground-truth PNGs of ``seq`` that a frame or a prediction (``others``: stems) lacks."""
    have = {Path(n).stem for n in names}
    return [gdir / f"{s}.png" for s in sorted(others - have)]


def score_folders(
    gt_root: str | os.PathLike[str],
    pred_root: str | os.PathLike[str],
    sequences: Sequence[str] | None = None,
    objects: str = "auto",
    skip_first_last: bool = True,
    bound_th: float = 0.008,
    res: str | None = None,
    progress: bool = False,
    binary: bool = False,
    allow_missing_gt: bool = False,
) -> EvalResult:
    """Score ``pred_root/<video>/<frame>.png`` against the GT (DAVIS semi-supervised rules).

    ``gt_root`` is a folder of video folders of PNGs, or a DAVIS-layout root (its
    ``Annotations/<res>`` is used). ``sequences`` defaults to every GT video; each must have a
    prediction folder holding a PNG for every GT frame. ``binary=True``: DAVIS 2016, one object
    per video, any non-zero pixel (GT 255, or any predicted id) belongs to it.

    Every frame (JPEG of a DAVIS-layout root) and every prediction needs its ground-truth PNG:
    one missing is a :class:`~gsfm.errors.MissingFileError` naming the video and the frame.
    ``allow_missing_gt=True`` scores the frames that have ground truth and lists the skipped
    PNGs in :attr:`EvalResult.missing_gt` (the first and last *annotated* frames are dropped).
    """
    img_dir, gt_dir = _resolve_roots(Path(gt_root), res)
    pred_dir = Path(pred_root)
    if not pred_dir.is_dir():
        raise MissingFileError(f"prediction folder not found: {pred_dir}", pred_dir)
    if sequences is None:
        sequences = list_videos(gt_dir)
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"no sequences to score in {gt_dir}")
    obj_rows, frame_rows = [], []
    skipped: list[str] = []
    iterator = sequences
    if progress:
        iterator = tqdm(sequences, desc="scoring", unit="video")
    for seq in iterator:
        gdir, pdir = gt_dir / seq, pred_dir / seq
        if not gdir.is_dir():
            raise MissingFileError(f"ground-truth video folder not found: {gdir}", gdir)
        names = sorted(
            f.name
            for f in gdir.iterdir()
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() == ".png"
        )
        if not names:
            raise DataError(f"ground-truth folder {gdir} holds no PNG annotations", gdir)
        if not pdir.is_dir():
            raise MissingFileError(f"prediction folder for video {seq!r} not found: {pdir}", pdir)
        others = _stems(None if img_dir is None else img_dir / seq, (".jpg", ".jpeg"))
        missing = _missing_gt(seq, gdir, names, others | _stems(pdir, (".png",)))
        if missing and not allow_missing_gt:
            raise missing_gt_error(seq, missing)
        skipped += [str(p) for p in missing]
        gt = load_sequence_masks(gdir, names)
        pred = load_sequence_masks(pdir, names, "prediction")
        if pred.shape != gt.shape:
            raise DataError(
                f"prediction {pdir / names[0]} is {pred.shape[2]}x{pred.shape[1]} but the "
                f"ground truth {gdir / names[0]} is {gt.shape[2]}x{gt.shape[1]}",
                pdir / names[0],
            )
        scores = score_sequence(
            gt,
            pred,
            objects,
            skip_first_last,
            bound_th,
            name=seq,
            frame_names=[str(pdir / n) for n in names],
            binary=binary,
        )
        for s in scores:
            jm, jr, jd = statistics(s.j)
            fm, fr, fd = statistics(s.f)
            obj_rows.append(
                {
                    "sequence": seq,
                    "object": s.object_id,
                    "J&F-Mean": (jm + fm) / 2,
                    "J-Mean": jm,
                    "J-Recall": jr,
                    "J-Decay": jd,
                    "F-Mean": fm,
                    "F-Recall": fr,
                    "F-Decay": fd,
                    "n_frames": len(s.frames),
                    "first_frame": s.first_frame,
                    "area_share": s.area_share,
                    "first_area_share": s.first_area_share,
                }
            )
            for t, jv, fv in zip(s.frames, s.j, s.f, strict=True):
                frame_rows.append(
                    {"sequence": seq, "object": s.object_id, "frame": t, "J": jv, "F": fv}
                )
    per_object = pd.DataFrame(obj_rows)
    if per_object.empty:
        raise ValueError(f"no object could be scored in {gt_dir} (sequences too short?)")
    per_sequence = (
        per_object.groupby("sequence", sort=False)[list(METRIC_COLUMNS)].mean().reset_index()
    )
    glob = per_object[list(METRIC_COLUMNS[1:])].mean()
    glob["J&F-Mean"] = (glob["J-Mean"] + glob["F-Mean"]) / 2
    global_scores = pd.DataFrame([glob[list(METRIC_COLUMNS)]])
    global_scores["n_objects"] = len(per_object)
    global_scores["n_sequences"] = len(sequences)
    return EvalResult(
        per_object, per_sequence, global_scores, pd.DataFrame(frame_rows), missing_gt=skipped
    )


def size_buckets(
    per_object: pd.DataFrame,
    thresholds: Sequence[float] = (0.05, 0.01, 0.005),
    column: str = "area_share",
) -> pd.DataFrame:
    """The paper's Table 6: scores of objects whose area is below 5 %, 1 % and 0.5 % of the frame.

    The paper does not define "area"; by default it is the object's mean GT area over the
    evaluated frames where it is visible (``first_area_share``: its first annotated frame).
    Buckets are nested (every object below 1 % is also below 5 %).
    """
    if column not in per_object.columns:
        raise ValueError(f"per_object table has no column {column!r}")
    rows = []
    for th in [None, *thresholds]:
        sel = per_object if th is None else per_object[per_object[column] < th]
        row: dict[str, object] = {
            "bucket": "all" if th is None else f"< {100 * th:g}%",
            "n_objects": len(sel),
        }
        for c in ("J&F-Mean", "J-Mean", "F-Mean"):
            row[c] = float(sel[c].mean()) if len(sel) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def format_result(result: EvalResult, per_object: bool = True) -> str:
    """A printable table (values x 100, as papers report them)."""
    lines = []
    g = result.global_scores.iloc[0]
    lines.append(
        "Global (object-weighted, x100): "
        + "  ".join(f"{c} {100 * g[c]:.2f}" for c in METRIC_COLUMNS)
        + f"  ({int(g['n_objects'])} objects, {int(g['n_sequences'])} sequences)"
    )
    if per_object:
        table = result.per_object[["sequence", "object", *METRIC_COLUMNS]].copy()
        for c in METRIC_COLUMNS:
            table[c] = (100 * table[c]).round(2)
        lines.append(table.to_string(index=False))
    return "\n".join(lines)
