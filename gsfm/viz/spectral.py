"""Plots for notebooks 01 and 02: spectra, band filters, LFM step by step, receptive fields.

Every function builds one figure, writes it to ``out_path`` when given (atomically, at
:data:`gsfm.viz.figures.DPI`), closes it in pyplot so that long notebooks do not accumulate open
figures, and returns it: the last expression of a notebook cell still displays a closed figure. The
numbers come from :mod:`gsfm.analysis.spectral`; nothing here computes what a notebook asserts.

Convention used in every spectrum panel: **unshifted** (as the authors' code sees it), DC at the
top-left corner (0, 0) and the highest (Nyquist) frequency at the centre (h//2, w//2), unless a
title says "fftshift".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython import get_ipython
from IPython.display import display
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gsfm.analysis.spectral import (
    FEATURE_MAP_SIZES,
    PAPER_SIGMA,
    TRAIN_MAP_SIDE,
    ModuleSteps,
    apply_band_filter,
    band_gain,
    filter_stats,
    magnitude_spectrum,
    reach,
)
from gsfm.spectral import band_filter
from gsfm.viz.figures import save_figure

__all__ = [
    "explorer_frame",
    "explorer_title",
    "map_size_explorer",
    "map_size_frame",
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


_DC_STYLE: dict[str, Any] = {"marker": "o", "ms": 6, "mfc": "none", "mec": "cyan", "mew": 1.5}
_NYQ_STYLE: dict[str, Any] = {"marker": "s", "ms": 6, "mfc": "none", "mec": "red", "mew": 1.5}


def _spectrum_axes(ax: Any, h: int, w: int, shifted: bool) -> None:
    """Label the frequency axes and mark DC and Nyquist (explained by :func:`_marker_legend`)."""
    ax.set_xlabel("column frequency bin", fontsize=8)
    ax.set_ylabel("row frequency bin", fontsize=8)
    ax.tick_params(labelsize=7)
    dc = (h // 2, w // 2) if shifted else (0, 0)
    ax.plot(dc[1], dc[0], ls="none", **_DC_STYLE)
    if not shifted:
        ax.plot(w // 2, h // 2, ls="none", **_NYQ_STYLE)


def _marker_legend(fig: Figure, y: float = 0.0) -> None:
    """One legend for the DC / Nyquist markers, below the panels, so that none covers a spectrum."""
    handles = [
        Line2D([], [], ls="none", label="DC (frequency 0)", **_DC_STYLE),
        Line2D([], [], ls="none", label="Nyquist (highest frequency)", **_NYQ_STYLE),
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, y),
        ncol=2,
        fontsize=8,
        frameon=False,
    )


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
    _marker_legend(fig)
    return _finish(fig, out_path)


def plot_frequency_components(
    images: Mapping[str, np.ndarray],
    sigma: float,
    sigma_mode: str = "relative",
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Paper Fig. 3: each image, its low band (LFM's 1−g), what that band lacks, its high band.

    Columns: original; low band; low band − original on a signed colour scale (the change is
    too small to see by comparing the first two at slide size); high band (HFM's g). Since
    (1 − g) + g = 1, the third column is minus the fourth.
    """
    n = len(images)
    fig, axes = plt.subplots(n, 4, figsize=(14, 3.4 * n), squeeze=False)
    for row, (name, img) in zip(axes, images.items(), strict=True):
        low = apply_band_filter(img, sigma, "low", sigma_mode)
        high = apply_band_filter(img, sigma, "high", sigma_mode)
        diff = low - img
        rms = float(np.sqrt(np.mean(diff**2)))
        _image_panel(row[0], img, f"{name}: original", vmin=0, vmax=1)
        _image_panel(
            row[1], np.clip(low, 0, 1), "low band: spectrum × (1−g)  [LFM]", vmin=0, vmax=1
        )
        lo, hi = _display_range(diff)
        im = _image_panel(
            row[2], diff, f"low band − original (RMS {rms:.3f})", cmap="RdBu_r", vmin=lo, vmax=hi
        )
        _colorbar(fig, im, row[2], "signed value")
        lo, hi = _display_range(high)
        im = _image_panel(row[3], high, "high band: spectrum × g  [HFM]", vmin=lo, vmax=hi)
        _colorbar(fig, im, row[3], "signed value")
    h, w = next(iter(images.values())).shape[:2]
    if sigma_mode == "relative":
        sig = (
            f"σ = {sigma:.3f}·size ({sigma * h:.0f} bins on {h}×{w}, "
            f"= {sigma * TRAIN_MAP_SIDE:.0f} bins on a {TRAIN_MAP_SIDE}×{TRAIN_MAP_SIDE} map)"
        )
    else:
        sig = f"σ = {sigma:g} bins"
    fig.suptitle(
        f"Frequency components (paper Fig. 3) with the authors' Gaussian at Nyquist, {sig};\n"
        "low band + high band = original, so 'low − original' is minus the high band",
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
    centre: the picture a reader used to centred spectra expects for a low-pass). Each title
    gives the filter's gain on the mean (DC), its mean gain over all bins, and the share of
    bins with gain > ½ (:func:`gsfm.analysis.spectral.band_gain`).
    """
    h, w = size
    rows = (
        ("high", False, "HFM: g (unshifted)"),
        ("low", False, "LFM: 1−g (unshifted)"),
        ("low", True, "LFM: 1−g, fftshift-ed"),
    )
    height = 2.25 * len(rows) + 1.1  # 1.1 inches on top for the three-line title
    fig, axes = plt.subplots(
        len(rows), len(sigmas), figsize=(2.3 * len(sigmas) + 1, height), squeeze=False
    )
    im = None
    for c, sigma in enumerate(sigmas):
        for r, (band, shifted, label) in enumerate(rows):
            gain = band_gain(h, w, sigma, band)
            f = band_filter(h, w, sigma, band, dtype=torch.float64)[0, 0]  # type: ignore[arg-type]
            if shifted:
                f = torch.fft.fftshift(f)
            ax = axes[r, c]
            im = ax.imshow(f.numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([0, w // 2, w - 1])
            ax.set_yticks([0, h // 2, h - 1])
            ax.tick_params(labelsize=7)
            ax.set_title(
                f"σ = {sigma:g}: DC {gain['dc']:.2f}, mean {gain['mean']:.2f}\n"
                f"gain > ½ on {gain['above_half']:.0%} of bins",
                fontsize=8,
            )
            if c == 0:
                ax.set_ylabel(f"{label}\nrow bin", fontsize=8)
            if r == len(rows) - 1:
                ax.set_xlabel("column bin", fontsize=8)
    assert im is not None
    fig.subplots_adjust(hspace=0.42, wspace=0.3, top=1 - 1.15 / height, bottom=0.06)
    cb = fig.colorbar(im, ax=axes, fraction=0.02, pad=0.02)
    cb.set_label("gain: filter value that multiplies the spectrum", fontsize=8)
    fig.suptitle(
        f"Filter kernels on a {h}×{w} map (LFM's training size), σ in bins (paper Fig. 6b).\n"
        "DC = gain on the mean, mean = gain averaged over all bins, gain > ½ = share of bins "
        "kept at more than half amplitude.\nThe gains shape what the learned branch sees; "
        "the module's output x + z still carries every frequency of x.",
        fontsize=9,
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
    k = max(float(np.abs(kernel).max()), 1e-300)
    im = _image_panel(
        axes[1],
        kernel,
        f"kernel {kernel.shape[0]}×{kernel.shape[1]}",
        cmap="RdBu_r",
        vmin=-k,
        vmax=k,
    )
    _colorbar(fig, im, axes[1])
    lo, hi = _display_range(direct)
    _image_panel(axes[2], direct, "direct: Σ k·shifted image", vmin=lo, vmax=hi)
    _image_panel(axes[3], via_fft, "iFFT( FFT(image) · FFT(kernel) )", vmin=lo, vmax=hi)
    gap = direct - via_fft
    m = max(float(np.abs(gap).max()), 1e-300)  # symmetric: white is exactly 0
    im = _image_panel(axes[4], gap, "difference", cmap="RdBu_r", vmin=-m, vmax=m)
    _colorbar(fig, im, axes[4])
    fig.suptitle(
        f"Convolution theorem: max |difference| / max |direct| = {rel_error:.1e}", fontsize=11
    )
    fig.tight_layout()
    return _finish(fig, out_path)


def _explorer_sigma(sigma: float, relative: bool, h: int, w: int) -> tuple[float, str, float]:
    """(σ handed to the filter, its sigma_mode, σ in bins along the image's shorter side)."""
    if relative:
        rel = sigma / TRAIN_MAP_SIDE
        return rel, "relative", rel * min(h, w)
    return float(sigma), "bins", float(sigma)


def explorer_title(
    shape: tuple[int, ...], sigma: float, band: str = "low", relative: bool = False
) -> str:
    """The σ explorer's headline; always contains ``"σ = <N> bins"`` for the slider value N.

    ``relative=False``: N counts bins of the displayed image, and the headline adds what
    that is on the 24×24 training map (the same share of the spectrum). ``relative=True``: N
    counts bins of the 24×24 training map, and the headline adds its size on this image.
    """
    h, w = shape[:2]
    s, mode, on_image = _explorer_sigma(sigma, relative, h, w)
    gain = band_gain(h, w, s, band, mode)
    t = TRAIN_MAP_SIDE
    if relative:
        head = (
            f"σ = {sigma:g} bins on the {t}×{t} training map "
            f"(= {on_image:.1f} bins on this {h}×{w} image)"
        )
    else:
        head = (
            f"σ = {sigma:g} bins (= {sigma * t / min(h, w):.1f} bins on the {t}×{t} training map)"
        )
    return (
        f"{head}, band = {band}: gain at DC {gain['dc']:.3f}, mean gain {gain['mean']:.3f}, "
        f"gain > ½ on {gain['above_half']:.1%} of the bins"
    )


def explorer_frame(
    img: np.ndarray,
    sigma: float,
    band: str = "low",
    relative: bool = False,
    name: str = "image",
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """One frame of the σ explorer, 2×3 panels.

    Top: the image, the filtered image, and filtered − original on a signed scale (at slide
    size the low band cannot be told from the original by eye). Bottom: log(1+|FFT|) of the
    image, the filter (unshifted), log(1+|FFT|) of the filtered image (same colour scale).
    σ is in bins of the image, or of the 24×24 training map when ``relative``
    (:func:`explorer_title`).
    """
    h, w = img.shape[:2]
    s, mode, _ = _explorer_sigma(sigma, relative, h, w)
    filtered = apply_band_filter(img, s, band, mode)
    diff = filtered - img
    filt = band_filter(h, w, s, band, mode, dtype=torch.float64)[0, 0].numpy()  # type: ignore[arg-type]
    fig, axes = plt.subplots(2, 3, figsize=(13.5, 8.4))
    _image_panel(axes[0, 0], img, f"{name} ({h}×{w})", vmin=0, vmax=1)
    lo, hi = (0.0, 1.0) if band != "high" else _display_range(filtered)
    im = _image_panel(axes[0, 1], filtered, f"filtered: {_BAND_LABEL[band]}", vmin=lo, vmax=hi)
    _colorbar(fig, im, axes[0, 1])
    lo, hi = _display_range(diff)
    m = max(abs(lo), abs(hi), 1e-9)
    rms = float(np.sqrt(np.mean(diff**2)))
    im = _image_panel(
        axes[0, 2], diff, f"filtered − original (RMS {rms:.3f})", cmap="RdBu_r", vmin=-m, vmax=m
    )
    _colorbar(fig, im, axes[0, 2], "signed value")
    spec_in, spec_out = magnitude_spectrum(img), magnitude_spectrum(filtered)
    vmax = float(max(spec_in.max(), spec_out.max()))
    for ax, spec, label in (
        (axes[1, 0], spec_in, "log(1+|FFT|) of the image"),
        (axes[1, 2], spec_out, "log(1+|FFT|) of the filtered image"),
    ):
        im = ax.imshow(spec, cmap="magma", vmin=0.0, vmax=vmax)
        ax.set_title(label, fontsize=9)
        _spectrum_axes(ax, h, w, shifted=False)
        _colorbar(fig, im, ax)
    im = axes[1, 1].imshow(filt, cmap="viridis", vmin=0, vmax=1)
    axes[1, 1].set_title("filter: the gain on each bin (unshifted)", fontsize=9)
    _spectrum_axes(axes[1, 1], h, w, shifted=False)
    _colorbar(fig, im, axes[1, 1])
    fig.suptitle(explorer_title(img.shape, sigma, band, relative), fontsize=10)
    fig.tight_layout()
    _marker_legend(fig)
    return _finish(fig, out_path)


def widgets_available() -> bool:
    """Whether ipywidgets can be shown here: inside a Jupyter kernel.

    Whether a person is watching is not guessed: notebooks take an ``interactive`` parameter,
    and ``python -m gsfm notebooks`` and the tests execute them with ``interactive=False``.
    """
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _show_in(out: Any, fig: Figure) -> None:
    """Replace what an ipywidgets Output shows with ``fig`` (a closed figure displays fine)."""
    with out:
        out.clear_output(wait=True)
        display(fig)


def sigma_explorer(
    images: Mapping[str, np.ndarray],
    sigma: int = 7,
    band: str = "low",
    image: str | None = None,
    relative: bool = False,
    interactive: bool = True,
    sigma_max: int | None = None,
    out_path: str | os.PathLike[str] | None = None,
) -> Any:
    """An ipywidgets σ explorer around :func:`explorer_frame`.

    Widgets: an integer slider described "σ (bins)" (CSS class ``gsfm-sigma-slider``); a
    toggle "relative to 24×24" that makes the slider count bins of the 24×24 training map
    instead of the image's (the value is converted so the picture stays); band and image
    dropdowns; a text line (class ``gsfm-sigma-title``) repeating the figure's title, which
    contains "σ = <N> bins"; the figure in an Output (class ``gsfm-sigma-output``).

    When ``interactive`` is False (executed notebooks, CI) or :func:`widgets_available` is
    not (no Jupyter kernel, no ipywidgets), returns one static frame (a Figure) for the
    starting values instead. The first frame is written to ``out_path`` in both cases.
    """
    if not images:
        raise ValueError("sigma_explorer needs at least one image")
    image = image if image is not None else next(iter(images))
    if image not in images:
        raise ValueError(f"unknown image {image!r}; have {list(images)}")
    sigma = int(round(sigma))
    if not (interactive and widgets_available()):
        return explorer_frame(images[image], sigma, band, relative, image, out_path=out_path)

    def side() -> int:
        return min(images[image_dd.value].shape[:2])

    def max_for(rel: bool) -> int:
        return TRAIN_MAP_SIDE if rel else int(sigma_max or side() // 2)

    image_dd = widgets.Dropdown(options=list(images), value=image, description="image")
    slider = widgets.IntSlider(
        value=sigma,
        min=1,
        max=max(max_for(relative), sigma),
        step=1,
        description="σ (bins)",
        continuous_update=False,
    )
    slider.add_class("gsfm-sigma-slider")
    toggle = widgets.ToggleButton(
        value=relative,
        description=f"relative to {TRAIN_MAP_SIDE}×{TRAIN_MAP_SIDE}",
        tooltip=f"σ counts bins of the {TRAIN_MAP_SIDE}×{TRAIN_MAP_SIDE} training map",
    )
    band_dd = widgets.Dropdown(options=["low", "high", "all"], value=band, description="band")
    title = widgets.HTML()
    title.add_class("gsfm-sigma-title")
    out = widgets.Output()
    out.add_class("gsfm-sigma-output")
    busy = {"now": False}

    def redraw(*_: Any, path: str | os.PathLike[str] | None = None) -> None:
        if busy["now"]:
            return
        img = images[image_dd.value]
        title.value = explorer_title(img.shape, slider.value, band_dd.value, toggle.value)
        fig = explorer_frame(
            img, slider.value, band_dd.value, toggle.value, image_dd.value, out_path=path
        )
        _show_in(out, fig)

    def switch_mode(change: dict[str, Any]) -> None:
        # keep the same filter: N bins of the image <-> N·24/side bins of the training map
        factor = TRAIN_MAP_SIDE / side() if change["new"] else side() / TRAIN_MAP_SIDE
        busy["now"] = True
        try:
            new_max = max_for(change["new"])
            value = min(max(1, int(round(slider.value * factor))), new_max)
            if new_max >= slider.max:
                slider.max, slider.value = new_max, value
            else:
                slider.value, slider.max = value, new_max
        finally:
            busy["now"] = False
        redraw()

    toggle.observe(switch_mode, names="value")
    for w in (slider, band_dd, image_dd):
        w.observe(redraw, names="value")
    redraw(path=out_path)
    box = widgets.VBox(
        [widgets.HBox([slider, toggle]), widgets.HBox([band_dd, image_dd]), title, out]
    )
    box.add_class("gsfm-sigma-explorer")
    return box


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
    spatial variance); spectral panels show ``log(1+|·|)`` of the same channel, unshifted, all
    three on one colour scale (so panel 5 compares with panels 2 and 4). x and x + z share one
    scale too. The DC / Nyquist markers are explained once, below the panels.
    """
    x = steps.x[0].detach().cpu()
    c = int(x.flatten(1).var(1).argmax()) if channel is None else channel
    h, w = x.shape[-2:]

    def spec(t: torch.Tensor) -> np.ndarray:
        return torch.log1p(t[0, c].detach().abs().cpu()).numpy()

    def space(t: torch.Tensor) -> np.ndarray:
        return t[0, c].detach().cpu().numpy()

    x0 = space(steps.x)
    spectra = [spec(steps.spectrum), spec(steps.filtered), spec(steps.mixed)]
    spec_max = max(float(a.max()) for a in spectra)
    # (title, array, kind, array whose 1st-99th percentiles set the colour range):
    # x and x + z share one scale so that the change LFM makes is visible.
    panels: list[tuple[str, np.ndarray, str, np.ndarray | None]] = [
        ("1. x: input features", x0, "space", x0),
        ("2. y = FFT(x): log(1+|y|)", spectra[0], "spec", None),
        (
            f"3. filter {_FILTER_NAME.get(steps.band, steps.band)}",
            steps.filt.detach().cpu().numpy(),
            "filter",
            None,
        ),
        ("4. y · filter: log(1+|·|)", spectra[1], "spec", None),
        ("5. 1×1 conv(s) on [Re, Im]: log(1+|·|)", spectra[2], "spec", None),
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
            vmin, vmax = (0.0, 1.0) if kind == "filter" else (0.0, spec_max)
            im = ax.imshow(arr, cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_title(label, fontsize=9)
            _spectrum_axes(ax, h, w, shifted=False)
        _colorbar(fig, im, ax)
    fig.suptitle(f"{title}: channel {c} of {x.shape[0]}, map {h}×{w}", fontsize=11)
    fig.tight_layout()
    _marker_legend(fig)
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
    ax.set_ylabel("share of bins with g > 0.5\n(HFM's branch sees them at > ½ gain)")
    ax.set_ylim(0, max(max(bins_share), max(rel_share)) * 1.1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    fig.suptitle(
        "σ is in bins: the band's share of the spectrum depends on the map size "
        "(the filters shape the learned branch's input; x + z keeps all of x)",
        fontsize=11,
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


def _map_band(label: str) -> str:
    """The module that runs at a FEATURE_MAP_SIZES entry: HFM (g) or LFM (1 − g)."""
    return "high" if label.upper().startswith("HFM") else "low"


def map_size_frame(
    sigma: float = PAPER_SIGMA,
    size: tuple[str, int, int] = FEATURE_MAP_SIZES[0],
    out_path: str | os.PathLike[str] | None = None,
) -> Figure:
    """σ (in bins) against one feature-map size: the filter there and the share it passes.

    ``size`` is ``(label, h, w)``; a label starting with "HFM" draws g, else LFM's 1 − g.
    Panels: the filter unshifted (as applied), the same fftshift-ed (DC in the centre), and
    the band's mean gain and share of bins with gain > ½ against the map side for this σ
    (square maps), with the sizes of :data:`FEATURE_MAP_SIZES` marked.
    """
    label, h, w = size
    band = _map_band(label)
    name = "HFM's g" if band == "high" else "LFM's 1−g"
    f = band_filter(h, w, sigma, band, dtype=torch.float64)[0, 0].numpy()  # type: ignore[arg-type]
    gain = band_gain(h, w, sigma, band)
    fig = plt.figure(figsize=(15, 4.6))
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.5])
    for i, (arr, what) in enumerate(
        ((f, "unshifted (as applied)"), (np.fft.fftshift(f), "fftshift-ed"))
    ):
        ax = fig.add_subplot(gs[0, i])
        im = ax.imshow(arr, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"{name} on {h}×{w}, {what}", fontsize=9)
        _spectrum_axes(ax, h, w, shifted=i == 1)
        _colorbar(fig, im, ax, "gain")
    ax = fig.add_subplot(gs[0, 2])
    sides = np.unique(np.geomspace(8, 256, 48).astype(int))
    stats = [band_gain(n, n, sigma, band) for n in sides]
    ax.plot(sides, [s["mean"] for s in stats], "-", color="C0", label="mean gain")
    ax.plot(
        sides, [s["above_half"] for s in stats], "--", color="C1", label="share of bins, gain > ½"
    )
    for other, oh, ow in FEATURE_MAP_SIZES:
        if _map_band(other) != band:
            continue
        st = band_gain(oh, ow, sigma, band)
        here = (other, oh, ow) == tuple(size)
        ax.plot(np.sqrt(oh * ow), st["above_half"], "o", color="C3", ms=8 if here else 5)
        ax.annotate(
            f"{oh}×{ow}",
            (np.sqrt(oh * ow), st["above_half"]),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.axvline(np.sqrt(h * w), color="C3", lw=1, alpha=0.6)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("map side √(h·w) in pixels (log scale)", fontsize=9)
    ax.set_ylabel(f"{name}: mean gain, share > ½", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"the same σ = {sigma:g} bins on square maps of every side", fontsize=9)
    fig.suptitle(
        f"σ = {sigma:g} bins on a {h}×{w} map ({label}): {name} has gain {gain['dc']:.3f} at DC, "
        f"mean gain {gain['mean']:.3f}, gain > ½ on {gain['above_half']:.1%} of the bins",
        fontsize=10,
    )
    fig.tight_layout()
    _marker_legend(fig)
    return _finish(fig, out_path)


def map_size_explorer(
    sigma: int = 7,
    sizes: Sequence[tuple[str, int, int]] = FEATURE_MAP_SIZES,
    size: int = 0,
    interactive: bool = True,
    out_path: str | os.PathLike[str] | None = None,
) -> Any:
    """ipywidgets around :func:`map_size_frame`: a "σ (bins)" slider and a map dropdown.

    The dropdown lists ``sizes`` (where LFM and HFM run); ``size`` is the starting index.
    Without a Jupyter kernel or with ``interactive=False``, returns the static frame for the
    starting values. The first frame is written to ``out_path`` in both cases.
    """
    if not sizes:
        raise ValueError("map_size_explorer needs at least one map size")
    if not 0 <= size < len(sizes):
        raise ValueError(f"size index {size} outside 0..{len(sizes) - 1}")
    sigma = int(round(sigma))
    if not (interactive and widgets_available()):
        return map_size_frame(sigma, tuple(sizes[size]), out_path=out_path)  # type: ignore[arg-type]

    slider = widgets.IntSlider(
        value=sigma,
        min=1,
        max=max(TRAIN_MAP_SIDE, sigma),
        description="σ (bins)",
        continuous_update=False,
    )
    slider.add_class("gsfm-map-sigma-slider")
    options = [(f"{label} ({h}×{w})", i) for i, (label, h, w) in enumerate(sizes)]
    map_dd = widgets.Dropdown(options=options, value=size, description="map")
    out = widgets.Output()
    out.add_class("gsfm-map-size-output")

    def redraw(*_: Any, path: str | os.PathLike[str] | None = None) -> None:
        fig = map_size_frame(slider.value, tuple(sizes[map_dd.value]), out_path=path)  # type: ignore[arg-type]
        _show_in(out, fig)

    slider.observe(redraw, names="value")
    map_dd.observe(redraw, names="value")
    redraw(path=out_path)
    box = widgets.VBox([widgets.HBox([slider, map_dd]), out])
    box.add_class("gsfm-map-size-explorer")
    return box
