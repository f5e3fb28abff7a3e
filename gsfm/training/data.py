"""Feeding the trainer: deterministic samples, resumable epochs, the max-skip curriculum.

Exact resume needs the data to be a pure function of the run's position. Three pieces give it:

* :class:`SampleKey` is what one sample is a function of: its index, its epoch and, for video
  data under the curriculum, the max skip of that epoch. The sampler hands keys, not bare
  indices, to the DataLoader, so the epoch state travels with every sample into worker
  processes: persistent workers keep the copy of the dataset they were forked with and never
  see a ``set_epoch`` / ``set_max_skip`` made in the main process afterwards.
* :class:`SeededSamples` applies a key's epoch and max skip to its dataset and seeds Python's,
  NumPy's and torch's global generators from ``(seed, epoch, index)`` around every
  ``__getitem__`` (and puts the caller's states back), so a sample's augmentation depends only
  on where it sits in the run, not on worker processes, on what ran before or on a restart.
* :class:`ResumableSampler` wraps ``DistributedSampler`` (one shard per process, reshuffled
  every epoch, ``drop_last``) and yields the keys of a whole run, epoch after epoch, from any
  batch position on; :class:`BatchStream` counts the batches handed out (the data position
  stored in checkpoints) and takes the max skip of each epoch from :mod:`gsfm.training.schedule`.

Because the keys span epochs, one DataLoader iterator serves the whole run: workers prefetch
across epoch boundaries instead of draining and refilling at each one. With workers the loader
keeps them alive (``persistent_workers``, for a :meth:`BatchStream.seek`) and, on CUDA, pins
batches in page-locked memory.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from gsfm.config import TrainConfig
from gsfm.training.schedule import EpochPlan
from gsfm.training.state import sample_seed

__all__ = ["BatchStream", "ResumableSampler", "SampleKey", "SeededSamples", "to_device"]


class SampleKey(NamedTuple):
    """One sample of a run: dataset ``index`` in ``epoch``, drawn with ``max_skip`` (``None``:
    the dataset's own, e.g. without curriculum)."""

    index: int
    epoch: int
    max_skip: int | None = None


class SeededSamples(Dataset):
    """``dataset`` whose item ``i`` in epoch ``e`` is drawn with generators seeded by (seed, e, i).

    Items are looked up by :class:`SampleKey` (epoch and max skip are applied to the dataset
    first, in whichever process reads it) or by a bare index (the epoch last set).
    """

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

    def __getitem__(self, key: int | SampleKey) -> Any:
        if isinstance(key, SampleKey):
            self.set_epoch(key.epoch)
            if key.max_skip is not None:
                self.set_max_skip(key.max_skip)
            index = key.index
        else:
            index = int(key)
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


class ResumableSampler(Sampler[SampleKey]):
    """The :class:`SampleKey` s of one process for a whole run, from a batch position on.

    Epoch ``e`` is a ``DistributedSampler`` pass (shuffle, ``drop_last``; its permutation is a
    function of seed and ``e``) cut to whole batches of ``batch_size``, so a batch never spans
    two epochs; ``max_skip_of(e)`` gives the keys' max skip. Endless: the consumer counts.
    """

    def __init__(
        self,
        size: int,
        num_replicas: int,
        rank: int,
        seed: int,
        batch_size: int = 1,
        shuffle: bool = True,
        max_skip_of: Callable[[int], int | None] | None = None,
    ) -> None:
        self.inner = DistributedSampler(
            range(size),  # type: ignore[arg-type]
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=True,
        )
        self.batch_size = int(batch_size)
        self.batches_per_epoch = len(self.inner) // self.batch_size
        self.max_skip_of = max_skip_of
        self._start = 0

    def start_at(self, consumed: int) -> None:
        """Let the next pass begin after ``consumed`` batches of the run."""
        self._start = int(consumed)

    def epoch_keys(self, epoch: int, first_batch: int = 0) -> list[SampleKey]:
        """The keys of ``epoch``'s whole batches, from batch ``first_batch`` of the epoch on."""
        self.inner.set_epoch(epoch)
        order = list(self.inner)[: self.batches_per_epoch * self.batch_size]
        skip = self.max_skip_of(epoch) if self.max_skip_of is not None else None
        return [SampleKey(int(i), epoch, skip) for i in order[first_batch * self.batch_size :]]

    def __iter__(self) -> Iterator[SampleKey]:
        if self.batches_per_epoch < 1:
            return
        epoch, offset = divmod(self._start, self.batches_per_epoch)
        while True:
            yield from self.epoch_keys(epoch, offset)
            epoch, offset = epoch + 1, 0


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

    ``consumed`` counts the batches handed out so far; :meth:`seek` jumps to a position saved in
    a checkpoint. Batch ``k`` is a pure function of ``(seed, k)``: its samples' keys carry their
    epoch and, when ``curriculum`` is on and the data has a max skip, that epoch's skip. After
    each batch, :attr:`epoch` / :attr:`max_skip` and the main process's copy of the data
    describe the epoch of the batch just handed out. With ``cfg.num_workers > 0`` the workers
    persist for the stream's life (:meth:`close` ends them) and ``pin_memory`` (default: when
    CUDA is available) pins batches for asynchronous copies to the GPU.
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
        pin_memory: bool | None = None,
        collate_fn: Any = None,
    ) -> None:
        self.samples = (
            dataset if isinstance(dataset, SeededSamples) else SeededSamples(dataset, seed)
        )
        self.cfg = cfg
        self.seed = int(seed)
        self.batch_size = cfg.batch_size
        self.curriculum = curriculum and self.samples.has_max_skip
        self.sampler = ResumableSampler(
            len(self.samples),
            world_size,
            rank,
            seed,
            batch_size=cfg.batch_size,
            max_skip_of=self._skip_of if self.curriculum else None,
        )
        self.plan = EpochPlan.for_run(self.sampler.batches_per_epoch, cfg)
        self.max_skip: int | None = None
        self.generator = torch.Generator()
        workers = int(cfg.num_workers)
        pin = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.loader = DataLoader(
            self.samples,
            batch_size=cfg.batch_size,
            sampler=self.sampler,
            drop_last=True,
            num_workers=workers,
            pin_memory=pin and workers > 0 and torch.cuda.is_available(),
            persistent_workers=workers > 0,
            generator=self.generator,  # keeps the global torch generator untouched
            collate_fn=collate_fn,
        )
        self.consumed = 0
        self._iter: Iterator[Any] | None = None
        self._applied: tuple[int, int | None] | None = None

    def _skip_of(self, epoch: int) -> int:
        return self.plan.max_skip(epoch, self.cfg)

    @property
    def epoch(self) -> int:
        """The epoch of the next batch."""
        return self.plan.epoch_of(self.consumed)

    def seek(self, consumed: int) -> None:
        """Continue from the position reached after ``consumed`` batches."""
        self.consumed = int(consumed)
        self._iter = None

    def _start(self) -> None:
        """A loader pass from :attr:`consumed` on (its workers: started, or reset if alive)."""
        self.sampler.start_at(self.consumed)
        self.generator.manual_seed(sample_seed(self.seed, self.epoch, 0x5EED))
        self._iter = iter(self.loader)

    def _follow(self, epoch: int) -> None:
        """Tell the main process's copy of the data the epoch (and skip) just served."""
        skip = self._skip_of(epoch) if self.curriculum else None
        if self._applied != (epoch, skip):
            self.samples.set_epoch(epoch)
            if skip is not None:
                self.samples.set_max_skip(skip)
            self._applied = (epoch, skip)
        self.max_skip = skip

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        if self._iter is None:
            self._start()
        assert self._iter is not None
        batch = next(self._iter)
        self._follow(self.epoch)
        self.consumed += 1
        return batch

    def take(self, count: int) -> Sequence[Any]:
        """The next ``count`` batches (the micro-batches of one optimizer step)."""
        return [next(self) for _ in range(count)]

    def close(self) -> None:
        """End the worker processes now (they also end when the stream is collected)."""
        self._iter = None
        it = getattr(self.loader, "_iterator", None)  # the persistent workers' iterator
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()
            self.loader._iterator = None
