"""The authors' state-dict layout (STCN / GSFM ``eval_network.STCN``) and ours.

Our parameter names follow the authors' wherever the structure is the same; four prefixes
differ (``official_gsfm_state_dict.tsv``, ``official_stcn_state_dict.tsv``):

================================================  ==========================================
authors                                           ours
================================================  ==========================================
``key_encoder.res2.*``                            ``key_encoder.layer1.*`` (torchvision name)
``key_proj.key_proj.*``                           ``key_proj.*``
``value_encoder.fuser.attention.ChannelGate.*``   ``value_encoder.fuser.cbam.channel_gate.*``
``value_encoder.fuser.attention.SpatialGate.spatial.conv.*``
                                                  ``value_encoder.fuser.cbam.spatial_gate.conv.*``
================================================  ==========================================

A stage-0 (single-object) checkpoint has a 4-channel value-encoder ``conv1``; it is padded with
a zero slice for the "other objects" channel, as the authors' evaluation scripts do (§5).
Released checkpoints hold only the network (no optimizer); a ``module.`` prefix from
DistributedDataParallel is removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from gsfm.config import ModelConfig, model_config

__all__ = ["from_official", "is_official_layout", "official_config"]

# (authors' prefix, our prefix)
_RENAMES: tuple[tuple[str, str], ...] = (
    ("key_encoder.res2.", "key_encoder.layer1."),
    ("key_proj.key_proj.", "key_proj."),
    ("value_encoder.fuser.attention.ChannelGate.", "value_encoder.fuser.cbam.channel_gate."),
    (
        "value_encoder.fuser.attention.SpatialGate.spatial.conv.",
        "value_encoder.fuser.cbam.spatial_gate.conv.",
    ),
)
_VALUE_CONV1 = "value_encoder.conv1.weight"


def _rename(name: str) -> str:
    """An authors' parameter name -> ours."""
    for theirs, ours in _RENAMES:
        if name.startswith(theirs):
            return ours + name[len(theirs) :]
    return name


def _strip_module(state: Mapping[str, Any]) -> dict[str, Any]:
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def is_official_layout(state: Mapping[str, Any]) -> bool:
    """True if ``state`` uses the authors' names (e.g. ``key_encoder.res2.*``)."""
    keys = _strip_module(state).keys()
    return any(k.startswith(("key_encoder.res2.", "key_proj.key_proj.")) for k in keys)


def from_official(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The authors' state dict → ours (renames; 4-channel value conv1 padded with zeros)."""
    out = {_rename(k): v for k, v in _strip_module(state).items()}
    w = out.get(_VALUE_CONV1)
    if isinstance(w, torch.Tensor) and w.dim() == 4 and w.shape[1] == 4:
        out[_VALUE_CONV1] = torch.cat([w, torch.zeros_like(w[:, :1])], dim=1)
    return out


def official_config(state: Mapping[str, Any], **overrides: Any) -> ModelConfig:
    """The paper configuration matching an authors' checkpoint: GSFM if it holds an LFM, else STCN.

    The authors' networks are ResNet-50 / ResNet-18 with 64-d keys and 512-d values, so the
    ``paper`` profile applies; ``overrides`` (e.g. ``top_k``) are passed to the config.
    """
    keys = _strip_module(state).keys()
    name = "gsfm" if "lfm.conv1.weight" in keys else "stcn"
    has_bias = "key_encoder.conv1.bias" in keys
    has_boundary = "decoder.boundary_1.weight" in keys
    has_hfm = "decoder.hfm.conv1.weight" in keys
    fields: dict[str, Any] = {"key_conv_bias": has_bias, "boundary": has_boundary}
    if not has_hfm:
        fields["hfm"] = "off"
    if name == "gsfm" and "lfm.conv2.weight" not in keys:
        fields["spectral_convs"] = 1
    fields.update(overrides)
    return model_config(name, "paper", **fields)
