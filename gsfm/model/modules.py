"""Small building blocks shared by the encoders and the decoder (``docs/paper_vs_code.md`` §1.4–1.5).

* :class:`ResBlock`: STCN's pre-activation residual block without normalisation.
* :class:`CBAM`: channel gate then spatial gate (STCN's variant: no BN/ReLU in the gate convs).
* :class:`FeatureFusionBlock`: fuses the value encoder's layer3 with the key's f16 (paper §3.1).
* :class:`UpsampleBlock`: one decoder stage, skip conv + bilinear ×2 + ResBlock.
* :class:`BatchNorm2d`: ``nn.BatchNorm2d`` whose eval-mode forward is a single operator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CBAM",
    "BatchNorm2d",
    "ChannelGate",
    "FeatureFusionBlock",
    "ResBlock",
    "SpatialGate",
    "UpsampleBlock",
    "conv3x3",
]


def conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    """3×3 conv with padding 1 and a bias (every decoder / fusion conv has one)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters, buffers and state-dict keys) whose forward with
    frozen running statistics (eval mode, GSFM's frozen BatchNorm) calls the inference kernel
    directly: one operator where ``F.batch_norm`` dispatches two (it also allocates an unused
    reserve tensor). Same arithmetic; in training mode it is ``nn.BatchNorm2d``'s forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.running_mean is None or self.running_var is None:
            return super().forward(x)
        self._check_input_dim(x)
        return torch.ops.aten._native_batch_norm_legit_no_training(
            x, self.weight, self.bias, self.running_mean, self.running_var, 0.0, self.eps
        )[0]


class ResBlock(nn.Module):
    """Pre-activation residual block: ``skip(x) + conv2(relu(conv1(relu(x))))``.

    ``skip`` is the identity when the channel counts agree, else a 3×3 conv (``downsample``,
    the authors' name, although nothing is downsampled).
    """

    def __init__(self, in_ch: int, out_ch: int | None = None) -> None:
        super().__init__()
        out_ch = in_ch if out_ch is None else out_ch
        self.conv1 = conv3x3(in_ch, out_ch)
        self.conv2 = conv3x3(out_ch, out_ch)
        self.downsample = conv3x3(in_ch, out_ch) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.conv2(F.relu(self.conv1(F.relu(x))))  # (B, out_ch, H, W)
        skip = x if self.downsample is None else self.downsample(x)
        return skip + r


class ChannelGate(nn.Module):
    """CBAM channel attention: shared MLP on global average and max pooling, summed, sigmoid."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        # index 0 flattens (B, C, 1, 1) -> (B, C); the Linear layers are mlp.1 and mlp.3
        self.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W); both poolings through the shared MLP in one batch: (2B, C, 1, 1)
        pooled = torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)])
        avg, mx = self.mlp(pooled).chunk(2)  # (B, C) each
        return x * torch.sigmoid(avg + mx)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial attention: [max, mean] over channels → 7×7 conv (2→1) → sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W) -> [max, mean] over channels (B, 2, H, W)
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel gate first, then spatial gate.

    Returns the gated tensor; the residual add is done by the caller (the fusion block).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.channel_gate = ChannelGate(channels, reduction)
        self.spatial_gate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial_gate(self.channel_gate(x))


class FeatureFusionBlock(nn.Module):
    """Value-side fusion: ``x = block1([value, key_f16]); x = block2(x + CBAM(x))``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.block1 = ResBlock(in_ch, out_ch)
        self.cbam = CBAM(out_ch)
        self.block2 = ResBlock(out_ch, out_ch)

    def forward(self, value: torch.Tensor, key_f16: torch.Tensor) -> torch.Tensor:
        x = self.block1(torch.cat([value, key_f16], dim=1))  # (B, out_ch, h, w)
        return self.block2(x + self.cbam(x))  # (B, out_ch, h, w)


class UpsampleBlock(nn.Module):
    """Decoder stage: ``out_conv(skip_conv(skip) + up×2(x))`` (bilinear, align_corners=False)."""

    def __init__(self, skip_ch: int, up_ch: int, out_ch: int) -> None:
        super().__init__()
        self.skip_conv = conv3x3(skip_ch, up_ch)
        self.out_conv = ResBlock(up_ch, out_ch)

    def forward(self, skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # x (B, up_ch, h, w) -> (B, up_ch, 2h, 2w); skip (B, skip_ch, 2h, 2w)
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.out_conv(self.skip_conv(skip) + up)  # (B, out_ch, 2h, 2w)
