"""Static images with masks turned into 3-frame pseudo-videos (the authors' stage-0 data).

A folder (searched recursively) of ``<name>.jpg`` + ``<name>.png`` pairs: the flat layout of
DUTS / ECSSD / BIG / HRSOD and the ``<class>/<n>.jpg`` layout of FSS-1000 both work. The mask
is read as grayscale / 255 (soft after the bicubic affine, as in the authors' code) and each
item is augmented by :class:`gsfm.data.transforms.StaticAugment`. Item (single object)::

    rgb (T,3,S,S) normalised, gt (T,1,S,S) soft in [0,1], sec_gt zeros,
    cls_gt (T,S,S) = (gt > 0.5), selector [1, 0], info {"name", "frames"}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from gsfm.data.io import check_same_size, read_image
from gsfm.data.transforms import StaticAugment, normalize, to_chw_uint8

__all__ = ["StaticPseudoVideoDataset", "find_image_mask_pairs", "read_soft_mask"]


def find_image_mask_pairs(root: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """Sorted ``(image, mask)`` pairs under ``root``: every ``.jpg`` with a same-stem ``.png``."""
    r = Path(root)
    if not r.is_dir():
        raise FileNotFoundError(f"static image folder not found: {r}")
    pairs = []
    for img in sorted(r.rglob("*.jpg")):
        png = img.with_suffix(".png")
        if png.is_file():
            pairs.append((img, png))
    if not pairs:
        raise ValueError(f"no image/mask pairs (<name>.jpg + <name>.png) under {r}")
    return pairs


def read_soft_mask(path: Path) -> np.ndarray:
    """A mask as grayscale uint8 0..255 (palette masks: id > 0 -> 255)."""
    if not path.is_file():
        raise FileNotFoundError(f"mask not found: {path}")
    try:
        with Image.open(path) as img:
            if img.mode == "P":
                return (np.asarray(img) > 0).astype(np.uint8) * 255
            return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    except OSError as exc:
        raise ValueError(f"cannot read mask {path}: corrupt or not an image ({exc})") from exc


class StaticPseudoVideoDataset(Dataset):
    """Pseudo-video triplets from image+mask pairs (see the module doc).

    ``seed=None`` uses the global torch RNG (DataLoader worker seeding); with a seed, item
    ``i`` is a pure function of ``(seed, epoch, i)``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        crop_size: int = 384,
        num_frames: int = 3,
        seed: int | None = None,
        repeat: int = 1,
    ) -> None:
        self.pairs = find_image_mask_pairs(root)
        self.root = Path(root)
        self.augment = StaticAugment(crop_size, num_frames)
        self.num_frames = int(num_frames)
        self.seed = seed
        self.repeat = max(1, int(repeat))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Mix ``epoch`` into the per-item seeds (only with a fixed ``seed``)."""
        self.epoch = int(epoch)

    def set_max_skip(self, n: int) -> None:
        """No-op (a pseudo-video has no frame distance); present for a uniform trainer API."""

    def __len__(self) -> int:
        return len(self.pairs) * self.repeat

    def __getitem__(self, index: int) -> dict[str, Any]:
        img_path, mask_path = self.pairs[index % len(self.pairs)]
        img = read_image(img_path)
        mask = read_soft_mask(mask_path)
        check_same_size(mask, mask_path, img.shape[:2], img_path, "mask", "image")
        seed = None
        if self.seed is not None:
            seed = int(
                np.random.default_rng([int(self.seed), self.epoch, int(index)]).integers(2**62)
            )
        frames, soft = self.augment(to_chw_uint8(img), torch.from_numpy(mask), seed=seed)
        gt = soft[:, None]
        name = str(img_path.relative_to(self.root).with_suffix(""))
        return {
            "rgb": normalize(frames),
            "gt": gt,
            "sec_gt": torch.zeros_like(gt),
            "cls_gt": (soft > 0.5).to(torch.int64),
            "selector": torch.tensor([1.0, 0.0]),
            "info": {"name": name, "frames": [f"{name}_{t}" for t in range(self.num_frames)]},
        }
