"""Data: the synthetic benchmark, DAVIS / YouTube-VOS readers, training triplets, augmentation.

Modules: :mod:`.io` (frames and palette PNGs), :mod:`.layout` (folder layouts),
:mod:`.synthetic` (the ``synth-v1`` benchmark, its shapes and textures, and the
in-memory training stream), :mod:`.triplets` (frame / object sampling, max-skip curriculum,
the VOS triplet dataset), :mod:`.static` (images -> pseudo-videos), :mod:`.transforms`
(torchvision v2 augmentation), :mod:`.davis` and :mod:`.youtube` (evaluation readers),
:mod:`.checks` (a folder's file lists and headers, checked once before long work reads it).
Names below are imported lazily. (Trivial predictions, which score themselves, are
:mod:`gsfm.baselines`: the data layer imports nothing from the layers above it.)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "DAVIS_PALETTE": "gsfm.data.io",
    "read_image": "gsfm.data.io",
    "read_mask": "gsfm.data.io",
    "write_mask": "gsfm.data.io",
    "write_image": "gsfm.data.io",
    "SyntheticTrainSet": "gsfm.data.synthetic",
    "generate_video": "gsfm.data.synthetic",
    "write_split": "gsfm.data.synthetic",
    "VERSIONS": "gsfm.data.synthetic",
    "VOSTripletDataset": "gsfm.data.triplets",
    "max_skip_at": "gsfm.data.triplets",
    "sample_triplet_indices": "gsfm.data.triplets",
    "StaticPseudoVideoDataset": "gsfm.data.static",
    "DAVISVideo": "gsfm.data.davis",
    "DAVISEvalDataset": "gsfm.data.davis",
    "YouTubeVOSEvalDataset": "gsfm.data.youtube",
    "check_videos": "gsfm.data.checks",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gsfm.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
