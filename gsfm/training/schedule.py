"""Training schedules: the step learning rate, epochs and the max-skip curriculum.

The authors (``docs/paper_vs_code.md`` §4) step ``MultiStepLR`` once per iteration and switch
the data's max skip only at epoch boundaries: with ``total_epochs = ceil(iterations /
len(loader))`` the skip becomes ``skip_values[i]`` at epoch ``round(total_epochs *
skip_fractions[i])`` (the example in the facts: 518 epochs switch at 52, 104, 155, 207, 466).
We do the same. Our "iteration" is one optimizer step, which consumes ``grad_accum`` loader
batches (micro-batches), so an epoch of ``B`` batches lasts ``B / grad_accum`` iterations and the
number of epochs is ``ceil(iterations * grad_accum / B)``. An endless synthetic stream has no
natural epoch: the caller gives it a fixed length (``TrainConfig.epoch_samples``), which defines
the epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gsfm.config import TrainConfig

__all__ = ["EpochPlan", "lr_at", "max_skip_for_epoch", "skip_switch_epochs"]


def lr_at(iteration: int, cfg: TrainConfig) -> float:
    """The learning rate used by the optimizer step of 0-based ``iteration``.

    Equal to what ``MultiStepLR(milestones=cfg.lr_steps, gamma=cfg.lr_gamma)`` gives after
    ``iteration`` scheduler steps (one per iteration, as the authors do).
    """
    passed = sum(1 for m in cfg.lr_steps if m <= iteration)
    return cfg.lr * cfg.lr_gamma**passed


def skip_switch_epochs(total_epochs: int, fractions: tuple[float, ...]) -> list[int]:
    """The epochs at which the max skip changes: ``round(total_epochs * f)`` for each fraction."""
    return [round(total_epochs * f) for f in fractions]


def max_skip_for_epoch(epoch: int, total_epochs: int, cfg: TrainConfig) -> int:
    """The max skip in force during 0-based ``epoch`` of a run of ``total_epochs`` epochs."""
    skip = cfg.max_skip_initial
    for switch, value in zip(
        skip_switch_epochs(total_epochs, cfg.skip_fractions), cfg.skip_values, strict=True
    ):
        if epoch >= switch:
            skip = value
    return skip


@dataclass(frozen=True)
class EpochPlan:
    """How loader batches map onto epochs for one process.

    ``batches_per_epoch`` is the number of (micro-)batches one process draws per epoch
    (``len(DataLoader)`` with ``drop_last``); the data position of a run is the number of
    batches it has consumed, which fixes the epoch and the offset inside it.
    """

    batches_per_epoch: int
    total_epochs: int

    @classmethod
    def for_run(cls, batches_per_epoch: int, cfg: TrainConfig) -> EpochPlan:
        """The plan of a run of ``cfg.iterations`` steps of ``cfg.grad_accum`` batches each."""
        if batches_per_epoch < 1:
            raise ValueError(
                "the training data yields no full batch per process: "
                f"batches_per_epoch={batches_per_epoch} (too few samples for batch_size="
                f"{cfg.batch_size} and the number of processes)"
            )
        total = math.ceil(cfg.iterations * cfg.grad_accum / batches_per_epoch)
        return cls(batches_per_epoch=batches_per_epoch, total_epochs=total)

    def epoch_of(self, consumed: int) -> int:
        """The epoch the next batch belongs to, after ``consumed`` batches."""
        return consumed // self.batches_per_epoch

    def offset_of(self, consumed: int) -> int:
        """The index inside its epoch of the next batch, after ``consumed`` batches."""
        return consumed % self.batches_per_epoch

    def max_skip(self, epoch: int, cfg: TrainConfig) -> int:
        """The max skip of ``epoch`` under ``cfg``'s curriculum."""
        return max_skip_for_epoch(epoch, self.total_epochs, cfg)
