"""Key and value encoders built from torchvision ResNets (``docs/paper_vs_code.md`` §1.1, §1.4).

* Key encoder: a ResNet up to ``layer3`` (ResNet-50 in the paper). It returns
  ``f16`` (layer3, stride 16), ``f8`` (layer2) and ``f4`` (layer1). GSFM's backbone has a
  trainable, zero-initialised bias on every conv (the authors' ``mod_resnet``); STCN's is the
  plain torchvision one (``conv_bias=False``).
* Value encoder: a ResNet-18 up to ``layer3`` whose first conv takes the image plus two extra
  channels (this object's mask, the other objects' masks); the extra input slices are
  orthogonally initialised. Its convs always carry zero-initialised biases (``mod_resnet`` in
  both STCN and GSFM). A :class:`~gsfm.model.modules.FeatureFusionBlock` then fuses it with the
  key encoder's f16.

Nothing is downloaded: ResNets are built with ``weights=None``; a local torchvision state-dict
file can be named instead (loaded with ``weights_only=True``).

Channel counts are read from the backbone (ResNet-18: f4/f8/f16 = 64/128/256, ResNet-50:
256/512/1024), so every layer after the encoders adapts to the backbone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torchvision
from torch import nn

from gsfm.files import read_torch_file
from gsfm.model.modules import BatchNorm2d, FeatureFusionBlock

__all__ = [
    "RESNETS",
    "KeyEncoder",
    "ValueEncoder",
    "add_conv_bias",
    "build_resnet",
    "fold_conv_biases",
    "stage_channels",
    "widen_first_conv",
]

RESNETS: tuple[str, ...] = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


def build_resnet(name: str, weights: str | Path | None = None) -> torchvision.models.ResNet:
    """A torchvision ResNet with random init, or with a local state-dict file loaded into it.

    Its BatchNorm layers are :class:`~gsfm.model.modules.BatchNorm2d` (torchvision's layout
    and keys; one operator per layer when frozen)."""
    if name not in RESNETS:
        raise ValueError(f"unknown backbone {name!r}; choose one of {RESNETS}")
    net = getattr(torchvision.models, name)(weights=None, norm_layer=BatchNorm2d)
    if weights is not None:
        path = Path(weights)
        state = read_torch_file(
            path, what="backbone weight file", expected=f"a torchvision {name} state dict"
        )
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        try:
            net.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{path} is not a torchvision {name} state dict: {str(exc).splitlines()[0]}"
            ) from exc
    return net


def add_conv_bias(module: nn.Module) -> nn.Module:
    """Give every bias-free ``Conv2d`` inside ``module`` a trainable, zero-initialised bias.

    The conv weights are kept (same Parameter objects), so the function output is unchanged
    until the biases are trained. Modifies ``module`` in place and returns it.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d) and child.bias is None:
            conv = nn.Conv2d(
                child.in_channels,
                child.out_channels,
                child.kernel_size,
                stride=child.stride,
                padding=child.padding,
                dilation=child.dilation,
                groups=child.groups,
                bias=True,
                padding_mode=child.padding_mode,
            )
            conv.weight = child.weight
            nn.init.zeros_(conv.bias)
            setattr(module, name, conv)
        else:
            add_conv_bias(child)
    return module


def fold_conv_biases(
    state: Mapping[str, torch.Tensor], prefix: str = "key_encoder."
) -> dict[str, torch.Tensor]:
    """``state`` without the conv biases under ``prefix``, each folded into the running mean
    of the BatchNorm after its conv (``running_mean − bias``): the same eval-mode outputs from
    the bias-free architecture (``key_conv_bias=False``), exactly up to float rounding.

    Why: with trained BatchNorm (``freeze_bn=False``, the ``cpu`` profile) a conv bias is no
    parameter of the function: in training the BatchNorm subtracts the batch mean, bias
    included, and the fold moves what its running mean holds. So a trained GSFM, folded, is a
    state of its twin STCN+LFM+HFM+boundary. With frozen BatchNorm (the other profiles) the
    bias does act in training, as a second copy of the BatchNorm's shift; the fold is then a
    reparameterisation of the trained network, not a statement about its training. ResNet
    names: ``…convN`` feeds ``…bnN``, ``…downsample.0`` feeds ``…downsample.1``."""
    out = dict(state)
    for key in [k for k in state if k.startswith(prefix) and k.endswith(".bias")]:
        conv = key[: -len(".bias")]
        parent, _, leaf = conv.rpartition(".")
        if leaf.startswith("conv"):
            bn = (
                f"{parent}.{leaf.replace('conv', 'bn', 1)}"
                if parent
                else leaf.replace("conv", "bn", 1)
            )
        elif leaf == "0" and parent.endswith("downsample"):
            bn = f"{parent}.1"
        else:
            continue  # a BatchNorm's own bias (beta), not a conv's
        mean = f"{bn}.running_mean"
        if mean not in state:
            raise ValueError(
                f"{key}: no BatchNorm running mean {mean!r} to fold the conv bias into"
            )
        out[mean] = state[mean] - state[key]
        del out[key]
    return out


def stage_channels(net: torchvision.models.ResNet) -> tuple[int, int, int]:
    """Output channels of layer1, layer2, layer3 (f4, f8, f16)."""
    expansion = type(net.layer1[0]).expansion
    return 64 * expansion, 128 * expansion, 256 * expansion


class KeyEncoder(nn.Module):
    """ResNet stem + layer1..layer3 → (f16, f8, f4). Shared by query and memory frames."""

    def __init__(
        self, name: str = "resnet50", weights: str | Path | None = None, conv_bias: bool = False
    ) -> None:
        super().__init__()
        net = build_resnet(name, weights)
        if conv_bias:
            add_conv_bias(net)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3
        self.channels: tuple[int, int, int] = stage_channels(net)  # (f4, f8, f16)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        f4 = self.layer1(x)  # (N, C4, H/4, W/4)
        f8 = self.layer2(f4)  # (N, C8, H/8, W/8)
        f16 = self.layer3(f8)  # (N, C16, H/16, W/16)
        return f16, f8, f4


def widen_first_conv(conv: nn.Conv2d, extra: int) -> nn.Conv2d:
    """A copy of ``conv`` taking ``extra`` more input channels, initialised orthogonally.

    The existing (pretrained or random) RGB kernel is kept for the first input channels.
    """
    out = nn.Conv2d(
        conv.in_channels + extra,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        bias=conv.bias is not None,
    )
    extra_w = torch.empty(conv.out_channels, extra, *conv.kernel_size)
    nn.init.orthogonal_(extra_w)
    with torch.no_grad():
        out.weight.copy_(torch.cat([conv.weight, extra_w], dim=1))
        if conv.bias is not None:
            out.bias.copy_(conv.bias)
    return out


class ValueEncoder(nn.Module):
    """Encodes (image, this object's mask, other objects' mask) into a memory value.

    ``forward(image, key_f16, mask, other)`` with image (N,3,H,W), masks (N,1,H,W) and the key
    encoder's (LFM-processed) f16 (N,C16,H/16,W/16); returns (N, value_dim, H/16, W/16).
    """

    def __init__(
        self,
        key_f16_channels: int,
        value_dim: int = 512,
        name: str = "resnet18",
        weights: str | Path | None = None,
        extra_channels: int = 2,
    ) -> None:
        super().__init__()
        net = build_resnet(name, weights)
        add_conv_bias(net)  # the authors' mod_resnet, in STCN and GSFM alike
        self.extra_channels = extra_channels
        self.conv1 = widen_first_conv(net.conv1, extra_channels)
        self.bn1, self.relu, self.maxpool = net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3
        c16 = stage_channels(net)[2]
        self.fuser = FeatureFusionBlock(c16 + key_f16_channels, value_dim)

    def forward(
        self, image: torch.Tensor, key_f16: torch.Tensor, mask: torch.Tensor, other: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([image, mask, other], dim=1)  # (N, 5, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer3(self.layer2(self.layer1(x)))  # (N, 256, H/16, W/16)
        return self.fuser(x, key_f16)  # (N, value_dim, H/16, W/16)
