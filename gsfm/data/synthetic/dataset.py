"""The in-memory training stream: :class:`SyntheticTrainSet`, training triplets drawn and
rendered on the fly from fresh scenes (no disk I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from gsfm.data.synthetic.render import _ShapeCache, render_frames
from gsfm.data.synthetic.sampling import sample_video
from gsfm.data.synthetic.spec import _SPLIT_CODE, CASES, get_version
from gsfm.data.transforms import to_chw_uint8
from gsfm.data.triplets import make_sample, pick_objects, sample_triplet_indices

__all__ = ["SyntheticTrainSet"]


class SyntheticTrainSet(Dataset):
    """Endless-style training triplets generated in memory (no disk I/O).

    Map-style with a fixed ``length``; sample ``i`` is a pure function of
    ``(version, seed, epoch, i, max_skip)``. Each sample draws a fresh scene (case drawn at
    random, ``stream_frames`` virtual frames), picks 3 frame indices with the authors' rule and
    :meth:`set_max_skip`'s skip (the frame distance inside the generated clip), renders only
    those frames at ``crop_size`` and samples the target / second object from the first frame
    of the triplet (up to ``retries`` tries, then an empty target). Unannotated lookalikes and
    occluders are background. Returns the sample dict of :func:`gsfm.data.triplets.make_sample`.
    """

    def __init__(
        self,
        version: str = "v1",
        crop_size: int | tuple[int, int] = 128,
        length: int = 100_000,
        seed: int = 0,
        max_skip: int = 5,
        max_objects: int = 2,
        retries: int = 5,
    ) -> None:
        self.version = get_version(version)
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        self.height, self.width = int(crop_size[0]), int(crop_size[1])
        if self.height < 16 or self.width < 16:
            raise ValueError(f"crop size {crop_size} is too small (at least 16x16)")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length = int(length)
        self.seed = int(seed)
        self.max_objects = int(max_objects)
        self.retries = int(retries)
        self.epoch = 0
        self.max_skip = 5
        self.set_max_skip(max_skip)

    def set_max_skip(self, n: int) -> None:
        """Set the max frame distance between sampled frames (the curriculum's skip)."""
        if n < 1:
            raise ValueError(f"max_skip must be >= 1, got {n}")
        self.max_skip = int(n)

    def set_epoch(self, epoch: int) -> None:
        """Mix ``epoch`` into the per-sample seeds."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        v = self.version
        rng = np.random.default_rng(
            [
                v.version_seed,
                _SPLIT_CODE["stream"],
                self.seed,
                self.epoch,
                int(index),
                self.max_skip,
            ]
        )
        case = CASES[int(rng.integers(0, len(CASES)))]
        spec = sample_video(
            rng, v, case, v.stream_frames, self.width / self.height, f"stream_{index:07d}"
        )
        cache = _ShapeCache(v.canonical)
        target = second = None
        for _ in range(self.retries):
            idx = sample_triplet_indices(v.stream_frames, self.max_skip, rng)
            images, labels, _ = render_frames(
                spec, idx, self.height, self.width, v.canonical, cache
            )
            target, second = pick_objects(labels[0], rng, self.max_objects)
            if target is not None:
                break
        frames = to_chw_uint8(images)
        return make_sample(
            frames, torch.from_numpy(labels), target, second, spec.name, [f"{i:05d}" for i in idx]
        )
