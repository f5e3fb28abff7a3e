"""Plots for notebooks 01 and 02: spectra, band filters, LFM step by step, receptive fields.

Every function builds one figure, writes it to ``out_path`` when given (atomically, at
:data:`DPI`), closes it in pyplot so that long notebooks do not accumulate open figures, and
returns it: the last expression of a notebook cell still displays a closed figure. The
numbers come from :mod:`gsfm.analysis.spectral`; nothing here computes what a notebook asserts.

Convention used in every spectrum panel: **unshifted** (as the authors' code sees it), DC at the
top-left corner (0, 0) and the highest (Nyquist) frequency at the centre (h//2, w//2), unless a
title says "fftshift".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from gsfm.analysis.spectral import (
    FEATURE_MAP_SIZES,
    PAPER_SIGMA,
    ModuleSteps,
    apply_band_filter,
    filter_stats,
    magnitude_spectrum,
    reach,
)
from gsfm.spectral import band_filter
from gsfm.viz.figures import save_figure

__all__ = [
    "DPI",
    "explorer_frame",
    "widgets_available",
    "plot_band_share",
    "plot_convolution_theorem",
    "plot_filter_kernels",
    "plot_frequency_components",
    "plot_module_walkthrough",
    "plot_receptive_fields",
    "plot_spectra",
    "sigma_explorer",
]

#: Resolution of every saved figure.
DPI: int = 110

_BAND_LABEL = {"low": "LFM band 1−g", "high": "HFM band g", "all": "all-pass 1"}


def _finish(fig: Figure, out_path: str | os.PathLike[str] | None) -> Figure:
    return save_figure(fig, out_path, tight=True)


def _image_panel(ax: Any, img: np.ndarray, title: str, **kw: Any) -> Any:
    kw.setdefault("cmap", "gray")
    im = ax.imshow(img, **kw)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _spectrum_axes(ax: Any, h: int, w: int, shifted: bool) -> None:
    """Label the frequency axes and mark DC and Nyquist."""
    ax.set_xlabel("column frequency bin", fontsize=8)
    ax.set_ylabel("row frequency bin", fontsize=8)
    ax.tick_params(labelsize=7)
    dc = (h // 2, w // 2) if shifted else (0, 0)
    ax.plot(dc[1], dc[0], "o", ms=6, mfc="none", mec="cyan", mew=1.5, label="DC")
    if not shifted:
        ax.plot(w // 2, h // 2, "s", ms=6, mfc="none", mec="red", mew=1.5, label="Nyquist")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.7)


def _colorbar(fig: Figure, im: Any, ax: Any, label: str | None = None) -> None:
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.ax.tick_params(labelsize=7)
    if label:
        cb.set_label(label, fontsize=8)


def _display_range(img: np.ndarray) -> tuple[float, float]:
    """Robust (1st, 99th percentile) display range, symmetric around 0 for signed images."""
    lo, hi = np.percentile(img, [1, 99])
    if lo < 0 < hi:
        m = max(-lo, hi)
        return -m, m
    return float(lo), float(hi)


# --- notebook 01 ----------------------------------------------------------------------------


def plot_spectra(
    images: Mapping[str, np.ndarray], out_path: str | os.PathLike[str] | None = None
) -> Figure:
    """Each image beside its log-magnitude spectrum, unshifted (code) and fftshift-ed (textbook)."""
    n = len(images)
    fig, axes = plt.subplots(n, 3, figsize=(11, 3.4 * n), squeeze=False)
    for row, (name, img) in zip(axes, images.items(), strict=True):
        h, w = img.shape[:2]
        _image_panel(row[0], img, f"{name} ({h}×{w})", vmin=0, vmax=1)
        for ax, shifted in ((row[1], False), (row[2], True)):
            spec = magnitude_spectrum(img, shift=shifted)
            im = ax.imshow(spec, cmap="magma")
            what = "fftshift-ed: DC at the centre" if shifted else "unshifted: centre = Nyquist"
            ax.set_title(f"log(1+|FFT|), {what}", fontsize=9)
            _spectrum_axes(ax, h, w, shifted)
            _colorbar(fig, im, ax)
    fig.suptitle(
        "Magnitude spectra: without fftshift the centre of the array is the HIGHEST frequency",
        fontsize=11,
    )
    fig.tight_layout()
    return _finish(fig, out_path)


def plot_frequency_components(
    images: Mapping[str, np.ndarray],
    sigma: float,
    sigma_mode: str = "relative",
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Paper Fig. 3: each image, its low band (LFM's 1−g) and its high band (HFM's g)."""
    n = len(images)
    fig, axes = plt.subplots(n, 3, figsize=(10, 3.3 * n), squeeze=False)
    for row, (name, img) in zip(axes, images.items(), strict=True):
        low = apply_band_filter(img, sigma, "low", sigma_mode)
        high = apply_band_filter(img, sigma, "high", sigma_mode)
        _image_panel(row[0], img, f"{name}: original", vmin=0, vmax=1)
        _image_panel(
            row[1], np.clip(low, 0, 1), "low-pass: spectrum × (1−g)  [LFM]", vmin=0, vmax=1
        )
        lo, hi = _display_range(high)
        im = _image_panel(row[2], high, "high-pass: spectrum × g  [HFM]", vmin=lo, vmax=hi)
        _colorbar(fig, im, row[2], "signed value")
    h, w = next(iter(images.values())).shape[:2]
    if sigma_mode == "relative":
        sig = f"σ = {sigma:.3f}·size ({sigma * h:.0f} bins on {h}×{w}, = 7 bins on a 24×24 map)"
    else:
        sig = f"σ = {sigma:g} bins"
    fig.suptitle(
        f"Frequency components (paper Fig. 3) with the authors' Gaussian at Nyquist, {sig}",
        fontsize=10,
    )
    fig.tight_layout()
    return _finish(fig, out_path)


def plot_filter_kernels(
    sigmas: Sequence[float] = (3, 5, 7, 10, 15),
    size: tuple[int, int] = (24, 24),
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Paper Fig. 6b: the HFM filter g and the LFM filter 1−g for several σ (in bins).

    Rows: g unshifted (as the code applies it), 1−g unshifted, 1−g fftshift-ed (DC at the
    centre: the picture a reader used to centred spectra expects for a low-pass).
    """
    h, w = size
    rows = (
        ("high", False, "HFM: g (unshifted)"),
        ("low", False, "LFM: 1−g (unshifted)"),
        ("low", True, "LFM: 1−g, fftshift-ed"),
    )
    fig, axes = plt.subplots(
        len(rows), len(sigmas), figsize=(2.3 * len(sigmas) + 1, 2.4 * len(rows)), squeeze=False
    )
    im = None
    for c, sigma in enumerate(sigmas):
        st = filter_stats(h, w, sigma)
        for r, (band, shifted, label) in enumerate(rows):
            f = band_filter(h, w, sigma, band, dtype=torch.float64)[0, 0]  # type: ignore[arg-type]
            if shifted:
                f = torch.fft.fftshift(f)
            ax = axes[r, c]
            im = ax.imshow(f.numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([0, w // 2, w - 1])
            ax.set_yticks([0, h // 2, h - 1])
            ax.tick_params(labelsize=7)
            share = st["share_high"] if band == "high" else st["share_low"]
            ax.set_title(f"σ = {sigma:g}: passes {share:.0%}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{label}\nrow bin", fontsize=8)
            if r == len(rows) - 1:
                ax.set_xlabel("column bin", fontsize=8)
    assert im is not None
    fig.subplots_adjust(hspace=0.4, wspace=0.3)
    cb = fig.colorbar(im, ax=axes, fraction=0.02, pad=0.02)
    cb.set_label("filter value (multiplies the spectrum)", fontsize=8)
    fig.suptitle(
        f"Filter kernels on a {h}×{w} map (LFM's training size), σ in bins (paper Fig. 6b); "
        "'passes' = share of bins with value > 0.5",
        fontsize=10,
    )
    return _finish(fig, out_path)


def plot_convolution_theorem(
    img: np.ndarray,
    kernel: np.ndarray,
    direct: np.ndarray,
    via_fft: np.ndarray,
    rel_error: float,
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Image, kernel, direct circular convolution, FFT product, and their difference."""
    fig, axes = plt.subplots(1, 5, figsize=(16, 3.4))
    _image_panel(axes[0], img, "image", vmin=0, vmax=1)
    im = _image_panel(axes[1], kernel, f"kernel {kernel.shape[0]}×{kernel.shape[1]}", cmap="RdBu_r")
    _colorbar(fig, im, axes[1])
    lo, hi = _display_range(direct)
    _image_panel(axes[2], direct, "direct: Σ k·shifted image", vmin=lo, vmax=hi)
    _image_panel(axes[3], via_fft, "iFFT( FFT(image) · FFT(kernel) )", vmin=lo, vmax=hi)
    im = _image_panel(axes[4], direct - via_fft, "difference", cmap="RdBu_r")
    _colorbar(fig, im, axes[4])
    fig.suptitle(
        f"Convolution theorem: max |difference| / max |direct| = {rel_error:.1e}", fontsize=11
    )
    fig.tight_layout()
    return _finish(fig, out_path)


def explorer_frame(
    img: np.ndarray,
    sigma: float,
    band: str,
    sigma_mode: str = "bins",
    name: str = "image",
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """One frame of the σ explorer: original, filtered image, the filter, the filtered spectrum."""
    h, w = img.shape[:2]
    filtered = apply_band_filter(img, sigma, band, sigma_mode)
    filt = band_filter(h, w, sigma, band, sigma_mode, dtype=torch.float64)[0, 0].numpy()  # type: ignore[arg-type]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    _image_panel(axes[0], img, f"{name} ({h}×{w})", vmin=0, vmax=1)
    lo, hi = (0.0, 1.0) if band != "high" else _display_range(filtered)
    im = _image_panel(axes[1], filtered, f"filtered: {_BAND_LABEL[band]}", vmin=lo, vmax=hi)
    _colorbar(fig, im, axes[1])
    im = axes[2].imshow(filt, cmap="viridis", vmin=0, vmax=1)
    axes[2].set_title("filter (multiplies the spectrum)", fontsize=9)
    _spectrum_axes(axes[2], h, w, shifted=False)
    _colorbar(fig, im, axes[2])
    im = axes[3].imshow(magnitude_spectrum(filtered), cmap="magma")
    axes[3].set_title("log(1+|FFT|) of the filtered image", fontsize=9)
    _spectrum_axes(axes[3], h, w, shifted=False)
    _colorbar(fig, im, axes[3])
    st = filter_stats(h, w, sigma, sigma_mode)
    unit = "bins" if sigma_mode == "bins" else "× size"
    fig.suptitle(
        f"σ = {sigma:g} {unit}, band = {band}: g(DC) = {st['g_dc']:.3f}, "
        f"g > 0.5 on {st['share_high']:.1%} of the bins",
        fontsize=10,
    )
    fig.tight_layout()
    return _finish(fig, out_path)


def widgets_available() -> bool:
    """Whether ipywidgets can be shown here: inside a Jupyter kernel, with ipywidgets installed.

    Whether a person is watching is not guessed: notebooks take an ``interactive`` parameter,
    and ``python -m gsfm notebooks`` and the tests execute them with ``interactive=False``.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def sigma_explorer(
    images: Mapping[str, np.ndarray],
    sigma: float = PAPER_SIGMA,
    band: str = "low",
    image: str | None = None,
    interactive: bool = True,
    sigma_max: float | None = None,
) -> Any:
    """An ipywidgets σ explorer (σ slider, band and image dropdowns) around :func:`explorer_frame`.

    σ is in bins of the displayed image. When ``interactive`` is False (executed notebooks, CI)
    or :func:`widgets_available` is not (no Jupyter kernel, no ipywidgets), returns one static
    frame (a Figure) for the initial values instead of widgets.
    """
    if not images:
        raise ValueError("sigma_explorer needs at least one image")
    image = image if image is not None else next(iter(images))
    if image not in images:
        raise ValueError(f"unknown image {image!r}; have {list(images)}")
    if not (interactive and widgets_available()):
        return explorer_frame(images[image], sigma, band, name=image)

    import ipywidgets as widgets
    from IPython.display import display

    side = max(max(im.shape[:2]) for im in images.values())
    slider = widgets.FloatSlider(
        value=sigma,
        min=1.0,
        max=float(sigma_max or side // 2),
        step=1.0,
        description="σ (bins)",
        continuous_update=False,
    )
    band_dd = widgets.Dropdown(options=["low", "high", "all"], value=band, description="band")
    image_dd = widgets.Dropdown(options=list(images), value=image, description="image")
    out = widgets.Output()

    def redraw(*_: Any) -> None:
        fig = explorer_frame(
            images[image_dd.value], slider.value, band_dd.value, name=image_dd.value
        )
        with out:
            out.clear_output(wait=True)
            display(fig)

    for w in (slider, band_dd, image_dd):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([slider, band_dd, image_dd]), out])


# --- notebook 02 ----------------------------------------------------------------------------


_FILTER_NAME = {"low": "1−g (LFM)", "high": "g (HFM)", "all": "1 (all-pass)"}


def plot_module_walkthrough(
    steps: ModuleSteps,
    image: np.ndarray | None = None,
    channel: int | None = None,
    title: str = "LFM step by step (paper Fig. 4, authors' code)",
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The intermediate tensors of one LFM/HFM pass, one channel, in the order of Fig. 4.

    Spatial panels show channel ``channel`` (default: the input channel with the largest
    spatial variance); spectral panels show ``log(1+|·|)`` of the same channel, unshifted.
    """
    x = steps.x[0].detach().cpu()
    c = int(x.flatten(1).var(1).argmax()) if channel is None else channel
    h, w = x.shape[-2:]

    def spec(t: torch.Tensor) -> np.ndarray:
        return torch.log1p(t[0, c].detach().abs().cpu()).numpy()

    def space(t: torch.Tensor) -> np.ndarray:
        return t[0, c].detach().cpu().numpy()

    x0 = space(steps.x)
    # (title, array, kind, array whose 1st-99th percentiles set the colour range):
    # x and x + z share one scale so that the change LFM makes is visible.
    panels: list[tuple[str, np.ndarray, str, np.ndarray | None]] = [
        ("1. x: input features", x0, "space", x0),
        ("2. y = FFT(x): log(1+|y|)", spec(steps.spectrum), "spec", None),
        (
            f"3. filter {_FILTER_NAME.get(steps.band, steps.band)}",
            steps.filt.detach().cpu().numpy(),
            "filter",
            None,
        ),
        ("4. y · filter: log(1+|·|)", spec(steps.filtered), "spec", None),
        ("5. 1×1 conv(s) on [Re, Im]: log(1+|·|)", spec(steps.mixed), "spec", None),
        ("6. z = Re(iFFT(·))", space(steps.z), "space", space(steps.z)),
        ("7. output x + z", space(steps.out), "space", x0),
    ]
    if image is not None:
        panels.insert(0, ("input image", np.asarray(image), "image", None))
    ncol = 4
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.7 * nrow), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (label, arr, kind, ref) in zip(axes.flat, panels, strict=False):
        if kind == "image":
            _image_panel(ax, arr, label, vmin=0, vmax=1)
            continue
        if kind == "space":
            lo, hi = np.percentile(ref if ref is not None else arr, [1, 99])
            im = _image_panel(ax, arr, label, cmap="viridis", vmin=lo, vmax=hi)
            ax.set_xlabel(f"x ({w} px)", fontsize=8)
            ax.set_ylabel(f"y ({h} px)", fontsize=8)
        else:
            cmap = "viridis" if kind == "filter" else "magma"
            vmin, vmax = (0.0, 1.0) if kind == "filter" else (None, None)
            im = ax.imshow(arr, cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_title(label, fontsize=9)
            _spectrum_axes(ax, h, w, shifted=False)
        _colorbar(fig, im, ax)
    fig.suptitle(f"{title}: channel {c} of {x.shape[0]}, map {h}×{w}", fontsize=11)
    fig.tight_layout()
    return _finish(fig, out_path)


def plot_band_share(
    sizes: Sequence[tuple[str, int, int]] = FEATURE_MAP_SIZES,
    sigma: float = PAPER_SIGMA,
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The filter at each feature-map size, and the share of bins with g > 0.5 versus map size.

    Top: the filter of the module that runs at each (h, w) of ``sizes`` (1−g where the label
    starts with "LFM", g where it starts with "HFM"), unshifted, same colour scale. Bottom: share of
    bins with g > 0.5 for σ in bins (shrinks as the map grows) and for σ relative to the
    size (σ/24 of the side: constant by construction).
    """
    fig = plt.figure(figsize=(4 * len(sizes), 7.2))
    gs = fig.add_gridspec(2, len(sizes), height_ratios=[1, 1.1])
    im = None
    for i, (label, h, w) in enumerate(sizes):
        ax = fig.add_subplot(gs[0, i])
        band = "high" if label.upper().startswith("HFM") else "low"
        f = band_filter(h, w, sigma, band, dtype=torch.float64)[0, 0].numpy()  # type: ignore[arg-type]
        im = ax.imshow(f, cmap="viridis", vmin=0, vmax=1)
        st = filter_stats(h, w, sigma)
        ax.set_title(
            f"{label}: {'g' if band == 'high' else '1−g'}\n"
            f"{h}×{w}: g(DC)={st['g_dc']:.2g}, g>0.5 on {st['share_high']:.1%}",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
    assert im is not None
    cb = fig.colorbar(im, ax=fig.axes, fraction=0.015, pad=0.01)
    cb.set_label("filter value (unshifted spectrum)", fontsize=8)
    ax = fig.add_subplot(gs[1, :])
    sides = np.unique(np.geomspace(8, 256, 40).astype(int))
    bins_share = [filter_stats(s, s, sigma)["share_high"] for s in sides]
    rel = sigma / 24
    rel_share = [filter_stats(s, s, rel, "relative")["share_high"] for s in sides]
    ax.plot(sides, bins_share, "-", label=f"σ = {sigma:g} bins (paper and code)")
    ax.plot(sides, rel_share, "--", label=f"σ = {rel:.3f}·size (sigma_mode='relative')")
    for _label, h, w in sizes:
        ax.plot(np.sqrt(h * w), filter_stats(h, w, sigma)["share_high"], "o", color="C3")
        ax.annotate(
            f"{h}×{w}",
            (np.sqrt(h * w), filter_stats(h, w, sigma)["share_high"]),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_xlabel("map side √(h·w) in pixels (log scale)")
    ax.set_ylabel("share of bins with g > 0.5\n(what HFM passes, LFM removes)")
    ax.set_ylim(0, max(max(bins_share), max(rel_share)) * 1.1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    fig.suptitle(
        "σ is in bins: the band's share of the spectrum depends on the map size", fontsize=11
    )
    return _finish(fig, out_path)


def plot_receptive_fields(
    fields: Mapping[str, np.ndarray],
    pixel: tuple[int, int],
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """|∂ output pixel / ∂ input| maps, log colour scale; exact zeros are drawn in white."""
    n = len(fields)
    ncol = 2 if n == 4 else n
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 4.6 * nrow + 0.4), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    positive = [f[f > 0] for f in fields.values() if (f > 0).any()]
    vmin = min(float(p.min()) for p in positive) if positive else 1e-12
    vmax = max(float(p.max()) for p in positive) if positive else 1.0
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    for ax, (name, field) in zip(axes.flat, fields.items(), strict=False):
        masked = np.ma.masked_less_equal(field, 0.0)
        im = ax.imshow(masked, cmap=cmap, norm=LogNorm(vmin=vmin, vmax=vmax))
        ax.plot(pixel[1], pixel[0], "x", color="red", ms=9, mew=2)
        share = float((field > 0).mean())
        ax.set_title(
            f"{name}\nnon-zero on {share:.1%}, ≥ 1e-3·max on {reach(field):.1%} of pixels",
            fontsize=9,
        )
        h, w = field.shape
        ax.set_xlabel(f"input x ({w} px)", fontsize=8)
        ax.set_ylabel(f"input y ({h} px)", fontsize=8)
        ax.tick_params(labelsize=7)
        _colorbar(fig, im, ax, "|gradient| (log)")
    fig.suptitle(
        "Receptive field of one output pixel (red ×):\n|∂y/∂x| summed over channels; white = exactly 0",
        fontsize=11,
    )
    fig.tight_layout()
    return _finish(fig, out_path)
