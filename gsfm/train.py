"""``gsfm.train``: the trainer's public names in one place (the code lives in :mod:`gsfm.training`).

>>> from gsfm.train import train
>>> train("gsfm", "cpu", ["synth"], "runs/gsfm-cpu")  # doctest: +SKIP
"""

from __future__ import annotations

from gsfm.training import (
    LOG_COLUMNS,
    DistContext,
    EpochPlan,
    NonFiniteLossError,
    RunFolder,
    Trainer,
    TrainResult,
    init_distributed,
    load_training_state,
    lr_at,
    max_skip_for_epoch,
)
from gsfm.training.api import DataSpec, build_train_data, parse_data_spec, saved_run_settings, train

__all__ = [
    "LOG_COLUMNS",
    "DataSpec",
    "DistContext",
    "EpochPlan",
    "NonFiniteLossError",
    "RunFolder",
    "TrainResult",
    "Trainer",
    "build_train_data",
    "init_distributed",
    "load_training_state",
    "lr_at",
    "max_skip_for_epoch",
    "parse_data_spec",
    "saved_run_settings",
    "train",
]
