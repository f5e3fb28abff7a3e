"""Decoders: STCN's mask head and GSFM's details-aware head (paper §3.3, ``docs/paper_vs_code.md`` §1.5).

Shared trunk (the authors' widths in brackets, ``d = decoder_dim = 256``):

    x16 = [memory readout, query key_comp]        (2·value_dim = 1024 ch, stride 16)
    x = compress(x16)     ResBlock → 2d           (512)
    x = up_16_8(f8, x)    skip conv + ×2 + ResBlock → d at stride 8   (256)
    x = up_8_4(f4, x)     → d at stride 4         (256)

STCN head (:class:`STCNHead`, ``boundary=False``): ``logits = pred(relu(x))``. If an HFM is given without the
boundary branch, it filters ``x`` before ``pred`` (our choice; the paper's Table 5 has an
"HFM without boundary branch" row but the code for it is not public).

Details-aware head (:class:`DetailsAwareHead`, ``boundary=True``), in the authors' order:

    x_b = HFM(boundary_1(x))                 boundary branch (HFM optional)
    x_m = mask_1(x)                          mask branch
    x_b = x_b + relu(fusion_1(x_m))          mask → boundary fusion (1×1)
    x_b = relu(boundary_3(boundary_2(x_b)))
    x_m = x_m + relu(fusion_2(x_b))          boundary → mask fusion (1×1)
    mask logits     = pred(relu(predict_mask(x_m)))
    boundary logits = predict_boundary_2(relu(predict_boundary_1(x_b)))

Both logit maps are upsampled ×4 (bilinear, align_corners=False) to the input resolution.

Inference needs the masks only: inside :func:`masks_only` the details-aware head skips the
boundary output's two convolutions and its upsampling (the boundary branch itself still runs:
it feeds the mask branch through ``fusion_2``), so the mask logits are unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from gsfm.model.modules import ResBlock, UpsampleBlock, conv3x3

__all__ = ["DetailsAwareHead", "STCNHead", "build_decoder", "masks_only", "upsample4"]


def upsample4(x: torch.Tensor) -> torch.Tensor:
    """Bilinear ×4 upsampling from stride 4 to full resolution."""
    return F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)


class STCNHead(nn.Module):
    """STCN's mask decoder, run once per object: returns (mask logits, ``None``).

    The shared trunk (compress, two upsampling stages) and the 3×3 ``pred`` conv. An optional
    frequency module ``hfm`` filters the stride-4 features before ``pred``.
    """

    has_boundary = False

    def __init__(
        self, in_ch: int, f8_ch: int, f4_ch: int, dim: int = 256, hfm: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.compress = ResBlock(in_ch, 2 * dim)
        self.up_16_8 = UpsampleBlock(f8_ch, 2 * dim, dim)
        self.up_8_4 = UpsampleBlock(f4_ch, dim, dim)
        self.pred = conv3x3(dim, 1)
        self.hfm = hfm

    def trunk(self, x16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor) -> torch.Tensor:
        """Stride-16 input and the two skips → ``dim`` channels at stride 4."""
        x = self.compress(x16)  # (N, 2·dim, H/16, W/16), N = B·K
        x = self.up_16_8(f8, x)  # (N, dim, H/8, W/8)
        return self.up_8_4(f4, x)  # (N, dim, H/4, W/4)

    def forward(
        self, x16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.trunk(x16, f8, f4)  # (N, dim, H/4, W/4)
        if self.hfm is not None:
            x = self.hfm(x)
        return upsample4(self.pred(F.relu(x))), None  # (N, 1, H, W)


class DetailsAwareHead(STCNHead):
    """GSFM's details-aware decoder: STCN's trunk, a boundary branch (with the HFM) and the
    two fusions between the mask and boundary branches. Returns (mask, boundary) logits."""

    has_boundary = True
    boundary_output = True  # False inside :func:`masks_only`: the boundary logits are skipped

    def __init__(
        self, in_ch: int, f8_ch: int, f4_ch: int, dim: int = 256, hfm: nn.Module | None = None
    ) -> None:
        super().__init__(in_ch, f8_ch, f4_ch, dim, hfm)
        self.boundary_1 = conv3x3(dim, dim)
        self.mask_1 = conv3x3(dim, dim)
        self.boundary_2 = conv3x3(dim, dim)
        self.boundary_3 = conv3x3(dim, dim)
        self.fusion_1 = nn.Conv2d(dim, dim, kernel_size=1)
        self.fusion_2 = nn.Conv2d(dim, dim, kernel_size=1)
        self.predict_boundary_1 = conv3x3(dim, dim)
        self.predict_boundary_2 = conv3x3(dim, 1)
        self.predict_mask = conv3x3(dim, dim)

    def forward(
        self, x16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.trunk(x16, f8, f4)  # (N, dim, H/4, W/4), N = B·K
        x_b = self.boundary_1(x)  # (N, dim, H/4, W/4) boundary branch
        if self.hfm is not None:
            x_b = self.hfm(x_b)
        x_m = self.mask_1(x)  # (N, dim, H/4, W/4) mask branch
        x_b = x_b + F.relu(self.fusion_1(x_m))  # mask -> boundary
        x_b = F.relu(self.boundary_3(self.boundary_2(x_b)))
        x_m = x_m + F.relu(self.fusion_2(x_b))  # boundary -> mask
        mask = self.pred(F.relu(self.predict_mask(x_m)))  # (N, 1, H/4, W/4)
        if not self.boundary_output:
            return upsample4(mask), None
        edge = self.predict_boundary_2(F.relu(self.predict_boundary_1(x_b)))  # (N, 1, H/4, W/4)
        return upsample4(mask), upsample4(edge)  # (N, 1, H, W) each


@contextlib.contextmanager
def masks_only(decoder: nn.Module | None) -> Iterator[None]:
    """Within the block, ``decoder`` returns no boundary logits (``None``): inference's
    setting, which saves the boundary head's output convolutions. Restored on exit."""
    if not isinstance(decoder, DetailsAwareHead):
        yield
        return
    decoder.boundary_output = False
    try:
        yield
    finally:
        del decoder.boundary_output  # back to the class default


def build_decoder(
    in_ch: int,
    f8_ch: int,
    f4_ch: int,
    dim: int = 256,
    boundary: bool = True,
    hfm: nn.Module | None = None,
) -> STCNHead:
    """The details-aware head when ``boundary`` is true, else STCN's head."""
    head = DetailsAwareHead if boundary else STCNHead
    return head(in_ch, f8_ch, f4_ch, dim, hfm)
