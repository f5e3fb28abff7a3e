"""gsfm: learn, re-implement and re-examine GSFM (Global Spectral Filter Memory, ECCV 2022).

Public names are imported lazily so that ``import gsfm`` stays cheap; see ``_LAZY``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "LFM": "gsfm.spectral",
    "HFM": "gsfm.spectral",
    "FrequencyModule": "gsfm.spectral",
    "band_filter": "gsfm.spectral",
    "build_model": "gsfm.model",
    "GSFMNet": "gsfm.model",
    "GSFMLoss": "gsfm.losses",
    "InferenceEngine": "gsfm.inference",
    "InferenceSettings": "gsfm.inference",
    "predict_folder": "gsfm.prediction",
    "train": "gsfm.training.api",
    "save_checkpoint": "gsfm.checkpoint",
    "load_model": "gsfm.checkpoint",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gsfm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
