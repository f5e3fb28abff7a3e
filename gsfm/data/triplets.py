"""Training triplets: frame sampling with a max skip, object sampling, the sample dict, and
the VOS triplet dataset over a DAVIS / YouTube-VOS / ``gsfm synth`` folder.

Everything follows the authors' training code as described in ``docs/paper_vs_code.md`` §4:

* :func:`sample_triplet_indices`: with ``J = min(n, max_skip)``: ``start ~ U[0, n-J]``,
  ``f1 = start + U{1..J+1}`` capped at ``min(n-J, n-1)``, ``f2 = f1 + U{1..J+1}`` capped at
  ``min(n - J//2, n-1)``; the order is reversed with probability 0.5.
* :func:`pick_objects`: labels of the first frame of the (possibly reversed, augmented)
  triplet; a random target, and a random second object from the rest if any.
* :func:`max_skip_at`: the max-skip curriculum (5 -> 10 -> 15 -> 20 -> 25 -> 5).

The sample dict (what the trainer and the model consume, no batch dimension)::

    rgb      float32 (T, 3, H, W)  ImageNet-normalised
    gt       float32 (T, 1, H, W)  target mask in [0, 1]
    sec_gt   float32 (T, 1, H, W)  second object's mask (zeros if none)
    cls_gt   int64   (T, H, W)     0 background, 1 target, 2 second object
    selector float32 (2,)          [1, 1] with a second object, else [1, 0]
    info     {"name": str, "frames": list[str]}
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gsfm.data.checks import check_videos
from gsfm.data.io import check_same_size, list_frames, read_image, read_mask
from gsfm.data.layout import list_videos, read_split_file, resolve_layout
from gsfm.data.transforms import VOSAugment, normalize, to_chw_uint8
from gsfm.errors import DataError

__all__ = [
    "VOSTripletDataset",
    "make_sample",
    "max_skip_at",
    "pick_objects",
    "sample_triplet_indices",
]


def max_skip_at(
    fraction: float,
    skip_values: Sequence[int] = (10, 15, 20, 25, 5),
    skip_fractions: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.9),
    initial: int = 5,
) -> int:
    """The max skip at training progress ``fraction`` in [0, 1] (authors' curriculum).

    ``skip_values[i]`` applies from ``skip_fractions[i]`` on (inclusive) until the next one;
    before the first, ``initial``. Defaults: 0-10 % -> 5, 10-20 % -> 10, 20-30 % -> 15,
    30-40 % -> 20, 40-90 % -> 25, 90-100 % -> 5. (YouTube-VOS uses ``skip // 5`` because its
    train set keeps every 5th frame: pass ``frame_stride=5`` to :class:`VOSTripletDataset`.)
    """
    if len(skip_values) != len(skip_fractions):
        raise ValueError("skip_values and skip_fractions must have the same length")
    if not 0.0 <= fraction <= 1.0 + 1e-9:
        raise ValueError(f"training fraction must be in [0, 1], got {fraction}")
    if list(skip_fractions) != sorted(skip_fractions):
        raise ValueError(f"skip_fractions must be increasing, got {list(skip_fractions)}")
    skip = int(initial)
    for value, start in zip(skip_values, skip_fractions, strict=True):
        if fraction >= start:
            skip = int(value)
    return skip


def sample_triplet_indices(
    n_frames: int, max_skip: int, rng: np.random.Generator, reverse_prob: float = 0.5
) -> list[int]:
    """Three frame indices of a clip with ``n_frames`` frames (authors' rule, see module doc)."""
    if n_frames < 1:
        raise ValueError(f"a clip needs at least one frame, got {n_frames}")
    if max_skip < 1:
        raise ValueError(f"max_skip must be >= 1, got {max_skip}")
    n = int(n_frames)
    j = min(n, int(max_skip))
    start = int(rng.integers(0, n - j + 1))
    f1 = start + int(rng.integers(1, j + 2))
    f1 = min(f1, n - j, n - 1)
    f2 = f1 + int(rng.integers(1, j + 2))
    f2 = min(f2, n - j // 2, n - 1)
    idx = [start, f1, f2]
    if rng.random() < reverse_prob:
        idx = idx[::-1]
    return idx


def pick_objects(
    first_mask: np.ndarray | torch.Tensor, rng: np.random.Generator, max_objects: int = 2
) -> tuple[int | None, int | None]:
    """``(target, second)`` ids drawn from the non-zero labels of ``first_mask``.

    ``(None, None)`` when the frame holds no object; ``second`` is None with one label or
    ``max_objects == 1``.
    """
    labels = np.unique(np.asarray(first_mask))
    labels = labels[labels != 0]
    if labels.size == 0:
        return None, None
    target = int(rng.choice(labels))
    rest = labels[labels != target]
    second = int(rng.choice(rest)) if (max_objects >= 2 and rest.size) else None
    return target, second


def make_sample(
    frames: torch.Tensor,
    masks: torch.Tensor,
    target: int | None,
    second: int | None,
    name: str,
    frame_names: Sequence[str],
) -> dict[str, Any]:
    """Build the sample dict from uint8 frames ``(T,3,H,W)`` and id masks ``(T,H,W)``.

    Works in NumPy (single-threaded): on a busy CPU, torch's intra-op threads made this
    tiny per-sample work cost tens of milliseconds.
    """
    m = np.asarray(masks.cpu().numpy() if isinstance(masks, torch.Tensor) else masks)
    tgt = (m == target) if target is not None else np.zeros(m.shape, bool)
    sec = (m == second) if second is not None else np.zeros(m.shape, bool)
    cls = tgt.astype(np.int64)
    cls[sec] = 2
    return {
        "rgb": normalize(frames),
        "gt": torch.from_numpy(tgt.astype(np.float32)[:, None]),
        "sec_gt": torch.from_numpy(sec.astype(np.float32)[:, None]),
        "cls_gt": torch.from_numpy(cls),
        "selector": torch.tensor([1.0, 1.0 if second is not None else 0.0]),
        "info": {"name": name, "frames": list(frame_names)},
    }


class VOSTripletDataset(Dataset):
    """Training triplets from a folder of videos with dense annotations.

    ``root`` is a DAVIS-layout folder (``JPEGImages/<res>/<video>``, real DAVIS 2017 or one
    written by ``gsfm synth``) or a YouTube-VOS ``train_480p`` folder
    (``JPEGImages/<video>``). ``videos`` (names) or ``split_file`` (an ImageSets file) restrict
    the videos; videos with fewer than 3 frames are dropped (as the authors do).
    ``frame_stride`` divides the max skip (5 for YouTube-VOS, whose train set keeps every 5th
    frame). ``repeat`` repeats the video list (the authors use DAVIS x 5).

    Frames are the ``.jpg`` / ``.jpeg`` files of a video folder (hidden and other files are
    ignored); every frame needs its ``.png`` annotation, of the frame's size, every annotation
    its frame, and the frames of a video one size. This is checked once, at construction, from
    the file lists and image headers (:func:`gsfm.data.checks.check_videos`, fast: nothing is
    decoded), so a broken data set fails before training starts, with a
    :class:`~gsfm.errors.MissingFileError` / :class:`~gsfm.errors.DataError` naming the file;
    a file damaged past its header still fails when it is sampled, naming it. Ids are used as they are: any non-zero id, 255 included
    (DAVIS 2016 stores its foreground as 255), can be drawn as the target.

    Randomness: with ``seed=None`` the global torch / a fresh numpy generator is used (let
    the DataLoader seed its workers); with a seed, sample ``i`` is a pure function of
    ``(seed, epoch, i, max_skip)``; call :meth:`set_epoch` each epoch for fresh samples.

    ``preload`` decodes every frame and annotation once, at construction, into one uint8
    array per video and kind (checked as above, so a bad file fails at once): DataLoader
    workers forked afterwards share those pages instead of decoding JPEGs and PNGs per
    sample. Meant for small data sets (the synth-v1 train split: 120 x 40 frames at
    160x288, about 0.9 GB); samples are the same with and without it.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        videos: Sequence[str] | None = None,
        split_file: str | os.PathLike[str] | None = None,
        res: str | None = None,
        crop_size: int = 384,
        max_skip: int = 5,
        frame_stride: int = 1,
        max_objects: int = 2,
        repeat: int = 1,
        seed: int | None = None,
        augment: bool = True,
        retries: int = 5,
        preload: bool = False,
    ) -> None:
        self.image_root, self.ann_root = resolve_layout(root, res)
        names = list(videos) if videos is not None else None
        if names is None and split_file is not None:
            names = read_split_file(split_file)
        if names is None:
            names = list_videos(self.ann_root)
        self.videos: list[str] = []
        self.frames: dict[str, list[str]] = {}
        for v in names:
            frames = [Path(f).stem for f in list_frames(self.image_root / v, (".jpg", ".jpeg"))]
            if len(frames) < 3:
                continue
            self.videos.append(v)
            self.frames[v] = frames
        if not self.videos:
            raise DataError(
                f"no video with at least 3 frames under {self.image_root}", self.image_root
            )
        # the file lists always; the headers unless preload decodes every file right below
        check_videos(self.image_root, self.ann_root, self.videos, dense=True, headers=not preload)
        self.crop_size = int(crop_size)
        self.frame_stride = max(1, int(frame_stride))
        self.max_objects = int(max_objects)
        self.repeat = max(1, int(repeat))
        self.seed = seed
        self.retries = int(retries)
        self.epoch = 0
        self.augment = VOSAugment(crop_size) if augment else None
        self.max_skip = 5
        self.set_max_skip(max_skip)
        self._decoded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
        if preload:
            self._decoded = self._decode_all()

    def _decode_video(self, video: str) -> tuple[np.ndarray, np.ndarray]:
        """All frames ``(T, H, W, 3)`` and annotations ``(T, H, W)`` of ``video``, uint8."""
        pairs = [self._read(video, f) for f in self.frames[video]]
        first = self._image_path(video, self.frames[video][0])
        for f, (img, _) in zip(self.frames[video][1:], pairs[1:], strict=True):
            check_same_size(
                img, self._image_path(video, f), pairs[0][0].shape[:2], first, "frame", "frame"
            )
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def _decode_all(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every video decoded (threads: Pillow decodes without holding the GIL)."""
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            arrays = list(pool.map(self._decode_video, self.videos))
        return dict(zip(self.videos, arrays, strict=True))

    def set_max_skip(self, n: int) -> None:
        """Set the max skip (in the dataset's own frames: divided by ``frame_stride``)."""
        if n < 1:
            raise ValueError(f"max_skip must be >= 1, got {n}")
        self.max_skip = max(1, int(n) // self.frame_stride)

    def set_epoch(self, epoch: int) -> None:
        """Mix ``epoch`` into the per-sample seeds (only matters with a fixed ``seed``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos) * self.repeat

    def _image_path(self, video: str, frame: str) -> Path:
        img_path = self.image_root / video / f"{frame}.jpg"
        if not img_path.is_file():
            img_path = self.image_root / video / f"{frame}.jpeg"
        return img_path

    def _read(self, video: str, frame: str) -> tuple[np.ndarray, np.ndarray]:
        img_path = self._image_path(video, frame)
        ann_path = self.ann_root / video / f"{frame}.png"
        img = read_image(img_path)
        ann = read_mask(ann_path)
        check_same_size(ann, ann_path, img.shape[:2], img_path)
        return img, ann

    def __getitem__(self, index: int) -> dict[str, Any]:
        video = self.videos[index % len(self.videos)]
        frames = self.frames[video]
        if self.seed is None:
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        else:
            rng = np.random.default_rng([int(self.seed), self.epoch, int(index), self.max_skip])
        target = second = None
        for _ in range(self.retries):
            idx = sample_triplet_indices(len(frames), self.max_skip, rng)
            names = [frames[i] for i in idx]
            if self._decoded is not None:  # checked when decoded
                images, labels = self._decoded[video]
                pairs = [(images[i], labels[i]) for i in idx]
            else:
                pairs = [self._read(video, f) for f in names]
                for f, (img, _) in zip(names[1:], pairs[1:], strict=True):
                    check_same_size(
                        img,
                        self._image_path(video, f),
                        pairs[0][0].shape[:2],
                        self._image_path(video, names[0]),
                        "frame",
                        "frame",
                    )
            imgs = to_chw_uint8(np.stack([p[0] for p in pairs]))
            masks = torch.from_numpy(np.stack([p[1] for p in pairs]))
            if self.augment is not None:
                seed = None if self.seed is None else int(rng.integers(0, 2**62))
                imgs, masks = self.augment(imgs, masks, seed=seed)
            target, second = pick_objects(masks[0].numpy(), rng, self.max_objects)
            if target is not None:
                break
        return make_sample(imgs, masks, target, second, video, names)
