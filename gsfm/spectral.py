"""Spectral filters and the frequency module behind LFM and HFM (paper §3.2, Fig. 3, 4, 6).

The authors' computation (``docs/paper_vs_code.md`` §2), which is the default here:

1. ``Y = fft2(x)`` over (H, W) in float32, norm ``"backward"`` (unnormalised forward transform);
2. ``Y = Y * band_filter`` where the Gaussian ``g`` is centred at ``(h//2, w//2)`` of the
   *unshifted* spectrum, i.e. on the highest (Nyquist) frequency, not on DC;
   LFM uses ``1 - g`` (keeps DC and low frequencies), HFM uses ``g`` (keeps a band at Nyquist);
3. ``[Re Y, Im Y]`` along channels (2C) → 1×1 conv 2C→2C → ReLU → 1×1 conv 2C→2C;
4. split into (real, imag), back to complex, ``ifft2``, keep the real part;
5. residual: ``x + z``.

The paper's Fig. 4 draws one 1×1 conv followed by ReLU; ``convs=1`` gives that form.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Band = Literal["low", "high", "all"]
SigmaMode = Literal["bins", "relative"]

BANDS: tuple[str, ...] = ("low", "high", "all")
SIGMA_MODES: tuple[str, ...] = ("bins", "relative")

__all__ = [
    "BANDS",
    "FrequencyModule",
    "HFM",
    "LFM",
    "band_filter",
    "gaussian_at_nyquist",
    "sigma_in_bins",
]


def sigma_in_bins(sigma: float, h: int, w: int, mode: SigmaMode = "bins") -> tuple[float, float]:
    """Return the Gaussian's standard deviation along (rows, columns) in frequency bins.

    ``mode="bins"`` (the paper and the code): ``sigma`` is in bins along both axes, so the
    share of the spectrum the filter covers shrinks as the feature map grows.
    ``mode="relative"``: ``sigma`` is a fraction of the map size, ``σ_rows = sigma·h`` and
    ``σ_cols = sigma·w`` bins, so the filter covers the same share of the spectrum at every
    size. The paper's σ = 7 at the 24×24 training maps corresponds to ``sigma = 7/24 ≈ 0.29``.
    """
    if mode not in SIGMA_MODES:
        raise ValueError(f"sigma mode must be one of {SIGMA_MODES}, got {mode!r}")
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    if h < 1 or w < 1:
        raise ValueError(f"map size must be positive, got {h}x{w}")
    if mode == "bins":
        return float(sigma), float(sigma)
    return float(sigma) * h, float(sigma) * w


def gaussian_at_nyquist(
    h: int,
    w: int,
    sigma: float = 7.0,
    mode: SigmaMode = "bins",
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The authors' ``g``: a Gaussian on the unshifted spectrum centred at bin (h//2, w//2).

    In an unshifted FFT, bin (0, 0) is DC and (h//2, w//2) is the highest frequency, so ``g``
    is 1 at Nyquist and decays towards DC. Returns an (h, w) tensor.
    """
    su, sv = sigma_in_bins(sigma, h, w, mode)
    u = torch.arange(h, dtype=torch.float64, device=device) - h // 2
    v = torch.arange(w, dtype=torch.float64, device=device) - w // 2
    g = torch.exp(-(u[:, None] ** 2) / (2 * su**2) - (v[None, :] ** 2) / (2 * sv**2))
    return g.to(dtype)


@lru_cache(maxsize=128)
def _cached_filter(
    h: int, w: int, sigma: float, band: str, mode: str, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    # Built as a normal tensor even when first asked for under torch.inference_mode(): an
    # inference tensor in the shared cache would break every later forward that needs autograd.
    with torch.inference_mode(False), torch.no_grad():
        if band == "all":
            filt = torch.ones(h, w, dtype=dtype, device=device)
        else:
            g = gaussian_at_nyquist(h, w, sigma, mode, device=device, dtype=torch.float64)  # type: ignore[arg-type]
            filt = (1.0 - g if band == "low" else g).to(dtype)
        return filt.view(1, 1, h, w)


def band_filter(
    h: int,
    w: int,
    sigma: float = 7.0,
    band: Band = "low",
    mode: SigmaMode = "bins",
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    cache: bool = True,
) -> torch.Tensor:
    """The (1, 1, h, w) multiplier applied to the unshifted spectrum.

    ``band="low"`` → ``1 - g`` (LFM), ``"high"`` → ``g`` (HFM), ``"all"`` → ones (the paper's
    all-pass "freqF" row). Cached per (h, w, σ, band, mode, device, dtype) and built directly on
    ``device``; the cached tensor is shared, so treat it as read-only.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    sigma_in_bins(sigma, h, w, mode)  # validates sigma, size and mode
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if not cache:
        return _cached_filter.__wrapped__(h, w, float(sigma), band, mode, dev, dtype)
    return _cached_filter(h, w, float(sigma), band, mode, dev, dtype)


class FrequencyModule(nn.Module):
    """Global spectral mixing of a feature map: FFT → band filter → 1×1 conv(s) → iFFT → residual.

    Args:
        channels: C, the number of input (and output) channels.
        band: ``"low"`` for LFM (``1 - g``), ``"high"`` for HFM (``g``), ``"all"`` for no filter.
        sigma: Gaussian width, in bins (``sigma_mode="bins"``, the default and the paper's) or as
            a fraction of the map size (``"relative"``, see :func:`sigma_in_bins`).
        convs: 2 (default) is the authors' code: conv → ReLU → conv. 1 is the paper's Fig. 4:
            conv → ReLU.
        fast: use ``rfft2``/``irfft2`` on the half spectrum. About half the conv work, but it is
            *not* numerically the authors' module: the full-spectrum version keeps the real part
            of a non-Hermitian spectrum (= its Hermitian part), while the half-spectrum version
            lets ``irfft2`` impose symmetry on what the convs produce. Same shapes and parameter
            names, different function; weights are not interchangeable one-to-one.

    Precision: the whole module runs in float32, also under ``torch.autocast``. The forward
    transform is unnormalised (DC = sum over all H·W positions), so spectral values and the 1×1
    conv activations easily exceed float16's 65504 on real feature maps; the authors ran these
    convs in fp16 under AMP, which risks inf/NaN. We run them in float32 (a small cost: they are
    1×1 convs on 1/16 or 1/4 maps) and cast the result back to the input's dtype.
    """

    def __init__(
        self,
        channels: int,
        band: Band = "low",
        sigma: float = 7.0,
        *,
        sigma_mode: SigmaMode = "bins",
        convs: int = 2,
        fast: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        if band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {band!r}")
        if convs not in (1, 2):
            raise ValueError(f"convs must be 1 (paper Fig. 4) or 2 (authors' code), got {convs!r}")
        sigma_in_bins(sigma, 1, 1, sigma_mode)  # validate early
        self.channels = channels
        self.band = band
        self.sigma = float(sigma)
        self.sigma_mode = sigma_mode
        self.fast = fast
        self.conv1 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1)
        self.conv2 = nn.Conv2d(2 * channels, 2 * channels, kernel_size=1) if convs == 2 else None

    @property
    def convs(self) -> int:
        return 1 if self.conv2 is None else 2

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, band={self.band!r}, sigma={self.sigma}, "
            f"sigma_mode={self.sigma_mode!r}, convs={self.convs}, fast={self.fast}"
        )

    def filter_for(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """The (1, 1, h, w) spectral multiplier this module uses for an h×w map."""
        return band_filter(h, w, self.sigma, self.band, self.sigma_mode, device=device)  # type: ignore[arg-type]

    def spectral_convs(self, y: torch.Tensor) -> torch.Tensor:
        """The learned part: 1×1 conv(s) on [real, imag] stacked along channels (float32)."""
        y = F.relu(F.conv2d(y, self.conv1.weight.float(), self.conv1.bias.float()))
        if self.conv2 is not None:
            y = F.conv2d(y, self.conv2.weight.float(), self.conv2.bias.float())
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(
                f"{type(self).__name__} expects a 4-D (B, C, H, W) tensor, got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.channels:
            raise ValueError(
                f"{type(self).__name__} was built for {self.channels} channels, "
                f"got {x.shape[1]} (input shape {tuple(x.shape)})"
            )
        h, w = x.shape[-2:]
        with torch.autocast(device_type=x.device.type, enabled=False):
            xf = x.float()  # (B, C, H, W)
            if self.fast:
                y = torch.fft.rfft2(xf)
                y = y * self.filter_for(h, w, x.device)[..., : w // 2 + 1]
            else:
                y = torch.fft.fft2(xf)
                y = y * self.filter_for(h, w, x.device)
            y = self.spectral_convs(torch.cat([y.real, y.imag], dim=1))  # (B, 2C, H, W')
            re, im = y.chunk(2, dim=1)
            y = torch.complex(re, im)
            z = torch.fft.irfft2(y, s=(h, w)) if self.fast else torch.fft.ifft2(y).real
            out = xf + z
        return out.to(x.dtype)


class LFM(FrequencyModule):
    """Low Frequency Module: the encoder-side module (paper §3.2), band ``1 - g``.

    ``gsfm.LFM(1024)`` is the authors' LFM on ResNet-50 layer3 features.
    """

    def __init__(self, channels: int, sigma: float = 7.0, **kwargs) -> None:
        kwargs.setdefault("band", "low")
        super().__init__(channels, sigma=sigma, **kwargs)


class HFM(FrequencyModule):
    """High Frequency Module: the decoder-side module (paper §3.3), band ``g``.

    ``gsfm.HFM(256)`` is the authors' HFM on the 1/4-scale boundary features.
    """

    def __init__(self, channels: int, sigma: float = 7.0, **kwargs) -> None:
        kwargs.setdefault("band", "high")
        super().__init__(channels, sigma=sigma, **kwargs)
