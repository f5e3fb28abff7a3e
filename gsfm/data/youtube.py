"""Evaluation reader for YouTube-VOS 2018 / 2019 (``valid`` / ``test``): sparse annotations,
``meta.json``, objects that appear later.

Layout (STCN's)::

    ROOT/valid/JPEGImages/<video>/<frame>.jpg     every 5th frame (the frames to output)
    ROOT/valid/Annotations/<video>/<frame>.png    only frames where an object first appears
    ROOT/valid/meta.json                          {"videos": {video: {"objects": {id: {"frames": [...]}}}}}
    ROOT/all_frames/valid_all_frames/JPEGImages/<video>/<frame>.jpg   (optional: every frame)

An item of :class:`YouTubeVOSEvalDataset` has the keys of :class:`gsfm.data.davis.DAVISEvalDataset`
(``rgb``, ``masks`` (zeros on frames without a PNG), ``annotated``, ``info``) and
``info["output_frames"]``: the frame stems a submission must contain (those of the split's
JPEGImages). ``info["labels"]`` are the objects of ``meta.json``; ``first_frame`` comes from the
annotation PNGs. The two must agree: an object listed in ``meta.json`` but in no PNG, and an id
in a PNG that ``meta.json`` does not list (255, void, aside), are errors naming the folder or
the PNG. Files are found as by :class:`gsfm.data.davis.DAVISVideo` (hidden files and
sub-folders ignored; an annotation without its frame is an error).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from gsfm.data.davis import DAVISVideo
from gsfm.data.io import list_frames

__all__ = ["YouTubeVOSEvalDataset", "read_meta"]


def read_meta(path: str | os.PathLike[str]) -> dict[str, dict[int, list[str]]]:
    """``{video: {object id: [frame stems]}}`` from a YouTube-VOS ``meta.json``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"meta.json not found: {p}")
    try:
        raw = json.loads(p.read_text())
        out = {
            vid: {int(k): list(o.get("frames", [])) for k, o in v["objects"].items()}
            for vid, v in raw["videos"].items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot parse {p}: not a YouTube-VOS meta.json ({exc})") from exc
    return out


class YouTubeVOSEvalDataset(Dataset):
    """Videos of a YouTube-VOS split for inference (see the module doc for the item).

    ``root`` is the data set folder holding ``<split>/`` (or the split folder itself).
    ``all_frames_root``: a folder of ``<video>/`` JPEG folders with every frame; by default
    ``ROOT/all_frames/<split>_all_frames/JPEGImages`` if present, else the split's own frames.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "valid",
        all_frames_root: str | os.PathLike[str] | None = None,
        videos: Sequence[str] | None = None,
        normalized: bool = True,
    ) -> None:
        root = Path(root)
        split_dir = root / split if (root / split).is_dir() else root
        if not split_dir.is_dir():
            raise FileNotFoundError(f"YouTube-VOS folder not found: {split_dir}")
        self.split_dir = split_dir
        self.meta = read_meta(split_dir / "meta.json")
        self.image_root = split_dir / "JPEGImages"
        self.ann_root = split_dir / "Annotations"
        if all_frames_root is None:
            guess = root / "all_frames" / f"{split}_all_frames" / "JPEGImages"
            all_frames_root = guess if guess.is_dir() else self.image_root
        self.frames_root = Path(all_frames_root)
        if not self.frames_root.is_dir():
            raise FileNotFoundError(f"frame folder not found: {self.frames_root}")
        self.videos = list(videos) if videos is not None else sorted(self.meta)
        if not self.videos:
            raise ValueError(f"{split_dir / 'meta.json'} lists no videos")
        missing = [v for v in self.videos if v not in self.meta]
        if missing:
            raise ValueError(f"videos {missing} are not in {split_dir / 'meta.json'}")
        self.normalized = normalized

    def __len__(self) -> int:
        return len(self.videos)

    def video(self, i: int) -> DAVISVideo:
        """The video as a :class:`DAVISVideo` over all available frames."""
        v = self.videos[i]
        return DAVISVideo(self.frames_root / v, self.ann_root / v, objects_from="all")

    def __getitem__(self, i: int) -> dict[str, Any]:
        name = self.videos[i]
        vid = self.video(i)
        masks, annotated = vid.masks()
        info = vid.info()
        listed = sorted(self.meta[name])
        unlisted = [k for k in info["first_frame"] if k not in listed]
        if unlisted:
            where = vid.annotation_paths[info["first_frame"][unlisted[0]]]
            raise ValueError(
                f"annotation {where} holds object id(s) {unlisted} that "
                f"{self.split_dir / 'meta.json'} does not list for video {name!r}"
            )
        lost = [k for k in listed if k not in info["first_frame"]]
        if lost:
            raise ValueError(
                f"objects {lost} of video {name!r} in meta.json appear in no annotation under "
                f"{self.ann_root / name}"
            )
        info["labels"] = listed
        info["first_frame"] = {k: info["first_frame"][k] for k in listed}
        gt_obj: dict[int, list[int]] = {}
        for k, t in info["first_frame"].items():
            gt_obj.setdefault(t, []).append(k)
        info["gt_obj"] = gt_obj
        info["output_frames"] = [
            Path(n).stem for n in list_frames(self.image_root / name, (".jpg", ".jpeg"))
        ]
        return {
            "rgb": vid.rgb(self.normalized),
            "masks": torch.from_numpy(masks),
            "annotated": torch.from_numpy(annotated),
            "info": info,
        }
