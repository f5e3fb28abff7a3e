"""torchvision's ImageNet weights for the ResNet encoders (the authors' ``pretrained=True``).

The authors start both encoders from torchvision's ImageNet weights (``IMAGENET1K_V1``, what
``pretrained=True`` meant) and train with frozen BatchNorm. :func:`init_encoders` does the same
for a built :class:`~gsfm.model.network.GSFMNet`, after the fact, so that building a model never
needs the network:

* the key encoder (stem + layer1..layer3) takes the ResNet's weights as they are; the zero-init
  conv biases GSFM adds (``key_conv_bias``) have no ImageNet counterpart and stay zero;
* the value encoder's first conv takes 3 + 2 input channels: the RGB kernel goes into the first
  three, the two orthogonally initialised mask channels are kept; its added conv biases stay
  zero and its fusion block is not part of the ResNet;
* layer4 and fc are not used by either encoder and are ignored.

Weights come from the torch.hub cache (``torch.hub.get_dir()/checkpoints/<file>``, i.e.
``$TORCH_HOME/hub/checkpoints``), read with :func:`gsfm.files.read_torch_file`, or else are
downloaded there through ``torch.hub`` (hash-checked). Without either there is one
:class:`PretrainedWeightsError` that says what was looked for and how to go on without it.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torchvision
from torch import nn

from gsfm.config import ENCODER_INITS
from gsfm.files import read_torch_file
from gsfm.model.encoders import RESNETS

if TYPE_CHECKING:
    from gsfm.model.network import GSFMNet

__all__ = [
    "PretrainedWeightsError",
    "imagenet_cache_path",
    "imagenet_state_dict",
    "imagenet_weights",
    "init_encoders",
]

_HASH = re.compile(r"-([a-f0-9]+)\.")  # torchvision file names end in -<sha256 prefix>.pth
_WAYS_ON = (
    "to go on without it, pass a local torchvision state-dict file (key_encoder_weights=PATH / "
    "value_encoder_weights=PATH; CLI --key-encoder-weights PATH / --value-encoder-weights PATH) "
    'or train from random weights (encoder_init="random"; CLI --encoder-init random)'
)


class PretrainedWeightsError(RuntimeError):
    """ImageNet weights that are neither in the torch.hub cache nor downloadable."""


def imagenet_weights(name: str) -> torchvision.models.WeightsEnum:
    """The torchvision weights enum entry ``IMAGENET1K_V1`` of ResNet ``name`` (e.g.
    ``ResNet50_Weights.IMAGENET1K_V1`` for ``"resnet50"``): the authors' ``pretrained=True``."""
    if name not in RESNETS:
        raise ValueError(f"unknown backbone {name!r}; choose one of {RESNETS}")
    return torchvision.models.get_model_weights(name).IMAGENET1K_V1


def imagenet_cache_path(name: str) -> Path:
    """Where torch.hub keeps the ImageNet weight file of ResNet ``name`` (honours TORCH_HOME)."""
    url = imagenet_weights(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def imagenet_state_dict(
    name: str, *, download: bool = True, progress: bool = False
) -> dict[str, torch.Tensor]:
    """The ImageNet state dict of torchvision ResNet ``name``: from the torch.hub cache, else
    downloaded into it (when ``download``). Raises :class:`PretrainedWeightsError` when neither
    works, naming the backbone, the cache file and the ways on without it."""
    weights = imagenet_weights(name)
    path = imagenet_cache_path(name)
    if not path.is_file():
        if not download:
            reason = "downloading is switched off"
        else:
            reason = _download(weights.url, path, progress)
        if reason is not None:
            raise PretrainedWeightsError(
                f"no ImageNet weights for the {name} encoder ({weights}): the torch.hub cache "
                f"file {path} does not exist and {reason}; put torchvision's file there (or "
                f"point TORCH_HOME at a cache holding it), or {_WAYS_ON}"
            )
    state = read_torch_file(
        path, what=f"{name} ImageNet weight file", expected=f"a torchvision {name} state dict"
    )
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a torchvision {name} state dict (not a dict of tensors)")
    return state


# seconds a connection or a read of the download may wait before it fails (a machine without
# network then falls back at once instead of hanging)
DOWNLOAD_TIMEOUT_S = 30.0


def _download(url: str, path: Path, progress: bool) -> str | None:
    """Download ``url`` to ``path`` (hash-checked, atomic); None, or why it failed (one line).

    Every socket operation of the download times out after :data:`DOWNLOAD_TIMEOUT_S`
    (``torch.hub`` sets none itself)."""
    match = _HASH.search(path.name)
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            url, str(path), hash_prefix=match[1] if match else None, progress=progress
        )
    except Exception as exc:  # URLError, socket timeouts, hash mismatch, read-only cache, ...
        text = str(exc).strip().splitlines()
        return f"downloading {url} failed ({type(exc).__name__}: {text[0] if text else ''})"
    finally:
        socket.setdefaulttimeout(before)
    return None


def _conv_biases(module: nn.Module) -> set[str]:
    """State-dict names of the conv biases in ``module`` (gsfm adds them; torchvision has none)."""
    return {
        f"{n}.bias"
        for n, m in module.named_modules()
        if isinstance(m, nn.Conv2d) and m.bias is not None
    }


def _load_backbone(
    encoder: nn.Module, state: dict[str, torch.Tensor], source: str, skip: tuple[str, ...] = ()
) -> None:
    """Copy the ResNet ``state`` into ``encoder``'s backbone tensors, in place.

    Every backbone tensor must be in ``state`` with the same shape, except the conv biases
    gsfm added (kept) and a first conv with more input channels than RGB (its first three
    input channels get the RGB kernel, the others are kept). Names starting with ``skip``
    (the value encoder's fusion block) are left alone. Errors name ``source`` (the file).
    """
    added = _conv_biases(encoder)
    with torch.no_grad():
        for key, dst in encoder.state_dict().items():
            if key.startswith(skip):
                continue
            src = state.get(key)
            if src is None:
                if key in added:
                    continue
                raise ValueError(f"{source} lacks {key!r}")
            if key == "conv1.weight" and src.dim() == 4 and dst.shape[1] > src.shape[1]:
                dst = dst[:, : src.shape[1]]
            if dst.shape != src.shape:
                raise ValueError(
                    f"{source} does not fit {key!r}: {tuple(src.shape)} for {tuple(dst.shape)}"
                )
            dst.copy_(src)


def init_encoders(
    net: GSFMNet, encoder_init: str, *, download: bool = True, progress: bool = False
) -> dict[str, str]:
    """Start ``net``'s key and value encoders as ``encoder_init`` says; returns their provenance.

    ``"imagenet"`` loads torchvision's ImageNet weights into both ResNets (see the module
    docstring for what goes where); ``"random"`` leaves them as built. An encoder whose
    ``net.config.*_encoder_weights`` names a local file was loaded from it when the model was
    built and is left alone either way. Returns ``{"key_encoder": ..., "value_encoder": ...}``,
    each ``"torchvision ResNet50_Weights.IMAGENET1K_V1 (<path>)"``, ``"local file <path>"`` or
    ``"random"``.
    """
    if encoder_init not in ENCODER_INITS:
        raise ValueError(f"encoder_init must be one of {ENCODER_INITS}, got {encoder_init!r}")
    cfg = net.config
    parts = (
        ("key_encoder", net.key_encoder, cfg.key_encoder, cfg.key_encoder_weights, ()),
        (
            "value_encoder",
            net.value_encoder,
            cfg.value_encoder,
            cfg.value_encoder_weights,
            ("fuser.",),
        ),
    )
    loaded: dict[str, dict[str, torch.Tensor]] = {}  # one read per backbone (smoke: both resnet18)
    out: dict[str, str] = {}
    for role, encoder, name, local, skip in parts:
        if local is not None:
            out[role] = f"local file {local}"
        elif encoder_init == "random":
            out[role] = "random"
        else:
            if name not in loaded:
                loaded[name] = imagenet_state_dict(name, download=download, progress=progress)
            source = f"torchvision {imagenet_weights(name)} ({imagenet_cache_path(name)})"
            _load_backbone(encoder, loaded[name], source, skip)
            out[role] = source
    return out
