"""The GSFM / STCN network and its parts (paper §3; ``docs/paper_vs_code.md`` §1–3).

``build_model("gsfm" | "stcn", profile=..., **overrides)`` is the entry point. Modules:
``encoders`` (ResNet key/value encoders), ``modules`` (ResBlock, CBAM, fusion, upsampling),
``memory`` (affinity, top-k readout), ``decoder`` (STCN and details-aware heads),
``aggregate`` (soft aggregation), ``attention`` (non-local block, Table 3 "Attn."),
``network`` (``GSFMNet``), ``official`` (the authors' state-dict layout), ``pretrained``
(torchvision's ImageNet weights for the encoders: ``init_encoders``).
"""

from gsfm.model.aggregate import aggregate, aggregate_logits
from gsfm.model.network import GSFMNet, KeyFeatures, build_model, count_parameters
from gsfm.model.pretrained import PretrainedWeightsError, init_encoders

__all__ = [
    "GSFMNet",
    "KeyFeatures",
    "PretrainedWeightsError",
    "aggregate",
    "aggregate_logits",
    "build_model",
    "count_parameters",
    "init_encoders",
]
