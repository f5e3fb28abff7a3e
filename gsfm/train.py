"""``gsfm.train``: the trainer's public names in one place (the code lives in :mod:`gsfm.training`).

>>> from gsfm.train import train
>>> train("gsfm", "cpu", ["synth"], "runs/gsfm-cpu")  # doctest: +SKIP
"""

from __future__ import annotations

from gsfm.training import *  # noqa: F403
from gsfm.training import __all__ as _training_all
from gsfm.training.api import DataSpec, build_train_data, parse_data_spec, saved_run_settings, train

__all__ = [
    *_training_all,
    "DataSpec",
    "build_train_data",
    "parse_data_spec",
    "saved_run_settings",
    "train",
]
