"""Checkers of notebook 06 (small objects and spectra): references come from
:mod:`gsfm.analysis.feature_spectra`, :mod:`gsfm.ablation.stats` and
:mod:`gsfm.model` at check time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from gsfm.ablation.stats import bucket_counts
from gsfm.analysis.feature_spectra import N_BINS, low_share, radial_power
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import as_array, as_numbers, call, is_close, mistake_hint
from gsfm.model import build_model

AREAS = (0.06, 0.03, 0.008, 0.004, 0.001)  # exercise 06.3: mean areas, shares of the frame


def _key_stride() -> int:
    """The key features' stride, read from a model (1/16 of the frame)."""
    net = build_model("stcn", "smoke").eval()
    with torch.no_grad():
        key = net.encode_key(torch.zeros(1, 3, 64, 64)).key
    return 64 // key.shape[-1]


@checker("06.1")
def cells_of_a_small_object(answer: Any) -> str:
    """(key-feature cells covered by an object of 0.5 % of a 480×854 frame, of a 160×288 frame)."""
    davis, ours = as_numbers(answer, 2, ("cells at 480×854", "cells at 160×288"))
    cell = _key_stride() ** 2
    refs = (480 * 854 * 0.005 / cell, 160 * 288 * 0.005 / cell)
    for got, ref, where in zip((davis, ours), refs, ("480×854", "160×288"), strict=True):
        if abs(got - ref * cell) < 0.5:
            raise NotYet(
                f"at {where} that is the pixel count; how many pixels does one key cell cover?"
            )
        if abs(got - ref) > 0.1:
            raise NotYet(
                f"the count at {where} is {'too high' if got > ref else 'too low'}: "
                "pixels of the object ÷ pixels per cell of the 1/16 key map"
            )
    return "at our frame size the smallest bucket is under one key cell: only the skips can keep it"


@checker("06.2")
def checkerboard_spectrum(answer: Any) -> str:
    """(the radial bin of radial_power holding all the power of a one-pixel checkerboard, the
    share of its power below 0.125 cycles per pixel)."""
    index, share = as_numbers(answer, 2, ("bin index", "share below 0.125"))
    y, x = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    spectrum = radial_power(((-1.0) ** (x + y)).expand(1, 4, 16, 16))
    if index != int(np.argmax(spectrum)):
        raise NotYet(
            "not that bin: at what frequency (cycles per pixel, along each axis) does a "
            "one-pixel checkerboard repeat, and what radius is that?"
        )
    if abs(share - low_share(spectrum)) > 1e-6:
        raise NotYet("the share is off: where does all the power of this map lie?")
    return "the checkerboard is the corner frequency (0.5, 0.5): all power in the last bin"


@checker("06.3")
def nested_bucket_counts(answer: Any) -> str:
    """[objects under 5 %, under 1 %, under 0.5 %] for mean areas 6, 3, 0.8, 0.4, 0.1 %."""
    got = as_numbers(answer, 3, ("under 5 %", "under 1 %", "under 0.5 %"))
    objects = pd.DataFrame(
        {
            "study": "demo",
            "variant": "GSFM",
            "seed": 0,
            "split": "val",
            "sequence": [f"v{i}" for i in range(len(AREAS))],
            "object": 1,
            "area": list(AREAS),
            "JF": 50.0,
            "J": 50.0,
            "F": 50.0,
        }
    )
    ref = bucket_counts(objects)["n_objects"].tolist()
    if got == ref:
        return "nested buckets share their smallest objects, so their scores are not independent"
    edges = [0.05, 0.01, 0.005, 0.0]
    disjoint = [sum(lo <= a < hi for a in AREAS) for hi, lo in zip(edges, edges[1:], strict=False)]
    if got == disjoint:
        raise NotYet(
            "those are disjoint buckets; the paper's are nested: 'under 1 %' is inside 'under 5 %'"
        )
    raise NotYet(
        "not those counts: an object counts in a bucket when its area is under the threshold"
    )


@checker("06.4")
def implement_radial_power(fn: Any) -> str:
    """``fn(x)`` returns the 16-bin radial power spectrum of features ``x`` (N, C, H, W), as
    :func:`gsfm.analysis.feature_spectra.radial_power` defines it (read its docstring)."""
    gen = torch.Generator().manual_seed(4)
    for shape in ((1, 3, 16, 16), (2, 5, 12, 20), (1, 2, 9, 7)):
        x = torch.randn(shape, generator=gen) + 3.0  # a mean to remove
        out = as_array(call(fn, x.clone(), name="your spectrum"), (N_BINS,), "your spectrum")
        ref = radial_power(x)
        if is_close(out, ref, rtol=1e-4, atol=1e-6):
            continue
        xm = x - x.mean(dim=(-2, -1), keepdim=True)
        hint = mistake_hint(
            out,
            {
                "mean": (
                    lambda x=x: _radial(x),
                    "remove each channel's mean first: otherwise DC holds most of the power",
                ),
                "amplitude": (
                    lambda xm=xm: _radial(xm, power=1),
                    "power is the squared magnitude of the spectrum",
                ),
                "shifted": (
                    lambda xm=xm: _radial(xm, shifted=True),
                    "the radius of a bin comes from its frequency (torch.fft.fftfreq), not from "
                    "its index in the array",
                ),
                "unnormalised": (
                    lambda xm=xm: _radial(xm, normalise=False),
                    "return shares: the spectrum sums to 1",
                ),
            },
            "your spectrum differs from radial_power",
            rtol=1e-4,
            atol=1e-6,
        )
        raise NotYet(hint + f" (shape {shape})")
    return "your radial power spectrum equals gsfm.analysis.feature_spectra.radial_power"


def _radial(
    x: torch.Tensor, power: int = 2, shifted: bool = False, normalise: bool = True
) -> np.ndarray:
    """radial_power with one known mistake switched on (for the hints of 06.4)."""
    p = torch.fft.fft2(x.double()).abs().pow(power).mean(dim=(0, 1))
    h, w = p.shape
    if shifted:
        fy = (torch.arange(h).double() / h).view(h, 1)
        fx = (torch.arange(w).double() / w).view(1, w)
    else:
        fy, fx = torch.fft.fftfreq(h).view(h, 1).double(), torch.fft.fftfreq(w).view(1, w).double()
    r = torch.sqrt(fy**2 + fx**2)
    idx = torch.clamp((r / (0.5 * math.sqrt(2)) * N_BINS).long(), max=N_BINS - 1)
    out = torch.zeros(N_BINS, dtype=torch.float64).index_add_(0, idx.flatten(), p.flatten())
    return (out / out.sum()).numpy() if normalise else out.numpy()
