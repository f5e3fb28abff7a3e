"""The computations behind notebooks 01 and 02: spectra, filtering, and measurements of LFM/HFM.

Everything a notebook shows or asserts about the frequency modules is computed here, so that
the notebooks stay thin and the logic is unit-tested (``tests/test_analysis_spectral.py``). The image and map sizes each profile uses
are in :func:`gsfm.config.profile_sizes`. Here:

* photographs shipped with scikit-image, as float arrays (:func:`load_image`);
* unshifted and shifted magnitude spectra, and the authors' band filter applied to an image
  (:func:`magnitude_spectrum`, :func:`apply_band_filter`);
* the convolution theorem checked numerically (:func:`circular_convolve`,
  :func:`convolution_theorem_error`);
* the gain of each band at DC, on average and above one half, at each feature-map size
  (:func:`filter_stats`, :func:`band_gain`, :func:`band_share_table`), and the filter's
  spatial kernel (:func:`filter_kernel`, :func:`kernel_stats`);
* the LFM computation written out step by step, keeping every intermediate tensor
  (:func:`frequency_module_steps`);
* the receptive field of one output pixel (:func:`receptive_field`), and two artefacts at the
  origin of the update ``z``: the second conv's bias (:func:`bias_footprint`) and the rectified
  spectrum's mean (:func:`origin_excess`, :func:`origin_table`);
* parameter and FLOP counts of a frequency module (:func:`frequency_module_flops`,
  :func:`cost_table`; parameters with :func:`gsfm.model.count_parameters`).

Plotting lives in :mod:`gsfm.viz.spectral`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import skimage.data
import torch
import torch.nn.functional as F
from skimage.color import rgb2gray
from skimage.transform import resize
from torch import nn
from torchvision.models import resnet18

from gsfm.spectral import BANDS, FrequencyModule, band_filter, gaussian_at_nyquist

__all__ = [
    "FEATURE_MAP_SIZES",
    "IMAGE_NAMES",
    "PAPER_SIGMA",
    "TRAIN_MAP_SIDE",
    "ModuleSteps",
    "apply_band_filter",
    "band_gain",
    "band_share_table",
    "bias_footprint",
    "circular_convolve",
    "convolution_theorem_error",
    "cost_table",
    "filter_kernel",
    "filter_stats",
    "frequency_module_flops",
    "frequency_module_steps",
    "kernel_stats",
    "load_image",
    "magnitude_spectrum",
    "origin_excess",
    "origin_table",
    "receptive_field",
    "resnet_features",
    "reach",
    "training_relative_sigma",
    "without_relu",
]

#: σ of the paper and the authors' code, in frequency bins.
PAPER_SIGMA: float = 7.0
#: Side of the 1/16-scale feature map that LFM sees during training (384² crops).
TRAIN_MAP_SIDE: int = 24

#: Photographs (and textures) that scikit-image ships inside its package: no download needed.
IMAGE_NAMES: tuple[str, ...] = ("camera", "astronaut", "coffee", "chelsea", "rocket", "brick")

#: Feature-map sizes where LFM (1/16 scale) and HFM (1/4 scale) run, as (label, h, w).
FEATURE_MAP_SIZES: tuple[tuple[str, int, int], ...] = (
    ("LFM, training 384² (1/16)", 24, 24),
    ("LFM, 480p inference (1/16)", 30, 54),
    ("HFM, training 384² (1/4)", 96, 96),
    ("HFM, 480p inference (1/4)", 120, 216),
)


def training_relative_sigma(sigma: float = PAPER_SIGMA, side: int = TRAIN_MAP_SIDE) -> float:
    """σ as a fraction of the map size that gives the training-time band at any size.

    σ = 7 bins on a 24×24 map is 7/24 ≈ 0.29 of the side; pass it with
    ``sigma_mode="relative"`` to filter a large image with the same *share* of its spectrum.
    """
    if side < 1 or not sigma > 0:
        raise ValueError(f"need sigma > 0 and side >= 1, got sigma={sigma!r}, side={side!r}")
    return float(sigma) / side


# --- images and spectra ----------------------------------------------------------------------


def load_image(name: str, size: int | None = None, gray: bool = True) -> np.ndarray:
    """A scikit-image sample photograph as float64 in [0, 1].

    Args:
        name: one of :data:`IMAGE_NAMES` (any ``skimage.data`` image stored in the package works).
        size: if given, the shorter side is resized to ``size`` and the image centre-cropped to
            ``size × size`` (anti-aliased), so every image of a figure has the same shape.
        gray: convert colour images to luminance (the paper's Fig. 3 uses grey images).

    Returns:
        (H, W) if ``gray`` or the image is grey, else (H, W, 3).
    """
    loader = getattr(skimage.data, name, None)
    if loader is None or not callable(loader) or name.startswith("_"):
        raise ValueError(f"unknown scikit-image sample image {name!r}; try one of {IMAGE_NAMES}")
    if size is not None and (not isinstance(size, int) or size < 2):
        raise ValueError(f"size must be an int >= 2, got {size!r}")
    img = np.asarray(loader())
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    img = img.astype(np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    if gray and img.ndim == 3:
        img = rgb2gray(img)
    if size is not None:
        h, w = img.shape[:2]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        img = resize(img, (nh, nw, *img.shape[2:]), anti_aliasing=True, preserve_range=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        img = img[top : top + size, left : left + size]
    return np.clip(img, 0.0, 1.0)


def _to_tensor_hw(img: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(…, H, W) float64 tensor from an (H, W) or (H, W, C) array; flag = channels-last input."""
    t = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
    t = t.to(torch.float64)
    if t.dim() == 2:
        return t, False
    if t.dim() == 3:
        return t.permute(2, 0, 1), True
    raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {tuple(t.shape)}")


def magnitude_spectrum(
    img: np.ndarray | torch.Tensor, shift: bool = False, log: bool = True
) -> np.ndarray:
    """|FFT2| of a grey image (colour images are averaged over channels first).

    ``shift=False`` is the layout the authors' code filters: DC at (0, 0), the highest
    (Nyquist) frequency at (h//2, w//2). ``shift=True`` applies ``fftshift``: DC at the centre,
    the usual textbook picture. ``log`` returns ``log(1 + |F|)`` for display.
    """
    t, chlast = _to_tensor_hw(img)
    if chlast:
        t = t.mean(0)
    mag = torch.fft.fft2(t).abs()
    if shift:
        mag = torch.fft.fftshift(mag, dim=(-2, -1))
    if log:
        mag = torch.log1p(mag)
    return mag.numpy()


def apply_band_filter(
    img: np.ndarray | torch.Tensor,
    sigma: float = PAPER_SIGMA,
    band: str = "low",
    sigma_mode: str = "bins",
) -> np.ndarray:
    """Filter an image with the authors' spectral multiplier: ``Re(ifft2(fft2(img) · filter))``.

    This is LFM/HFM with the learned convs removed: ``band="low"`` multiplies by ``1 - g``,
    ``"high"`` by ``g`` (``g`` = Gaussian on the Nyquist bin), ``"all"`` by 1. Works on
    (H, W) and (H, W, C) images of any size; returns the same layout, float64, not clipped
    (the high band has negative values).
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    t, chlast = _to_tensor_hw(img)
    h, w = t.shape[-2:]
    filt = band_filter(h, w, sigma, band, sigma_mode, dtype=torch.float64)[0, 0]  # type: ignore[arg-type]
    out = torch.fft.ifft2(torch.fft.fft2(t) * filt).real
    if chlast:
        out = out.permute(1, 2, 0)
    return out.numpy()


# --- the convolution theorem -----------------------------------------------------------------


def circular_convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular 2-D convolution computed directly in space (no FFT).

    ``kernel`` has odd sides and its centre tap is offset (0, 0):
    ``out[y, x] = Σ_{i,j} k[i, j] · img[(y - i + r) mod H, (x - j + s) mod W]``.
    Cost is one shifted copy of the image per non-zero tap, so keep the kernel small.
    """
    img = np.asarray(img, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if img.ndim != 2 or kernel.ndim != 2:
        raise ValueError("circular_convolve expects 2-D image and kernel")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel sides must be odd, got {kernel.shape}")
    r, s = kh // 2, kw // 2
    out = np.zeros_like(img)
    for i in range(kh):
        for j in range(kw):
            if kernel[i, j] != 0.0:
                out += kernel[i, j] * np.roll(img, shift=(i - r, j - s), axis=(0, 1))
    return out


def _kernel_on_grid(kernel: np.ndarray, h: int, w: int) -> np.ndarray:
    """Place a centred odd kernel on an h×w grid with its centre tap at (0, 0) (wrapped)."""
    kh, kw = kernel.shape
    if kh > h or kw > w:
        raise ValueError(f"kernel {kernel.shape} is larger than the image {h}x{w}")
    grid = np.zeros((h, w))
    r, s = kh // 2, kw // 2
    for i in range(kh):
        for j in range(kw):
            grid[(i - r) % h, (j - s) % w] += kernel[i, j]
    return grid


def convolution_theorem_error(
    img: np.ndarray, kernel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Compare ``img ⊛ kernel`` (direct, in space) with ``ifft2(fft2(img) · fft2(kernel))``.

    Returns (direct result, FFT result, max absolute difference relative to max |direct|).
    The theorem says they are equal; in float64 the error is ~1e-15.
    """
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected a grey (H, W) image, got shape {img.shape}")
    direct = circular_convolve(img, kernel)
    k = _kernel_on_grid(np.asarray(kernel, dtype=np.float64), *img.shape)
    via_fft = np.fft.ifft2(np.fft.fft2(img) * np.fft.fft2(k)).real
    scale = max(float(np.abs(direct).max()), 1e-300)
    return direct, via_fft, float(np.abs(direct - via_fft).max() / scale)


# --- how much of the spectrum the filter covers ----------------------------------------------


def filter_stats(h: int, w: int, sigma: float = PAPER_SIGMA, sigma_mode: str = "bins") -> dict:
    """Values and coverage of the authors' Gaussian ``g`` on an h×w map.

    Keys: ``g_dc`` (g at DC: the gain of HFM's filter on the mean, ``1 - g_dc`` LFM's),
    ``g_nyquist`` (1 by construction), ``share_high`` (fraction of bins where g > 0.5, i.e.
    where HFM's filter keeps more than half the amplitude), ``share_low`` (1 - share_high:
    bins where LFM's filter keeps at least half), ``mean_g`` (g averaged over all bins).
    The filters only shape what the learned branch sees: the module's output is ``x + z``,
    so every frequency of ``x`` still reaches the output through the residual.
    """
    g = gaussian_at_nyquist(h, w, sigma, sigma_mode, dtype=torch.float64)  # type: ignore[arg-type]
    share_high = float((g > 0.5).double().mean())
    return {
        "g_dc": float(g[0, 0]),
        "g_nyquist": float(g[h // 2, w // 2]),
        "share_high": share_high,
        "share_low": 1.0 - share_high,
        "mean_g": float(g.mean()),
    }


def band_gain(
    h: int, w: int, sigma: float = PAPER_SIGMA, band: str = "low", sigma_mode: str = "bins"
) -> dict[str, float]:
    """The gain of one band's filter (``1 - g``, ``g`` or 1) on an h×w map.

    Keys: ``dc`` (gain on the mean), ``nyquist`` (gain on the highest frequency), ``mean``
    (averaged over all bins) and ``above_half`` (share of bins whose gain exceeds 0.5). A
    "share of bins kept" alone can read 0 % while the filter still keeps 47 % of DC (LFM at
    σ = 15 on 24×24), which is why figures quote the mean and the DC gain.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    f = band_filter(h, w, sigma, band, sigma_mode, dtype=torch.float64)[0, 0]  # type: ignore[arg-type]
    return {
        "dc": float(f[0, 0]),
        "nyquist": float(f[h // 2, w // 2]),
        "mean": float(f.mean()),
        "above_half": float((f > 0.5).double().mean()),
    }


def band_share_table(
    sizes: Sequence[tuple[str, int, int]] = FEATURE_MAP_SIZES,
    sigma: float = PAPER_SIGMA,
    sigma_mode: str = "bins",
) -> pd.DataFrame:
    """One row per feature-map size: g(DC), mean g, and the share of bins with g > 0.5.

    g is HFM's gain; LFM's is 1 - g. The gains act on what the learned branch sees, not on
    the module's output (``x + z`` keeps every frequency of ``x``).
    """
    rows = []
    for label, h, w in sizes:
        st = filter_stats(h, w, sigma, sigma_mode)
        rows.append(
            {
                "where": label,
                "h": h,
                "w": w,
                "g(DC)": st["g_dc"],
                "mean g": st["mean_g"],
                "share g > 0.5": st["share_high"],
            }
        )
    return pd.DataFrame(rows)


def filter_kernel(
    h: int,
    w: int,
    sigma: float = PAPER_SIGMA,
    band: str = "low",
    sigma_mode: str = "bins",
    centred: bool = True,
) -> np.ndarray:
    """The spatial kernel of a band filter: ``Re(ifft2(filter))``, an h×w (image-sized) array.

    Multiplying a spectrum by the filter is circularly convolving the map with this kernel
    (:func:`circular_convolve`); taking the real part matches :func:`apply_band_filter` on real
    maps. ``centred`` moves tap (0, 0) to (h//2, w//2) (``fftshift``), the layout
    :func:`circular_convolve` expects for odd sides and the one to look at.
    """
    f = band_filter(h, w, sigma, band, sigma_mode, dtype=torch.float64)[0, 0].numpy()  # type: ignore[arg-type]
    k = np.fft.ifft2(f).real
    return np.fft.fftshift(k) if centred else k


def kernel_stats(kernel: np.ndarray, radius: int = 1) -> dict[str, float]:
    """How local a centred spatial kernel is (centre tap at (h//2, w//2)).

    Keys: ``centre`` (the centre tap), ``nonzero`` (share of taps with |k| > 1e-12·max),
    ``reach`` (share with |k| ≥ 1e-3·max, as :func:`reach`) and ``energy_near`` (share of
    Σk² inside the (2·radius+1)² square around the centre).
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise ValueError(f"expected a 2-D kernel, got shape {k.shape}")
    a = np.abs(k)
    top = float(a.max())
    cy, cx = k.shape[0] // 2, k.shape[1] // 2
    near = k[max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1]
    energy = float((k**2).sum())
    return {
        "centre": float(k[cy, cx]),
        "nonzero": float((a > 1e-12 * top).mean()) if top > 0 else 0.0,
        "reach": reach(a),
        "energy_near": float((near**2).sum() / energy) if energy > 0 else 0.0,
    }


# --- LFM / HFM step by step -------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleSteps:
    """Every intermediate tensor of one frequency-module forward pass (paper Fig. 4)."""

    x: torch.Tensor  # input features (B, C, H, W), float32
    spectrum: torch.Tensor  # fft2(x), complex (B, C, H, W)
    filt: torch.Tensor  # the (H, W) multiplier: 1 - g (LFM), g (HFM) or 1
    filtered: torch.Tensor  # spectrum · filter, complex
    stacked: torch.Tensor  # [Re, Im] along channels, (B, 2C, H, W)
    after_conv1: torch.Tensor  # ReLU(conv1(stacked))
    after_convs: torch.Tensor  # after conv2 (= after_conv1 when convs=1)
    mixed: torch.Tensor  # back to complex (B, C, H, W)
    z: torch.Tensor  # Re(ifft2(mixed))
    out: torch.Tensor  # x + z
    band: str = "low"  # the module's band: "low" (LFM), "high" (HFM) or "all"


@torch.no_grad()
def frequency_module_steps(module: FrequencyModule, x: torch.Tensor) -> ModuleSteps:
    """Run the authors' computation by hand with ``module``'s weights, keeping each step.

    Written out independently of ``FrequencyModule.forward`` so that a notebook (and a test)
    can assert that the two agree. Only the full-spectrum form (``fast=False``) is supported.
    """
    if getattr(module, "fast", False):
        raise ValueError("frequency_module_steps follows the full-FFT computation; use fast=False")
    if x.dim() != 4 or x.shape[1] != module.channels:
        raise ValueError(
            f"expected (B, {module.channels}, H, W) features, got shape {tuple(x.shape)}"
        )
    x = x.float()
    h, w = x.shape[-2:]
    g = gaussian_at_nyquist(h, w, module.sigma, module.sigma_mode, device=x.device)  # type: ignore[arg-type]
    filt = {"low": 1.0 - g, "high": g, "all": torch.ones_like(g)}[module.band]
    spectrum = torch.fft.fft2(x, norm="backward")
    filtered = spectrum * filt
    stacked = torch.cat([filtered.real, filtered.imag], dim=1)
    after_conv1 = F.relu(F.conv2d(stacked, module.conv1.weight, module.conv1.bias))
    after_convs = after_conv1
    if module.conv2 is not None:
        after_convs = F.conv2d(after_conv1, module.conv2.weight, module.conv2.bias)
    c = module.channels
    mixed = torch.complex(after_convs[:, :c], after_convs[:, c:])
    z = torch.fft.ifft2(mixed, norm="backward").real
    return ModuleSteps(
        x, spectrum, filt, filtered, stacked, after_conv1, after_convs, mixed, z, x + z, module.band
    )


def resnet_features(
    img: np.ndarray, layer: str = "layer3", seed: int = 0, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Features of a torchvision ResNet-18 with *random* weights (nothing is downloaded).

    ``layer`` is ``"layer1"`` (1/4 scale, 64 channels: where HFM sits) or ``"layer3"``
    (1/16 scale, 256 channels: where LFM sits in a ResNet-18 key encoder). The weights are
    random (seeded), so the maps show image structure passed through random filters, not
    learned semantics. Returns (1, C, H/s, W/s) float32.
    """
    layers = ("layer1", "layer2", "layer3", "layer4")
    if layer not in layers:
        raise ValueError(f"layer must be one of {layers}, got {layer!r}")
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    net = resnet18(weights=None).eval().to(device)
    torch.random.set_rng_state(gen_state)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    t = ((torch.from_numpy(arr).permute(2, 0, 1)[None] - mean) / std).to(device)
    with torch.no_grad():
        t = net.maxpool(net.relu(net.bn1(net.conv1(t))))
        for name in layers:
            t = getattr(net, name)(t)
            if name == layer:
                break
    return t


# --- receptive field ------------------------------------------------------------------------


def receptive_field(
    module: nn.Module,
    channels: int,
    size: tuple[int, int],
    pixel: tuple[int, int] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """|∂ y[:, py, px] / ∂ x| summed over channels: which input pixels one output pixel sees.

    Runs ``module``'s own forward (float32) on a seeded random (1, ``channels``, h, w) input
    and back-propagates from one output pixel. ``pixel`` defaults to (h//3, w//3), off the
    centre to avoid symmetric coincidences. The module is moved to ``device``.
    Returns an (h, w) float64 array; an input pixel the output cannot see gets exactly 0.
    """
    h, w = size
    py, px = pixel if pixel is not None else (h // 3, w // 3)
    if not (0 <= py < h and 0 <= px < w):
        raise ValueError(f"pixel {(py, px)} lies outside the {h}x{w} map")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, channels, h, w, generator=gen).to(device).requires_grad_(True)
    y = module.to(device)(x)
    y[0, :, py, px].sum().backward()
    assert x.grad is not None
    return x.grad.abs().sum(dim=(0, 1)).detach().cpu().double().numpy()


def reach(field: np.ndarray, rel: float = 1e-3) -> float:
    """Share of input pixels whose gradient is at least ``rel`` × the largest one."""
    field = np.asarray(field)
    top = float(field.max())
    return float((field >= rel * top).mean()) if top > 0 else 0.0


class _WithoutReLU(nn.Module):
    """A frequency module's computation with the ReLU between the convs removed (a probe)."""

    def __init__(self, module: FrequencyModule) -> None:
        super().__init__()
        if module.fast:
            raise ValueError("without_relu supports the full-FFT module only (fast=False)")
        self.inner = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.inner
        h, w = x.shape[-2:]
        y = torch.fft.fft2(x.float()) * m.filter_for(h, w, x.device)
        s = F.conv2d(torch.cat([y.real, y.imag], dim=1), m.conv1.weight, m.conv1.bias)
        if m.conv2 is not None:
            s = F.conv2d(s, m.conv2.weight, m.conv2.bias)
        c = m.channels
        return x + torch.fft.ifft2(torch.complex(s[:, :c], s[:, c:])).real


def without_relu(module: FrequencyModule) -> nn.Module:
    """The same module (shared weights) with the ReLU removed: a linear spectral map.

    Used to show *why* LFM's receptive field is global: a linear 1×1 conv applies the same
    mixing at every frequency, so together with the filter it acts like a small spatial kernel
    (around the pixel and its mirror image); the ReLU, which acts differently per frequency
    bin, is what spreads one pixel's influence over the whole map.
    """
    return _WithoutReLU(module)


# --- what stands out at the origin of z --------------------------------------------------------


@torch.no_grad()
def bias_footprint(module: FrequencyModule, x: torch.Tensor, conv: str = "conv2") -> torch.Tensor:
    """What one 1×1 conv's bias changes in the output: ``module(x)`` minus the same module
    with that bias set to 0, shape (B, C, H, W).

    ``conv="conv2"`` (the authors' second conv, after the ReLU) adds one constant to every
    frequency bin, and the inverse FFT of a constant is an impulse at pixel (0, 0): the
    difference is ``Re(bias)`` there and rounding noise elsewhere. ``conv="conv1"`` (the only
    conv of the paper's form) feeds the ReLU, which treats each bin differently, so its bias
    changes every pixel.
    """
    layer = getattr(module, conv, None)
    if conv not in ("conv1", "conv2") or layer is None:
        raise ValueError(f"the module has no {conv!r} (convs={module.convs})")
    saved = layer.bias.detach().clone()
    try:
        with_bias = module(x)
        layer.bias.zero_()
        without = module(x)
    finally:
        layer.bias.copy_(saved)
    return with_bias - without


def origin_excess(z: torch.Tensor) -> dict[str, float]:
    """How much row 0, column 0 and pixel (0, 0) of a (B, C, H, W) map stand out.

    ``row_0``: |mean of row 0 − mean of the other rows|, averaged over batch and channels;
    ``other_rows``: the same quantity for every other row, median (the yardstick); likewise
    ``col_0`` / ``other_cols``; ``pixel_00``: |z[0, 0] − mean of the rest| over the map's
    standard deviation, averaged over channels.
    """
    if z.dim() != 4 or min(z.shape[-2:]) < 3:
        raise ValueError(f"expected a (B, C, H, W) map with H, W >= 3, got {tuple(z.shape)}")
    z = z.detach().double()

    def lines(t: torch.Tensor) -> torch.Tensor:  # t (B, C, H, W): excess of each row
        means = t.mean(-1)
        others = (means.sum(-1, keepdim=True) - means) / (means.shape[-1] - 1)
        return (means - others).abs().mean(dim=(0, 1))

    rows, cols = lines(z), lines(z.transpose(-1, -2))
    flat = z.flatten(2)
    rest = flat[..., 1:].mean(-1)
    std = flat.std(-1).clamp_min(1e-30)
    return {
        "row_0": float(rows[0]),
        "other_rows": float(rows[1:].median()),
        "col_0": float(cols[0]),
        "other_cols": float(cols[1:].median()),
        "pixel_00": float(((flat[..., 0] - rest).abs() / std).mean()),
    }


@torch.no_grad()
def origin_table(module: FrequencyModule, features: torch.Tensor, seed: int = 0) -> pd.DataFrame:
    """:func:`origin_excess` of the update ``z = module(x) − x``, with and without the ReLU.

    Two inputs: ``features`` (e.g. ResNet maps, whose zero padding gives their own first row
    and column an offset) and seeded Gaussian noise with the same mean and spread (no border
    at all). Rows: (input, module) with module "with ReLU" (``module``) or "without ReLU"
    (:func:`without_relu`, same weights).
    """
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(features.shape, generator=gen).to(features.device)
    noise = noise * features.std() + features.mean()
    probe = without_relu(module)
    rows = []
    for name, x in (("features", features), ("noise", noise)):
        for label, m in (("with ReLU", module), ("without ReLU", probe)):
            ex = origin_excess(m(x) - x)
            rows.append({"input": name, "module": label, **ex})
    return pd.DataFrame(rows)


# --- parameters and FLOPs -------------------------------------------------------------------


def _fft_flops(h: int, w: int, real_input: bool) -> float:
    """Real FLOPs of one 2-D FFT of an h×w map, by the common ``5 N log2 N`` convention.

    ``5 N log2 N`` (N = h·w) is the FLOP count FFTW and benchFFT quote for a complex
    radix-2 transform; a transform of real input (rfft2/irfft2) counts half.
    """
    n = h * w
    flops = 5.0 * n * math.log2(n) if n > 1 else 0.0
    return flops / 2 if real_input else flops


def frequency_module_flops(
    channels: int, h: int, w: int, convs: int = 2, fast: bool = False, batch: int = 1
) -> dict[str, float]:
    """Forward FLOPs of a frequency module on a (batch, channels, h, w) map, by stage.

    Conventions: FFTs count ``5 N log2 N`` real FLOPs per complex 2-D transform (half for a
    real-input rfft2/irfft2); the 1×1 convs count multiply-adds (MACs) of the weights, and
    ``2 × MACs`` FLOPs; the filter is a complex × real product (2 FLOPs per bin and channel);
    the residual is one add per element. Bias adds and the ReLU are ignored (O(C·N)).

    Returns a dict with ``fft``, ``filter``, ``conv_macs``, ``conv``, ``ifft``, ``residual``
    and ``total`` (FLOPs, except ``conv_macs``).
    """
    if channels < 1 or h < 1 or w < 1 or batch < 1:
        raise ValueError(f"channels, h, w and batch must be positive, got {channels, h, w, batch}")
    if convs not in (1, 2):
        raise ValueError(f"convs must be 1 or 2, got {convs!r}")
    bins = h * (w // 2 + 1) if fast else h * w
    fft = batch * channels * _fft_flops(h, w, real_input=fast)
    ifft = fft
    filt = batch * channels * bins * 2.0
    conv_macs = batch * convs * (2 * channels) ** 2 * bins
    conv = 2.0 * conv_macs
    residual = float(batch * channels * h * w)
    total = fft + filt + conv + ifft + residual
    return {
        "fft": fft,
        "filter": filt,
        "conv_macs": float(conv_macs),
        "conv": conv,
        "ifft": ifft,
        "residual": residual,
        "total": total,
    }


def cost_table(
    entries: Sequence[tuple[str, int, int, int]] = (
        ("LFM", 1024, 24, 24),
        ("LFM", 1024, 30, 54),
        ("HFM", 256, 96, 96),
        ("HFM", 256, 120, 216),
    ),
    convs: int = 2,
) -> pd.DataFrame:
    """Parameters and forward GFLOPs of LFM/HFM (entries: name, C, h, w), with a 3×3 conv for scale.

    The "3×3 conv C→C" column is the MAC-based FLOP count of one plain 3×3 convolution at the
    same size, a yardstick for how heavy the spectral module is.
    """
    rows = []
    for name, c, h, w in entries:
        params = 2 * c * 2 * c * convs + 2 * c * convs  # convs × (weight (2C)² + bias 2C)
        full = frequency_module_flops(c, h, w, convs=convs)
        fast = frequency_module_flops(c, h, w, convs=convs, fast=True)
        rows.append(
            {
                "module": f"{name}({c})",
                "map": f"{h}x{w}",
                "params": params,
                "FFT+iFFT GFLOPs": (full["fft"] + full["ifft"]) / 1e9,
                "1x1 convs GMACs": full["conv_macs"] / 1e9,
                "total GFLOPs": full["total"] / 1e9,
                "fast (rfft2) GFLOPs": fast["total"] / 1e9,
                "3x3 conv C->C GFLOPs": 2.0 * 9 * c * c * h * w / 1e9,
            }
        )
    return pd.DataFrame(rows)
