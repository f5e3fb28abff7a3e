"""Evaluate a trained network on a DAVIS-layout folder: inference, then the J&F table.

:func:`evaluate_checkpoint` loads a checkpoint (ours, a training checkpoint, or the authors'
STCN/GSFM weights), runs :func:`gsfm.prediction.predict_folder` (palette PNGs + timing) and
scores the predictions with :func:`gsfm.metrics.score_folders` (the DAVIS rules). It returns a
one-row DataFrame (J&F, J, F with Mean/Recall/Decay, frames, FPS, the checkpoint and its
inference settings) and writes ``global.csv``, ``per_sequence.csv`` and ``per_object.csv`` next
to the predictions. :func:`evaluate_baseline` scores the trivial predictions (``empty``,
``copy-first``) the same way, so that trained models and baselines share one table.

How the network segments (top-k, memory cadence, protocol, autocast, compilation) is one
:class:`~gsfm.inference.InferenceSettings`. Its ``protocol="davis"`` (default) runs the
authors' DAVIS inference loop, ``protocol="youtube"`` their YouTube-VOS one (frames resized
to a 480-px shorter side, memory cadence counted from the last memory frame, annotations
edited into the aggregated probabilities; see :mod:`gsfm.inference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from gsfm.baselines import write_baseline
from gsfm.checkpoint import load_state, model_from_state
from gsfm.data.checks import check_video
from gsfm.data.io import read_mask
from gsfm.data.layout import list_videos, resolve_layout
from gsfm.errors import DataError, MissingFileError
from gsfm.files import atomic_write
from gsfm.inference import InferenceSettings
from gsfm.metrics import missing_gt_error, score_folders
from gsfm.prediction import predict_folder
from gsfm.runtime import resolve_device, resolve_path

__all__ = [
    "check_inputs",
    "default_eval_dir",
    "evaluate_baseline",
    "evaluate_checkpoint",
    "evaluate_model",
]


def default_eval_dir(checkpoint: str | Path, data_root: str | Path) -> Path:
    """``<run>/eval/<data name>`` for ``<run>/checkpoints/x.pt``, else ``<x>_eval/<data name>``."""
    ckpt = Path(checkpoint)
    name = Path(data_root).resolve().name or "data"
    if ckpt.parent.name == "checkpoints":
        return ckpt.parent.parent / "eval" / f"{name}-{ckpt.stem}"
    return ckpt.with_name(f"{ckpt.stem}_eval") / name


def _write_tables(result: Any, out_dir: Path) -> None:

    for name, table in (
        ("global.csv", result.global_scores),
        ("per_sequence.csv", result.per_sequence),
        ("per_object.csv", result.per_object),
    ):
        atomic_write(out_dir / name, lambda p, t=table: t.to_csv(p, index=False))


def _score(
    data_root: Path,
    pred_dir: Path,
    videos: Sequence[str] | None,
    res: str | None,
    objects: str,
    binary: bool = False,
    allow_missing_gt: bool = False,
) -> Any:
    result = score_folders(
        data_root,
        pred_dir,
        sequences=videos,
        objects=objects,
        res=res,
        binary=binary,
        allow_missing_gt=allow_missing_gt,
    )
    _write_tables(result, pred_dir)
    return result


def check_inputs(
    data_root: Path,
    videos: Sequence[str] | None,
    res: str | None,
    binary: bool = False,
    allow_missing_gt: bool = False,
) -> None:
    """Refuse, before any inference, a folder whose videos cannot be segmented and scored, with
    one error naming the input file: a frame or annotation missing (an annotation without its
    JPEG; a JPEG without its ground truth unless ``allow_missing_gt``), an unreadable header,
    sizes that differ, or a first frame without an object. Void (255) is background here as
    in scoring (``docs/evaluation.md``): a 0/255 first frame holds no object unless ``binary``
    (DAVIS 2016), where every non-zero pixel is object 1."""
    img_root, ann_root = resolve_layout(data_root, res)
    for video in list(videos) if videos is not None else list_videos(img_root):
        stems, anns = check_video(img_root / video, ann_root / video, dense=False)
        lacking = [ann_root / video / f"{s}.png" for s in stems if s not in anns]
        if lacking and not allow_missing_gt:
            raise missing_gt_error(video, lacking)
        first = ann_root / video / f"{stems[0]}.png"
        if stems[0] not in anns:
            raise MissingFileError(
                f"the first frame of video {video!r} has no annotation: {first} does not exist",
                first,
            )
        mask = read_mask(first)
        if not (mask.any() if binary else np.any((mask != 0) & (mask != 255))):
            void = not binary and bool(np.any(mask == 255))
            raise DataError(
                f"{first}: the first frame of video {video!r} has no object (every pixel is "
                + (
                    "background or void, 255; for DAVIS 2016's 0/255 masks pass --binary)"
                    if void
                    else "background)"
                ),
                first,
            )


def evaluate_model(
    model: torch.nn.Module,
    data_root: str | Path,
    out_dir: str | Path,
    *,
    videos: Sequence[str] | None = None,
    res: str | None = None,
    annotations: Literal["first", "all", "appearance"] = "appearance",
    objects: str = "auto",
    settings: InferenceSettings | None = None,
    progress: bool = False,
    binary: bool = False,
    allow_missing_gt: bool = False,
) -> pd.DataFrame:
    """Segment every video of ``data_root`` with ``model`` into ``out_dir`` and score it.

    ``binary=True`` is DAVIS 2016 (0/255 masks, one object per video): annotations and
    scoring treat every non-zero pixel as object 1. Otherwise 255 is void (background), in
    the annotations the model is given as in scoring.

    The folder is checked first (:func:`check_inputs`): a missing or unreadable input file is
    one error naming it, before any inference. ``allow_missing_gt``: frames without ground
    truth are segmented but not scored; the row then counts them in ``missing_gt``.

    ``annotations="appearance"`` (default) gives the model each object once, at its first
    annotated frame: the DAVIS protocol when every object is in frame 0, and the YouTube-VOS
    one for objects that enter later (see :func:`gsfm.prediction.predict_folder`).
    ``settings`` (:class:`~gsfm.inference.InferenceSettings`) picks the inference loop
    (``protocol``, ``short_side``), top-k and cadence, and the fast path: ``amp`` ("bf16", or
    "fp16" on CUDA) runs the network under autocast and ``compile`` ("cuda-graphs" on CUDA, or
    "torch") replays or compiles its fixed-shape parts (:func:`gsfm.agreement.mask_agreement`
    compares it with float32).

    Returns one row: the global J&F table plus ``frames``, ``seconds`` and ``fps`` (propagation
    time without I/O, as :mod:`gsfm.inference` measures it), ``top_k``, ``mem_every``,
    ``protocol`` and ``amp`` (None: float32).
    """
    root, out = resolve_path(data_root), resolve_path(out_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"evaluation data folder not found: {root}")
    check_inputs(root, videos, res, binary, allow_missing_gt)
    settings = (settings or InferenceSettings()).resolved(model.config)
    summary = predict_folder(
        model,
        root,
        out,
        videos=videos,
        res=res,
        annotations=annotations,
        settings=settings,
        progress=progress,
        binary=binary,
    )
    result = _score(root, out, videos, res, objects, binary, allow_missing_gt)
    row = result.global_scores.copy()
    if allow_missing_gt:
        row["missing_gt"] = len(result.missing_gt)
    frames = sum(v["frames"] for v in summary.values())
    seconds = sum(v["seconds"] for v in summary.values())
    row["frames"] = frames
    row["seconds"] = seconds
    row["fps"] = frames / seconds if seconds > 0 else float("nan")
    row["top_k"] = settings.top_k
    row["mem_every"] = settings.mem_every
    row["protocol"] = settings.protocol
    row["amp"] = settings.amp
    row["predictions"] = str(out)
    return row


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_root: str | Path,
    out_dir: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    settings: InferenceSettings | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Load ``checkpoint`` and :func:`evaluate_model` it on ``data_root``.

    ``out_dir`` defaults to :func:`default_eval_dir`. ``settings``
    (:class:`~gsfm.inference.InferenceSettings`): a ``top_k`` / ``mem_every`` given there
    overrides the checkpoint's inference defaults (GSFM: 50 / 3, STCN: 20 / 5); ``protocol``
    ``"davis"`` (default) or ``"youtube"`` for a YouTube-VOS folder. Other keyword arguments
    go to :func:`evaluate_model`. The row gains ``checkpoint``, ``model`` (gsfm or stcn, from
    the stored configuration) and ``iteration`` (for training checkpoints).
    """
    settings = settings or InferenceSettings()
    path = resolve_path(checkpoint)
    overrides: dict[str, Any] = {}
    if settings.top_k != "config":
        overrides["top_k"] = settings.top_k
    if settings.mem_every is not None:
        overrides["mem_every"] = settings.mem_every
    dev = resolve_device(device)
    data = resolve_path(data_root)
    if data.is_dir():  # the inputs first: a bad file is named before the model is loaded
        check_inputs(
            data,
            kwargs.get("videos"),
            kwargs.get("res"),
            kwargs.get("binary", False),
            kwargs.get("allow_missing_gt", False),
        )
    state = load_state(path, dev)
    model = model_from_state(state, path, dev, **overrides)
    out = resolve_path(out_dir) if out_dir is not None else default_eval_dir(path, data_root)
    row = evaluate_model(model, data_root, out, settings=settings, **kwargs)
    iteration = state.get("iteration")
    row.insert(0, "checkpoint", str(path))
    row.insert(1, "model", model.config.name)
    row.insert(2, "iteration", iteration)
    return row


def evaluate_baseline(
    data_root: str | Path,
    out_dir: str | Path,
    kind: str = "copy-first",
    *,
    videos: Sequence[str] | None = None,
    res: str | None = None,
    objects: str = "auto",
) -> pd.DataFrame:
    """Write and score a trivial prediction (``empty`` or ``copy-first``); one row like above."""
    root, out = resolve_path(data_root), resolve_path(out_dir)
    write_baseline(root, out, kind, sequences=videos, res=res)
    row = _score(root, out, videos, res, objects).global_scores.copy()
    row.insert(0, "model", kind)
    row["predictions"] = str(out)
    return row
