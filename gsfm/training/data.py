"""Feeding the trainer: deterministic samples, resumable epochs, the max-skip curriculum.

Exact resume needs the data to be a pure function of the run's position. Three pieces give it:

* :class:`SeededSamples` seeds Python's, NumPy's and torch's global generators from
  ``(seed, epoch, index)`` around every ``__getitem__`` (and puts the caller's states back), so a
  sample's augmentation depends only on where it sits in the run, not on worker processes, on
  what ran before or on a restart.
* :class:`ResumableSampler` wraps ``DistributedSampler`` (one shard per process, reshuffled by
  ``set_epoch``) and can start an epoch part-way through.
* :class:`BatchStream` hands out loader batches across epoch boundaries, counts them (the data
  position stored in checkpoints), calls ``set_epoch`` and, for video data, switches the max skip
  at epoch boundaries (:mod:`gsfm.training.schedule`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from gsfm.config import TrainConfig
from gsfm.training.schedule import EpochPlan
from gsfm.training.state import sample_seed

__all__ = ["BatchStream", "ResumableSampler", "SeededSamples", "to_device"]


class SeededSamples(Dataset):
    """``dataset`` whose item ``i`` in epoch ``e`` is drawn with generators seeded by (seed, e, i)."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        """Samples of later epochs get other augmentations (and, for a stream, other clips)."""
        self.epoch = int(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def set_max_skip(self, max_skip: int) -> None:
        """Forward the curriculum's max skip to the wrapped dataset."""
        self.dataset.set_max_skip(max_skip)  # type: ignore[attr-defined]

    @property
    def has_max_skip(self) -> bool:
        """Whether the wrapped dataset samples frames with a max skip (video data)."""
        return hasattr(self.dataset, "set_max_skip")

    def __getitem__(self, index: int) -> Any:
        py, npst, th = random.getstate(), np.random.get_state(), torch.get_rng_state()
        s = sample_seed(self.seed, self.epoch, index)
        random.seed(s)
        np.random.seed(s)
        torch.manual_seed(s)
        try:
            return self.dataset[index]
        finally:
            random.setstate(py)
            np.random.set_state(npst)
            torch.set_rng_state(th)


class ResumableSampler(Sampler[int]):
    """A ``DistributedSampler`` (shuffle, drop_last) whose next epoch can skip its first items."""

    def __init__(self, size: int, num_replicas: int, rank: int, seed: int, shuffle: bool = True):
        self.inner = DistributedSampler(
            range(size),  # type: ignore[arg-type]
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=True,
        )
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (the permutation is a function of seed and epoch)."""
        self.inner.set_epoch(epoch)

    def skip_next(self, count: int) -> None:
        """Leave out the first ``count`` indices of the next pass (resuming mid-epoch)."""
        self._skip = int(count)

    def __len__(self) -> int:
        return len(self.inner) - self._skip

    def __iter__(self) -> Iterator[int]:
        indices = list(self.inner)[self._skip :]
        self._skip = 0
        return iter(indices)


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor moved to ``device`` (dicts, lists and tuples walked)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)) and not isinstance(batch, str):
        return type(batch)(to_device(v, device) for v in batch) if batch else batch
    return batch


class BatchStream:
    """Loader batches for one process, across epochs, with a resumable position.

    ``consumed`` counts the batches handed out so far; :meth:`seek` jumps to a position saved in a
    checkpoint. At each epoch start the sampler and samples are told the epoch and, when
    ``curriculum`` is on and the data has a max skip, the skip of that epoch is set.
    """

    def __init__(
        self,
        dataset: Dataset,
        cfg: TrainConfig,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        curriculum: bool = True,
        pin_memory: bool = False,
        collate_fn: Any = None,
    ) -> None:
        self.samples = (
            dataset if isinstance(dataset, SeededSamples) else SeededSamples(dataset, seed)
        )
        self.cfg = cfg
        self.seed = int(seed)
        self.sampler = ResumableSampler(len(self.samples), world_size, rank, seed)
        self.batch_size = cfg.batch_size
        self.plan = EpochPlan.for_run(len(self.sampler.inner) // cfg.batch_size, cfg)
        self.curriculum = curriculum and self.samples.has_max_skip
        self.max_skip: int | None = None
        self.generator = torch.Generator()
        self.loader = DataLoader(
            self.samples,
            batch_size=cfg.batch_size,
            sampler=self.sampler,
            drop_last=True,
            num_workers=cfg.num_workers,
            pin_memory=pin_memory,
            generator=self.generator,  # keeps the global torch generator untouched
            collate_fn=collate_fn,
        )
        self.consumed = 0
        self._iter: Iterator[Any] | None = None
        self._left = 0

    @property
    def epoch(self) -> int:
        """The epoch of the next batch."""
        return self.plan.epoch_of(self.consumed)

    def seek(self, consumed: int) -> None:
        """Continue from the position reached after ``consumed`` batches."""
        self.consumed = int(consumed)
        self._iter = None

    def _start_epoch(self) -> None:
        epoch, offset = self.plan.epoch_of(self.consumed), self.plan.offset_of(self.consumed)
        self.samples.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        self.sampler.skip_next(offset * self.batch_size)
        if self.curriculum:
            self.max_skip = self.plan.max_skip(epoch, self.cfg)
            self.samples.set_max_skip(self.max_skip)
        self.generator.manual_seed(sample_seed(self.seed, epoch, 0x5EED))
        self._iter = iter(self.loader)
        self._left = self.plan.batches_per_epoch - offset

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        if self._iter is None:
            self._start_epoch()
        assert self._iter is not None
        batch = next(self._iter)
        self.consumed += 1
        self._left -= 1
        if self._left <= 0:
            self._iter = None
        return batch

    def take(self, count: int) -> Sequence[Any]:
        """The next ``count`` batches (the micro-batches of one optimizer step)."""
        return [next(self) for _ in range(count)]
