"""Frequency content of trained features: does the LFM shift energy to low frequencies and the
HFM to high ones, as the paper argues (§3.2–3.3)?

:func:`radial_power` turns feature maps into a radial power spectrum: each channel's mean is
removed (the DC bin says nothing about texture versus shape), ``|FFT|²`` is averaged over
channels and binned by radial frequency in cycles per pixel (0 to 0.5·√2 at the corner), and
normalised to sum 1, so spectra of maps of different sizes and scales compare as *shares* of
the non-DC power. :func:`feature_spectra` runs a trained model over validation videos with
forward hooks and records four places:

* ``encoder f16`` (the key encoder's 1/16 output, the LFM's input) and ``after LFM``;
* ``decoder f4`` (the decoder trunk's 1/4 output) and, where an HFM exists, ``HFM input``
  (GSFM: the boundary branch's first conv) and ``after HFM``.

STCN has neither module, so its rows show the same places without them.
:func:`low_share` summarises a spectrum as the share of power below a radius.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "N_BINS",
    "feature_spectra",
    "low_share",
    "radial_bin_index",
    "radial_power",
    "recording_spectra",
]

N_BINS = 16  # radial bins from 0 to the corner (0.5·√2 cycles per pixel)
_R_MAX = 0.5 * math.sqrt(2)


def radial_bin_index(h: int, w: int, bins: int = N_BINS) -> torch.Tensor:
    """(h, w) long: the radial bin of every position of an h×w ``fft2`` (unshifted) spectrum.

    Bin ``i`` covers radii ``[i, i + 1) · r_max / bins`` cycles per pixel, ``r_max = 0.5·√2``
    (the corner bin is closed); the DC term is in bin 0. The binning is symmetric under
    ``f -> -f``, so keeping or removing whole bins keeps a real map real.
    """
    fy = torch.fft.fftfreq(h).view(h, 1)
    fx = torch.fft.fftfreq(w).view(1, w)
    radius = torch.sqrt(fy**2 + fx**2)
    return torch.clamp((radius / _R_MAX * bins).long(), max=bins - 1)


def radial_power(x: torch.Tensor, bins: int = N_BINS) -> np.ndarray:
    """Share of the non-DC power of ``x`` (N, C, H, W) in ``bins`` radial frequency bins.

    Bin ``i`` covers radii ``[i, i + 1) · r_max / bins`` cycles per pixel, ``r_max = 0.5·√2``.
    The per-channel mean is removed first, so the DC bin holds nothing; the result sums to 1
    (all zeros for a constant input).
    """
    if x.dim() != 4:
        raise ValueError(f"expected features (N, C, H, W), got shape {tuple(x.shape)}")
    xf = x.detach().float()
    xf = xf - xf.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(xf).abs().pow(2).mean(dim=(0, 1))  # (H, W)
    index = radial_bin_index(*power.shape, bins)
    out = torch.zeros(bins, dtype=torch.float64)
    out.index_add_(0, index.flatten(), power.flatten().double())
    total = out.sum()
    return (out / total).numpy() if total > 0 else out.numpy()


def low_share(spectrum: Sequence[float] | np.ndarray, radius: float = 0.125) -> float:
    """Share of a :func:`radial_power` spectrum in the bins below ``radius`` cycles per pixel
    (default 0.125: a quarter of the Nyquist frequency along one axis)."""
    s = np.asarray(spectrum, dtype=float)
    edges = np.arange(len(s)) * _R_MAX / len(s)
    return float(s[edges < radius].sum())


def _places(model: nn.Module) -> dict[str, tuple[nn.Module, str]]:
    """Hook points: place name → (module, "input" | "output")."""
    places: dict[str, tuple[nn.Module, str]] = {
        "encoder f16": (model.key_encoder, "output"),
        "decoder f4": (model.decoder.up_8_4, "output"),
    }
    if getattr(model, "lfm", None) is not None:
        places["after LFM"] = (model.lfm, "output")
    if getattr(model.decoder, "hfm", None) is not None:
        places["HFM input"] = (model.decoder.hfm, "input")
        places["after HFM"] = (model.decoder.hfm, "output")
    return places


@contextmanager
def recording_spectra(model: nn.Module, bins: int = N_BINS) -> Iterator[dict[str, list]]:
    """While open, every forward pass through the hook points adds a :func:`radial_power`
    spectrum to ``record[place]`` (a list per place)."""
    record: dict[str, list[np.ndarray]] = {}
    handles = []

    def hook(place: str, which: str) -> Any:
        def fn(_m: nn.Module, inputs: tuple, output: Any) -> None:
            x = inputs[0] if which == "input" else output
            x = x[0] if isinstance(x, tuple) else x  # the key encoder returns (f16, f8, f4)
            record.setdefault(place, []).append(radial_power(x, bins))

        return fn

    for place, (module, which) in _places(model).items():
        handles.append(module.register_forward_hook(hook(place, which)))
    try:
        yield record
    finally:
        for h in handles:
            h.remove()


def feature_spectra(
    models: dict[str, nn.Module],
    val_root: str | os.PathLike[str],
    *,
    videos: int = 4,
    frames: int = 8,
    bins: int = N_BINS,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Mean radial spectra of each model's features on the first ``frames`` frames of the first
    ``videos`` validation videos (the models segment them as in inference).

    Returns one row per (model, place, bin): ``model, place, bin, radius`` (bin centre, cycles
    per pixel), ``power`` (mean share over the recorded maps), ``maps`` (how many).
    """
    from gsfm.data.davis import DAVISEvalDataset
    from gsfm.inference import InferenceEngine

    data = DAVISEvalDataset(val_root, split="val")
    if len(data) == 0:
        raise ValueError(f"no validation videos in {val_root}")
    rows = []
    for label, model in models.items():
        model = model.to(device).eval()
        engine = InferenceEngine(model)
        with recording_spectra(model, bins) as record, torch.no_grad():
            for i in range(min(videos, len(data))):
                clip = data.video(i)
                engine.propagate(clip.rgb()[:frames].to(device), clip.masks()[0][0])
        for place, spectra in record.items():
            mean = np.mean(spectra, axis=0)
            for b in range(bins):
                rows.append(
                    {
                        "model": label,
                        "place": place,
                        "bin": b,
                        "radius": (b + 0.5) * _R_MAX / bins,
                        "power": float(mean[b]),
                        "maps": len(spectra),
                    }
                )
    return pd.DataFrame(rows)
