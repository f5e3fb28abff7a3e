"""Checkers of notebook 01 (spectral filtering on images): every reference value is computed
by :mod:`gsfm.spectral` / :mod:`gsfm.analysis.spectral` when the learner checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import gsfm
from gsfm import spectral
from gsfm.analysis import spectral as sa
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import as_number, as_numbers, call, close_to, first_match, is_close

SIGMA_1 = 12.0  # exercise 01.1: a σ that neither the text nor Fig. 6b tabulates
SIDE_2 = 128  # exercise 01.2: a map size the text does not tabulate


@checker("01.1")
def lfm_gain_at_sigma_12(answer: Any) -> str:
    """(LFM's gain on DC, share of bins where LFM's gain is above ½) on 24×24 with σ = 12
    (a σ that neither the text nor Fig. 6b tabulates)."""
    dc, share = as_numbers(answer, 2, ("gain on DC", "share of bins above ½"))
    ref = sa.band_gain(24, 24, SIGMA_1, "low")
    if share > 1:
        raise NotYet("give the share as a fraction between 0 and 1, not a percentage")
    if abs(dc - (1 - ref["dc"])) < 5e-3:
        raise NotYet("that gain on DC is g(DC), HFM's; LFM multiplies by 1 − g")
    close_to(
        dc,
        ref["dc"],
        5e-3,
        "the gain on DC",
        "Work out the distance from DC to Nyquist (h//2, w//2) in bins, then the Gaussian.",
    )
    close_to(
        share,
        ref["above_half"],
        0.01,
        "the share of bins above ½",
        "Compute 1 − g at every bin of the 24×24 grid and count, or reason from the ½ radius.",
    )
    return f"LFM keeps {dc:.3f} of DC and passes more than half on {share:.0%} of the bins"


@checker("01.2")
def hfm_share_on_128(answer: Any) -> str:
    """Share of a 128×128 spectrum's bins where HFM's g exceeds ½, σ = 7 bins."""
    share = as_number(answer, "the share")
    ref = sa.band_gain(SIDE_2, SIDE_2, 7.0, "high")["above_half"]
    if share > 1:
        raise NotYet("give the share as a fraction between 0 and 1, not a percentage")
    if abs(share - sa.band_gain(24, 24, 7.0, "high")["above_half"]) < 0.01:
        raise NotYet(
            "that is the share on the 24×24 map: σ is in bins, and 128×128 has many "
            "more bins than 24×24"
        )
    if abs(share - ref) > 0.1 * ref:
        raise NotYet(
            f"not yet ({'too high' if share > ref else 'too low'}). Find the distance from Nyquist "
            "at which g falls to ½, then count the bins closer than that."
        )
    return f"about {share:.2%} of the bins: σ = 7 bins is a small disc on a 128×128 spectrum"


def _mistakes(h: int, w: int, sigma: float) -> dict[str, Any]:
    ref = spectral.band_filter(h, w, sigma, "low", dtype=torch.float64)[0, 0].numpy()
    g = spectral.band_filter(h, w, sigma, "high", dtype=torch.float64)[0, 0].numpy()
    return {
        "ref": ref,
        "g": lambda: g,
        "shifted": lambda: np.fft.fftshift(ref),
        "centred_dc": lambda: np.fft.ifftshift(ref),
        "sigma2": lambda: 1 - g**2,  # exp(−d²/σ²): the factor 2 of 2σ² missing
        "sqrt": lambda: 1 - np.sqrt(g),  # exp(−d²/(4σ²))
    }


@checker("01.3")
def implement_lfm_filter(fn: Any) -> str:
    """``fn(h, w, sigma)`` returns LFM's (h, w) gain map, unshifted, as the code builds it."""
    hints = {
        "g": "that is g, HFM's filter; LFM's filter is the other band",
        "shifted": "your map is fftshift-ed: GSFM filters the unshifted spectrum (DC at (0, 0))",
        "centred_dc": "your Gaussian sits on DC; the authors centre it on the Nyquist bin",
        "sigma2": "the width is off: check the denominator of the exponent (σ is a standard "
        "deviation)",
        "sqrt": "the width is off: check the denominator of the exponent",
    }
    for h, w, sigma in ((24, 24, 7.0), (30, 54, 7.0), (9, 14, 3.5), (8, 8, 2.3)):
        out = call(fn, h, w, sigma, name="your filter")
        if hasattr(out, "detach"):
            out = out.detach().cpu().numpy()
        out = np.squeeze(np.asarray(out, dtype=np.float64))
        if out.shape != (h, w):
            raise NotYet(f"for h={h}, w={w} your filter has shape {out.shape}, want ({h}, {w})")
        cases = _mistakes(h, w, sigma)
        if is_close(out, cases["ref"], rtol=1e-6, atol=1e-6):
            continue
        known = first_match(
            out, {k: v for k, v in cases.items() if k != "ref"}, rtol=1e-6, atol=1e-6
        )
        where = f" (on a {h}×{w} map, σ = {sigma})"
        raise NotYet((hints[known] if known else "your gains differ from LFM's filter") + where)
    return (
        "your filter equals gsfm.spectral.band_filter(..., 'low') on odd, even and non-square maps"
    )


def _statement_truths() -> tuple[bool, bool, bool, bool]:
    """Measure the four statements of 01.4 (small maps, seeded)."""
    one_bin = np.zeros((24, 24), dtype=complex)
    one_bin[3, 5] = 1.0
    every_pixel = bool((np.abs(np.fft.ifft2(one_bin)) > 0).all())
    filter_spreads = sa.kernel_stats(sa.filter_kernel(24, 24, 7.0, "low"))["energy_near"] < 0.9
    torch.manual_seed(0)
    linear = sa.without_relu(gsfm.FrequencyModule(4, band="all"))
    field = sa.receptive_field(linear, 4, (12, 12), (4, 5))
    conv_spreads = int((field > 1e-4 * field.max()).sum()) > 2
    lfm = gsfm.LFM(8)
    with_relu = sa.reach(sa.receptive_field(lfm, 8, (16, 16), (5, 5)))
    no_relu = sa.reach(sa.receptive_field(sa.without_relu(lfm), 8, (16, 16), (5, 5)))
    relu_matters = no_relu < 0.5 * with_relu
    return every_pixel, filter_spreads, conv_spreads, relu_matters


@checker("01.4")
def which_part_is_global(answer: Any) -> str:
    """Four True/False verdicts on what makes LFM's reach global, checked by measurement."""
    if (
        isinstance(answer, str)
        or not isinstance(answer, list | tuple)
        or len(answer) != 4
        or not all(isinstance(a, bool | np.bool_) for a in answer)
    ):
        raise NotYet("answer with four booleans, one per statement: (True or False, ...)")
    truths = _statement_truths()
    wrong = sum(bool(a) != t for a, t in zip(answer, truths, strict=True))
    if wrong:
        raise NotYet(
            f"{wrong} of the 4 verdicts {'is' if wrong == 1 else 'are'} not what the "
            "measurements say. Reread §5 of this notebook (the three parts of LFM) and try "
            "each statement with sa.filter_kernel / sa.kernel_stats and sa.receptive_field."
        )
    return (
        "one bin is a wave over every pixel, the smooth filter is nearly local, a 1×1 conv alone "
        "sees a pixel and its mirror: the ReLU is what spreads LFM over the whole map"
    )
