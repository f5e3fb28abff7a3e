"""Training GSFM and the STCN baseline: one trainer for every profile and stage.

* :class:`Trainer` (:mod:`gsfm.training.loop`): the loop, AMP, gradient accumulation, DDP,
  non-finite-loss stop, checkpoints and exact resume;
* :mod:`gsfm.training.schedule`: step LR, epochs and the max-skip curriculum;
* :mod:`gsfm.training.data`: deterministic samples and resumable epochs;
* :mod:`gsfm.training.run_folder`: config.json, log.csv, checkpoints;
* :mod:`gsfm.training.distributed`: torchrun / process group helpers;
* :func:`train` (:mod:`gsfm.training.api`): build model, loss and data from names and run.
"""

from __future__ import annotations

from gsfm.training.distributed import DistContext, init_distributed
from gsfm.training.loop import NonFiniteLossError, Trainer, TrainResult, load_training_state
from gsfm.training.run_folder import LOG_COLUMNS, RunFolder
from gsfm.training.schedule import EpochPlan, lr_at, max_skip_for_epoch

__all__ = [
    "LOG_COLUMNS",
    "DistContext",
    "EpochPlan",
    "NonFiniteLossError",
    "RunFolder",
    "TrainResult",
    "Trainer",
    "init_distributed",
    "load_training_state",
    "lr_at",
    "max_skip_for_epoch",
]
