"""Non-local self-attention block, the "Attn." row of the paper's Table 3 (§5.2).

The paper replaces LFM by "other strategy that fusing global information, e.g., attention"
at the same place (after the key encoder's layer3). The authors' code for it is not public;
this is the standard embedded-Gaussian non-local block (Wang et al., CVPR 2018):

    θ, φ, g = 1×1 convs C → C/2;  y = softmax(θᵀφ) g;  out = x + W(y),  W: 1×1 conv C/2 → C.

``W`` starts at zero, so the block starts as the identity, like LFM's residual branch starts
near it. Runs in float32 under autocast (the softmax over all positions).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NonLocalBlock"]


class NonLocalBlock(nn.Module):
    """Global self-attention over all spatial positions, with a residual connection."""

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.inner = inner
        self.theta = nn.Conv2d(channels, inner, kernel_size=1)
        self.phi = nn.Conv2d(channels, inner, kernel_size=1)
        self.g = nn.Conv2d(channels, inner, kernel_size=1)
        self.out = nn.Conv2d(inner, channels, kernel_size=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        with torch.autocast(device_type=x.device.type, enabled=False):
            xf = x.float()  # (B, C, H, W)
            q = self.theta(xf).flatten(2)  # (B, C', HW)
            k = self.phi(xf).flatten(2)
            v = self.g(xf).flatten(2)
            attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, HW, HW): query x key
            y = (v @ attn.transpose(1, 2)).view(b, self.inner, h, w)  # (B, C', H, W)
            out = xf + self.out(y)  # (B, C, H, W)
        return out.to(x.dtype)
