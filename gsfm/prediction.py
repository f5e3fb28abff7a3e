"""Segment a whole DAVIS / YouTube-VOS folder with :class:`~gsfm.inference.InferenceEngine`.

The engine works on tensors; this module is the folder around it: which videos, reading the
frames, which annotation PNGs the model is given (the annotation policy), and writing the
palette PNGs and ``timing.json``.

* :func:`predict_folder`: a DAVIS-layout folder (DAVIS, the synthetic benchmark, or any folder
  of ``JPEGImages/<video>/`` and ``Annotations/<video>/``).
* :func:`predict_youtube`: a YouTube-VOS ``valid`` / ``test`` split as the authors run it
  (``docs/paper_vs_code.md`` §9): every frame of ``all_frames`` is propagated when that folder
  exists, the sparse annotations (each object's first appearance, checked against
  ``meta.json``) are given where they are, and PNGs are written for exactly the frames of the
  split's ``JPEGImages`` (every 5th frame), the submission the evaluation server expects.

Annotation policies (``annotations=``):

* ``"first"`` (DAVIS semi-supervised): only the first frame's PNG;
* ``"all"`` (YouTube-VOS valid/test): every PNG found, so objects can first appear mid-video;
* ``"appearance"``: every PNG is read, but the model is given each object only once, in the
  frame where it first appears. Use it when the annotation folder holds the full ground truth
  (the synthetic benchmark's does): ``"all"`` would hand the model the answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from gsfm.data.io import DAVIS_PALETTE, list_frames, read_image, read_mask, write_mask
from gsfm.data.layout import list_videos, resolve_layout
from gsfm.data.transforms import normalize, to_chw_uint8
from gsfm.data.youtube import YouTubeVOSEvalDataset
from gsfm.files import atomic_write_json
from gsfm.inference import InferenceEngine, InferenceSettings
from gsfm.model.network import GSFMNet

__all__ = [
    "ANNOTATION_POLICIES",
    "is_youtube_split",
    "predict_folder",
    "predict_youtube",
    "read_annotations",
    "read_video_frames",
]

AnnotationPolicy = Literal["first", "all", "appearance"]
ANNOTATION_POLICIES: tuple[str, ...] = ("first", "all", "appearance")


def read_video_frames(video_dir: Path) -> tuple[list[str], np.ndarray]:
    """The frame stems and the ``(T, H, W, 3)`` uint8 frames of one video folder of JPEGs.

    Every frame must have the first frame's size; a frame of another size is one error naming
    both files.
    """
    frame_names = list_frames(video_dir, (".jpg", ".jpeg"))
    images: list[np.ndarray] = []
    for name in frame_names:
        arr = read_image(video_dir / name)
        if images and arr.shape != images[0].shape:
            raise ValueError(
                f"{video_dir / name} is {arr.shape[0]}x{arr.shape[1]} but "
                f"{video_dir / frame_names[0]} is {images[0].shape[0]}x{images[0].shape[1]}"
            )
        images.append(arr)
    return [Path(f).stem for f in frame_names], np.stack(images)


def _annotation_files(ann_dir: Path, stems: Sequence[str], policy: str) -> dict[int, Path]:
    """Frame index → annotation PNG: the first frame's only, or every PNG matching a frame."""
    if policy == "first":
        first = ann_dir / f"{stems[0]}.png"
        if not first.is_file():
            raise FileNotFoundError(f"first-frame annotation not found: {first}")
        return {0: first}
    found = {Path(f).stem for f in list_frames(ann_dir, (".png",))}
    files = {i: ann_dir / f"{s}.png" for i, s in enumerate(stems) if s in found}
    if not files:
        raise FileNotFoundError(f"no annotation PNG in {ann_dir} matches a frame")
    return files


def read_annotations(
    ann_dir: Path,
    stems: Sequence[str],
    size: tuple[int, int],
    policy: AnnotationPolicy,
    binary: bool = False,
) -> dict[int, np.ndarray]:
    """The annotations the model is given for one video, by frame index, under ``policy``.

    Masks must have the frames' ``size`` (H, W); ``binary=True`` (DAVIS 2016's 0/255 masks)
    makes every non-zero pixel object 1; otherwise 255 is void and counts as background, as in
    scoring. Under ``"first"`` and ``"all"`` an annotation
    without any object is an error; under ``"appearance"`` each mask keeps only the objects
    first seen in it, and frames that add none are dropped.
    """
    anns: dict[int, np.ndarray] = {}
    seen: set[int] = set()
    for i, path in _annotation_files(ann_dir, stems, policy).items():
        m = read_mask(path)
        # one rule with scoring (docs/evaluation.md): 255 is void, i.e. background, unless
        # binary (DAVIS 2016), where every non-zero pixel is the object
        m = (m != 0).astype(np.uint8) if binary else np.where(m == 255, 0, m).astype(np.uint8)
        if m.shape != tuple(size):
            raise ValueError(
                f"{path} is {m.shape[0]}x{m.shape[1]} but its frame is {size[0]}x{size[1]}"
            )
        if policy == "appearance":
            new = sorted(set(np.unique(m).tolist()) - seen - {0})
            seen.update(new)
            if not new:
                continue
            m = np.where(np.isin(m, new), m, 0).astype(np.uint8)
        elif not m.any():
            raise ValueError(f"{path} contains no object (every pixel is background)")
        anns[i] = m
    if not anns:
        raise ValueError(f"no annotation PNG in {ann_dir} contains an object")
    return anns


def predict_folder(
    model: GSFMNet,
    data_root: str | Path,
    out_root: str | Path,
    *,
    videos: Sequence[str] | None = None,
    res: str | None = None,
    annotations: AnnotationPolicy = "first",
    settings: InferenceSettings | None = None,
    progress: bool = False,
    binary: bool = False,
) -> dict[str, dict[str, Any]]:
    """Segment every video of a DAVIS / YouTube-VOS folder and write palette PNGs.

    ``binary=True``: DAVIS 2016 (0/255 masks, one object, written as id 1). ``settings``:
    top-k, memory cadence, protocol, autocast and compilation of the engine
    (:class:`~gsfm.inference.InferenceSettings`; default: the model's own, DAVIS protocol,
    float32, eager).

    Reads ``data_root/JPEGImages[/<res>]/<video>/*.jpg`` and the annotations from
    ``data_root/Annotations[/<res>]/<video>/`` under the ``annotations`` policy (module
    docstring). ``settings.protocol`` picks the inference loop (:class:`InferenceEngine`):
    ``"davis"`` for DAVIS and the synthetic benchmark, ``"youtube"`` (frames resized to
    ``short_side``) for YouTube-VOS, whose valid split is run with ``annotations="all"`` and
    ``InferenceSettings(protocol="youtube")``.
    Writes ``out_root/<video>/<frame>.png`` (palette "P" PNG of object ids, DAVIS palette, at
    each frame's original size in both protocols) for every frame from the first annotated
    one, and ``out_root/timing.json``. Returns {video: {"frames", "seconds", "fps", "objects"}}.
    """
    if annotations not in ANNOTATION_POLICIES:
        raise ValueError(f"annotations must be 'first', 'all' or 'appearance', got {annotations!r}")
    img_root, ann_root = resolve_layout(data_root, res)
    names = list(videos) if videos is not None else list_videos(img_root)
    out_root = Path(out_root)
    engine = InferenceEngine(model, settings)
    summary: dict[str, dict[str, Any]] = {}
    iterator: Any = names
    if progress:
        iterator = tqdm(names, desc="videos")
    for video in iterator:
        stems, images = read_video_frames(img_root / video)
        anns = read_annotations(ann_root / video, stems, images.shape[1:3], annotations, binary)
        result = engine.propagate(normalize(to_chw_uint8(images)), anns)
        for i in range(min(anns), len(stems)):
            write_mask(out_root / video / f"{stems[i]}.png", result.masks[i], DAVIS_PALETTE)
        summary[video] = {
            "frames": len(stems),
            "seconds": result.seconds,
            "fps": result.fps,
            "objects": result.labels,
        }
    _write_timing(out_root, summary)
    return summary


def _write_timing(out_root: Path, summary: dict[str, dict[str, Any]]) -> None:
    """``out_root/timing.json``: per-video and total frames, seconds and FPS."""
    total_frames = sum(v["frames"] for v in summary.values())
    total_seconds = sum(v["seconds"] for v in summary.values())
    timing = {
        "videos": summary,
        "frames": total_frames,
        "seconds": total_seconds,
        "fps": total_frames / total_seconds if total_seconds > 0 else None,
    }
    out_root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_root / "timing.json", timing)


def is_youtube_split(root: str | Path, split: str = "valid") -> bool:
    """Whether ``root`` is a YouTube-VOS split folder (or holds ``<split>/``) with a meta.json."""
    root = Path(root)
    return (root / "meta.json").is_file() or (root / split / "meta.json").is_file()


def predict_youtube(
    model: GSFMNet,
    root: str | Path,
    out_root: str | Path,
    *,
    split: str = "valid",
    all_frames_root: str | Path | None = None,
    videos: Sequence[str] | None = None,
    settings: InferenceSettings | None = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Segment a YouTube-VOS split with the ``youtube`` protocol and write a submission folder.

    ``settings`` (:class:`~gsfm.inference.InferenceSettings`; default: the model's top-k and
    cadence, 480-px short side, float32, eager) must have ``protocol="youtube"``: the split is
    refused with the ``davis`` loop rather than run with another protocol than asked.

    ``root`` is the data set folder holding ``<split>/`` (or the split folder itself);
    ``all_frames_root`` defaults to ``ROOT/all_frames/<split>_all_frames/JPEGImages`` when it
    exists (see :class:`~gsfm.data.youtube.YouTubeVOSEvalDataset`); without it only the
    split's own frames (every 5th) are propagated, and a warning says so. Writes
    ``out_root/<video>/<frame>.png`` (palette PNGs at the original size) for the frames of the
    split's ``JPEGImages`` from the video's first annotated frame on, and ``timing.json``. There is no public ground truth for
    ``valid`` / ``test``: the server scores the zipped folder. Returns the per-video summary of
    :func:`predict_folder`.
    """
    settings = settings or InferenceSettings(protocol="youtube")
    if settings.protocol != "youtube":
        raise ValueError(
            f"predict_youtube runs the youtube protocol, the settings ask for {settings.protocol!r}"
        )
    data = YouTubeVOSEvalDataset(root, split, all_frames_root, videos)
    if data.frames_root == data.image_root:
        warnings.warn(
            f"no all-frames folder for {data.split_dir}: propagating over the split's own frames "
            "(every 5th); the authors propagate over every frame (all_frames/<split>_all_frames)",
            stacklevel=2,
        )
    engine = InferenceEngine(model, settings)
    out_root = Path(out_root)
    summary: dict[str, dict[str, Any]] = {}
    indices: Any = range(len(data))
    if progress:
        indices = tqdm(indices, desc="videos")
    for i in indices:
        item = data[i]
        info = item["info"]
        masks, annotated = item["masks"].numpy(), item["annotated"].numpy()
        anns = {t: masks[t] for t in range(len(masks)) if annotated[t]}
        result = engine.propagate(item["rgb"], anns)
        index = {stem: t for t, stem in enumerate(info["frames"])}
        for stem in info["output_frames"]:
            if stem not in index:
                raise ValueError(
                    f"frame {stem} of {data.image_root / info['name']} is missing from "
                    f"{data.frames_root / info['name']}"
                )
            t = index[stem]
            if t >= min(anns):  # as the authors: nothing before the video's first annotation
                write_mask(out_root / info["name"] / f"{stem}.png", result.masks[t], DAVIS_PALETTE)
        summary[info["name"]] = {
            "frames": len(masks),
            "seconds": result.seconds,
            "fps": result.fps,
            "objects": result.labels,
        }
    _write_timing(out_root, summary)
    return summary
