"""Evaluation readers for the DAVIS layout: DAVIS 2016, DAVIS 2017 and ``gsfm synth`` folders.

:class:`DAVISVideo` is one video; :class:`DAVISEvalDataset` a torch Dataset of videos. An item
of the dataset is a dict::

    rgb        float32 (T, 3, H, W)  ImageNet-normalised frames (uint8 if normalize=False)
    masks      uint8   (T, H, W)     object ids per frame; zeros where a frame has no PNG
    annotated  bool    (T,)          which frames have an annotation PNG
    info       {"name": str, "frames": list[str] (stems, sorted), "num_frames": int,
                "size": (H, W), "labels": list[int] (object ids, sorted),
                "first_frame": {id: frame index of its first annotation},
                "gt_obj": {frame index: [ids first annotated there]}}

Objects: ``objects_from="first"`` is the authors' DAVIS path (the ids of the first frame, all
given at frame 0). ``"all"`` (default) also finds objects first annotated later (synthetic
``late`` objects), scanning every annotation PNG; for DAVIS 2017 val both give the same.
DAVIS 2016 masks (0/255 grayscale) are binarised to id 1 (``binary=True``, the default for
``year="2016"``). Label 255 (void) is kept as is in ``masks`` but never reported as an object.
Other ids are read as they are: they need not be consecutive (ids ``1, 3, 7`` are three objects)
and an id first seen in a later frame is an object entering there.

Files: the frames are the ``.jpg`` / ``.jpeg`` files of the video's image folder, the
annotations its ``.png`` files; hidden files (``.DS_Store``, macOS ``._00000.png``),
sub-folders and other files are ignored. Frames may be numbered with gaps (they are sorted by
name) and annotations may be sparse. Errors (``FileNotFoundError`` / ``ValueError``, each
naming the file or folder): a missing folder, a video without frames or without any annotation,
an annotation whose frame is missing, an unreadable image, an RGB annotation, and a frame or
mask whose size differs from the video's first frame.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gsfm.data.io import check_same_size, image_size, list_frames, read_image, read_mask
from gsfm.data.layout import list_videos, read_split_file, resolve_layout
from gsfm.data.transforms import normalize, to_chw_uint8

__all__ = ["DAVISEvalDataset", "DAVISVideo", "find_split_file"]

VOID = 255


class DAVISVideo:
    """One video: frames in ``image_dir``, annotation PNGs (all or some frames) in ``ann_dir``."""

    def __init__(
        self,
        image_dir: str | os.PathLike[str],
        ann_dir: str | os.PathLike[str],
        objects_from: str = "all",
        binary: bool = False,
    ) -> None:
        if objects_from not in ("all", "first"):
            raise ValueError(f"objects_from must be 'all' or 'first', got {objects_from!r}")
        self.image_dir, self.ann_dir = Path(image_dir), Path(ann_dir)
        self.name = self.image_dir.name
        names = list_frames(self.image_dir, (".jpg", ".jpeg"))
        self.frames: list[str] = [Path(n).stem for n in names]
        self.image_paths: list[Path] = [self.image_dir / n for n in names]
        if not self.ann_dir.is_dir():
            raise FileNotFoundError(f"annotation folder not found: {self.ann_dir}")
        index = {f: i for i, f in enumerate(self.frames)}
        self.annotation_paths: dict[int, Path] = {}
        for p in sorted(self.ann_dir.iterdir()):
            if not p.is_file() or p.name.startswith(".") or p.suffix.lower() != ".png":
                continue  # .DS_Store, ._00000.png (macOS), sub-folders, notes: not annotations
            if p.stem not in index:
                raise ValueError(f"annotation {p} has no frame {p.stem} in {self.image_dir}")
            self.annotation_paths[index[p.stem]] = p
        if not self.annotation_paths:
            raise ValueError(f"annotation folder {self.ann_dir} holds no PNG")
        self.objects_from = objects_from
        self.binary = binary

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return (
            f"DAVISVideo({self.name!r}, {len(self)} frames, {len(self.annotation_paths)} annotated)"
        )

    @functools.cached_property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the frames (of the first frame; :meth:`images` checks the others)."""
        return self.image(0).shape[:2]

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` as ``(H, W, 3) uint8``."""
        return read_image(self.image_paths[i])

    def images(self) -> np.ndarray:
        """All frames, ``(T, H, W, 3) uint8``; a frame of another size is an error."""
        out = np.empty((len(self), *self.size, 3), np.uint8)
        for i, p in enumerate(self.image_paths):
            img = read_image(p)
            check_same_size(img, p, self.size, self.image_paths[0], "frame", "frame")
            out[i] = img
        return out

    def rgb(self, normalized: bool = True) -> torch.Tensor:
        """All frames as a tensor ``(T, 3, H, W)``: ImageNet-normalised float32, or uint8."""
        frames = to_chw_uint8(self.images())
        return normalize(frames) if normalized else frames

    def mask(self, i: int) -> np.ndarray:
        """Object ids of frame ``i`` ``(H, W) uint8`` (zeros if it has no annotation)."""
        p = self.annotation_paths.get(i)
        if p is None:
            return np.zeros(self.size, np.uint8)
        m = read_mask(p)
        if m.shape != self.size:
            # name the real culprit: the mask, or its frame when that frame is the odd one out
            frame_size = image_size(self.image_paths[i])
            if frame_size != self.size:
                raise ValueError(
                    f"frame {self.image_paths[i]} is {frame_size[1]}x{frame_size[0]} but frame "
                    f"{self.image_paths[0]} is {self.size[1]}x{self.size[0]}: all frames of a "
                    "video must have one size"
                )
            check_same_size(m, p, self.size, self.image_paths[i])
        if self.binary:
            m = (m > 127).astype(np.uint8)
        return m

    def masks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(masks (T, H, W) uint8, annotated (T,) bool)``."""
        out = np.zeros((len(self), *self.size), np.uint8)
        annotated = np.zeros(len(self), bool)
        for i in self.annotation_paths:
            out[i] = self.mask(i)
            annotated[i] = True
        return out, annotated

    @functools.cached_property
    def first_frame(self) -> dict[int, int]:
        """``{object id: index of the first frame whose annotation contains it}``."""
        first: dict[int, int] = {}
        indices = sorted(self.annotation_paths)
        if self.objects_from == "first":
            indices = indices[:1]
        for i in indices:
            for k in np.unique(self.mask(i)).tolist():
                if k not in (0, VOID) and k not in first:
                    first[int(k)] = i
        return dict(sorted(first.items()))

    @property
    def objects(self) -> list[int]:
        """Sorted object ids."""
        return list(self.first_frame)

    def info(self) -> dict[str, Any]:
        """The ``info`` dict of the dataset item (see module doc)."""
        gt_obj: dict[int, list[int]] = {}
        for k, t in self.first_frame.items():
            gt_obj.setdefault(t, []).append(k)
        return {
            "name": self.name,
            "frames": list(self.frames),
            "num_frames": len(self),
            "size": self.size,
            "labels": self.objects,
            "first_frame": dict(self.first_frame),
            "gt_obj": gt_obj,
        }


def find_split_file(root: Path, split: str, year: str | None) -> Path | None:
    """The ImageSets file of ``split`` under ``root`` (None if the folder has no ImageSets)."""
    sets = root / "ImageSets"
    if not sets.is_dir():
        return None
    candidates = []
    if year is not None:
        candidates.append(sets / str(year) / f"{split}.txt")
        if str(year) == "2016":
            candidates.append(sets / "480p" / f"{split}.txt")
    else:
        candidates += sorted(sets.glob(f"*/{split}.txt")) + [sets / f"{split}.txt"]
    for c in candidates:
        if c.is_file():
            return c
    tried = ", ".join(str(c) for c in candidates) or f"{sets}/*/{split}.txt"
    raise FileNotFoundError(f"split file for split {split!r} not found (tried {tried})")


class DAVISEvalDataset(Dataset):
    """Videos of a DAVIS-layout folder for inference (see the module doc for the item).

    ``root``: DAVIS 2017 ``trainval`` / ``test-dev``, DAVIS 2016, or a ``gsfm synth`` folder.
    ``split`` is read from ``ImageSets/<year>/<split>.txt`` (``year=None``: any one found);
    ``videos`` overrides it; without ImageSets every video is used.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "val",
        year: str | int | None = None,
        res: str | None = None,
        videos: Sequence[str] | None = None,
        objects_from: str = "all",
        binary: bool | None = None,
        normalized: bool = True,
    ) -> None:
        self.root = Path(root)
        self.image_root, self.ann_root = resolve_layout(self.root, res)
        year_s = None if year is None else str(year)
        if videos is None:
            split_file = find_split_file(self.root, split, year_s)
            videos = read_split_file(split_file) if split_file else list_videos(self.ann_root)
        self.videos = list(videos)
        if not self.videos:
            raise ValueError(f"no videos selected in {self.root}")
        for v in self.videos:
            if not (self.image_root / v).is_dir():
                raise FileNotFoundError(f"frames of video {v!r} not found: {self.image_root / v}")
        self.objects_from = objects_from
        self.binary = (year_s == "2016") if binary is None else binary
        self.normalized = normalized

    def __len__(self) -> int:
        return len(self.videos)

    def video(self, i: int) -> DAVISVideo:
        """The :class:`DAVISVideo` of item ``i``."""
        v = self.videos[i]
        return DAVISVideo(self.image_root / v, self.ann_root / v, self.objects_from, self.binary)

    def __getitem__(self, i: int) -> dict[str, Any]:
        vid = self.video(i)
        masks, annotated = vid.masks()
        return {
            "rgb": vid.rgb(self.normalized),
            "masks": torch.from_numpy(masks),
            "annotated": torch.from_numpy(annotated),
            "info": vid.info(),
        }
