"""Saving and loading networks (and training state) safely.

* :func:`save_checkpoint` writes atomically (temp file in the same folder + ``os.replace``):
  ``{"format": "gsfm", "version": 1, "config": ModelConfig as a dict, "model": state dict,
  **extra}``. ``extra`` (optimizer / scheduler / scaler state, iteration, RNG states) must be
  plain tensors and containers, so that everything loads with ``weights_only=True``; anything
  else is rejected when saving, not when loading.
* :func:`load_model` rebuilds the network from the stored configuration and loads the weights.
  It also reads the authors' STCN / GSFM checkpoints (a bare state dict in their key layout,
  see :mod:`gsfm.model.official`) and builds the matching ``paper`` configuration.
* A checkpoint that does not fit the model gets one error naming the file and listing (briefly)
  the missing and unexpected keys and the shape mismatches.
* Every file is read with :func:`gsfm.files.read_torch_file` (``weights_only=True``, one
  :class:`~gsfm.files.CheckpointError` line for a corrupt, empty or foreign file).
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gsfm.config import ModelConfig, legacy_model_name
from gsfm.files import CHECKPOINT_KINDS, CheckpointError, atomic_save, read_torch_file
from gsfm.model.network import GSFMNet
from gsfm.model.official import from_official, is_official_layout, official_config

__all__ = [
    "CheckpointError",
    "load_model",
    "load_state",
    "load_weights",
    "model_from_state",
    "model_weights",
    "save_checkpoint",
]

FORMAT = "gsfm"
VERSION = 1
# what a model checkpoint file may be (used in error messages)
_PLAIN = (torch.Tensor, int, float, bool, str, bytes, type(None))


def _check_plain(obj: Any, where: str) -> None:
    if isinstance(obj, _PLAIN):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, int | str | float | bool | type(None)):
                raise TypeError(f"{where}: key {k!r} of type {type(k).__name__} cannot be saved")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__name__}; checkpoints hold only tensors, numbers, strings "
        "and lists/tuples/dicts of them (so that they load with weights_only=True)"
    )


def save_checkpoint(path: str | os.PathLike[str], model: GSFMNet, **extra: Any) -> Path:
    """Atomically save ``model`` (config + state dict) and ``extra`` plain entries to ``path``."""
    reserved = {"format", "version", "config", "model"} & set(extra)
    if reserved:
        raise ValueError(f"extra entries may not be named {sorted(reserved)}")
    _check_plain(extra, "checkpoint extra")
    module = model.module if hasattr(model, "module") else model  # DDP wrapper
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": asdict(module.config),
        "model": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        **extra,
    }
    return atomic_save(path, payload)


def _kind_of(obj: Any) -> str:
    """``a Tensor`` / ``a dict with keys 'a', 'b', ...`` for error messages."""
    if isinstance(obj, dict):
        keys = [repr(k) for k in list(obj)[:4]]
        more = ", ..." if len(obj) > 4 else ""
        return f"a dict with keys {', '.join(keys)}{more}" if keys else "an empty dict"
    return f"a {type(obj).__name__}"


def load_state(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    *,
    what: str = "checkpoint",
) -> dict[str, Any]:
    """Read a checkpoint file (ours, or a bare state dict) with :func:`read_torch_file`."""
    state = read_torch_file(path, what=what, map_location=map_location)
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{what} {path} is not {CHECKPOINT_KINDS}: it holds {_kind_of(state)}, not a dict "
            "of weights",
            path,
        )
    return state


def model_weights(state: dict[str, Any], path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model's state dict, in our key layout, from what :func:`load_state` returned.

    Accepts our checkpoints (``{"format": "gsfm", "model": ...}``), training checkpoints of
    other modules (``{"model": ...}``), and the authors' STCN / GSFM weights (a bare state dict
    in their layout, or one under ``"state_dict"``). Anything else raises one
    :class:`CheckpointError` naming ``path``.
    """
    if state.get("format") == FORMAT:
        if not isinstance(state.get("model"), dict):
            raise CheckpointError(f"{path} lacks its 'model' entry", path)
        return state["model"]
    for key in ("state_dict", "model"):
        if isinstance(state.get(key), dict):
            inner = state[key]
            return from_official(inner) if is_official_layout(inner) else inner
    if is_official_layout(state):
        return from_official(state)
    raise CheckpointError(_foreign(path, state), path)


def _foreign(path: str | os.PathLike[str], state: Any) -> str:
    return (
        f"{path} is neither a gsfm checkpoint nor a state dict in the authors' STCN/GSFM "
        f"layout (it holds {_kind_of(state)})"
    )


def _summarise(names: list[str], limit: int = 3) -> str:
    """``N (per module: a.* x, b.* y); e.g. first, second, ...`` for a list of key names."""
    groups: dict[str, int] = {}
    for n in names:
        top = n.split(".")[0]
        groups[top] = groups.get(top, 0) + 1
    per = ", ".join(f"{k}.* {v}" for k, v in groups.items())
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    return f"{len(names)} ({per}); e.g. {shown}"


def load_weights(model: nn.Module, state: dict[str, Any], source: str = "state dict") -> None:
    """Load a state dict strictly; a mismatch raises one :class:`CheckpointError` naming ``source``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys: {_summarise(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_summarise(unexpected)}")
        if shapes:
            parts.append(f"shape mismatch: {_summarise(shapes)}")
        raise CheckpointError(f"{source} does not fit the model configuration; " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def _config_from_dict(data: dict[str, Any], source: str) -> ModelConfig:
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CheckpointError(f"{source} stores unknown model option(s) {unknown}")
    # backbone weight files are not needed: the state dict holds every weight
    data = {**data, "key_encoder_weights": None, "value_encoder_weights": None}
    if "name" not in data:  # checkpoints written before ModelConfig had a name
        data["name"] = legacy_model_name(data)
    try:
        return ModelConfig(**data)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source} stores an invalid model configuration: {exc}") from exc


def load_model(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    **overrides: Any,
) -> GSFMNet:
    """Rebuild the network stored in ``path`` and load its weights (eval mode).

    Reads our checkpoints and the authors' STCN / GSFM checkpoints (bare state dicts in their
    layout). ``overrides`` change inference-only fields (``top_k``, ``mem_every``).
    """
    return model_from_state(load_state(path, map_location), path, map_location, **overrides)


def model_from_state(
    state: dict[str, Any],
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    **overrides: Any,
) -> GSFMNet:
    """:func:`load_model` for a checkpoint already read with :func:`load_state` from ``path``."""
    bad = set(overrides) - {"top_k", "mem_every"}
    if bad:
        raise ValueError(
            f"only top_k / mem_every can be overridden when loading, not {sorted(bad)}"
        )
    source = f"checkpoint {path}"
    if state.get("format") == FORMAT:
        if not isinstance(state.get("config"), dict) or not isinstance(state.get("model"), dict):
            raise CheckpointError(f"{path} lacks its 'config' or 'model' entry", path)
        config = _config_from_dict(dict(state["config"]), source)
        if overrides:
            config = ModelConfig(**{**asdict(config), **overrides})
    else:
        raw = state["state_dict"] if isinstance(state.get("state_dict"), dict) else state
        if not is_official_layout(raw):
            raise CheckpointError(_foreign(path, state), path)
        config = official_config(raw, **overrides)
    model = GSFMNet(config)
    load_weights(model, model_weights(state, path), source)
    return model.to(map_location).eval()
