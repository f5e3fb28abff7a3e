"""Checkers of notebook 07 (spectral surgery).

``07.1`` (implement, ★★): ``keep_band(x, lo, hi, bins)`` keeps only the radial frequency bins
``lo .. hi - 1`` of every channel of ``x`` (..., H, W) and returns a real tensor of the same
shape. It is compared with :func:`gsfm.analysis.surgery.filter_band` on maps of even and odd
sizes; the hints say what is off (shape, realness, which bins kept power) without the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gsfm.analysis.feature_spectra import radial_bin_index
from gsfm.analysis.surgery import filter_band
from gsfm.exercises import NotYet, checker

# (shape, (lo, hi), bins): even and odd sizes, the DC bin, the corner bin, a middle band
_CASES: tuple[tuple[tuple[int, ...], tuple[int, int], int], ...] = (
    ((2, 3, 8, 8), (0, 1), 8),
    ((1, 4, 10, 18), (2, 5), 8),
    ((3, 9, 15), (5, 8), 8),
    ((1, 2, 12, 12), (1, 3), 4),
)


def _bins_with_power(y: torch.Tensor, bins: int) -> set[int]:
    power = torch.fft.fft2(y.double()).abs().pow(2).sum(dim=tuple(range(y.dim() - 2)))
    index = radial_bin_index(*y.shape[-2:], bins)
    return {int(b) for b in index[power > 1e-8 * float(power.sum() or 1)].unique()}


@checker("07.1")
def keep_band(answer: Any) -> str:
    """``answer``: the learner's ``keep_band(x, lo, hi, bins)``."""
    if not isinstance(answer, Callable):  # type: ignore[arg-type]
        raise NotYet("pass your function itself: check('07.1', keep_band)")
    gen = torch.Generator().manual_seed(7)
    for shape, (lo, hi), bins in _CASES:
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        try:
            y = answer(x.clone(), lo, hi, bins)
        except Exception as exc:  # the learner's code: say what it raised, keep the notebook going
            raise NotYet(
                f"keep_band raised {type(exc).__name__}: {exc} (input {tuple(shape)})"
            ) from None
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise NotYet(f"return a tensor of the input's shape {tuple(shape)}, got {got}")
        if y.is_complex():
            raise NotYet("return a real tensor: the kept bins are symmetric, so take the real part")
        want = filter_band(x, (lo, hi), "keep", bins)
        if torch.allclose(y.double(), want, atol=1e-5):
            continue
        kept = _bins_with_power(y, bins)
        wanted = _bins_with_power(want, bins)
        if kept != wanted:
            raise NotYet(
                f"on a {shape[-2]}x{shape[-1]} map with band ({lo}, {hi}) of {bins} bins, your "
                f"output has power in bins {sorted(kept)}, not {sorted(wanted)}: compute the radius "
                "of every fft2 position from torch.fft.fftfreq (no fftshift), in units of the "
                "corner radius 0.5·√2, and keep bin b where lo <= b < hi"
            )
        raise NotYet(
            f"on a {shape[-2]}x{shape[-1]} map the right bins hold power, but the values differ "
            "(largest difference "
            f"{(y.double() - want).abs().max():.2e}): multiply the spectrum by 0 or 1, nothing else"
        )
    return "your filter keeps exactly the chosen radial bins, on even and odd map sizes"
