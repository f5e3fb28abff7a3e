"""Checkers of notebook 07 (spectral surgery).

``07.1`` (predict, ★): the weight each of the k = 10 chosen memory positions gets when only
radial bin 0 of 16 of the keys is kept (every key is then its channel means: a k-way tie).
``07.2`` (modify, ★): whether bypassing the HFM changes the query pixel's matches, and whether
it can change J&F.
``07.3`` (implement, ★★): ``keep_band(x, lo, hi, bins)`` keeps only the radial frequency bins
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
def tie_weight(answer: Any) -> str:
    k = 10
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise NotYet("answer with one number: the weight of each chosen memory position") from None
    if abs(value - 1.0) < 1e-6:
        raise NotYet(
            "that is the weight of all k positions together: the top-k softmax spreads it "
            "over the positions it chose"
        )
    if abs(value - 1.0 / k) > 1e-6:
        raise NotYet(
            "what is left of each key when only its DC term is kept? Then compare the affinities "
            "of the memory positions with one another, and share the softmax among k of them"
        )
    return "every key is its channel means, every affinity the same: a k-way tie, 1/k each"


@checker("07.2")
def hfm_bypass(answer: Any) -> str:
    if not (
        isinstance(answer, tuple) and len(answer) == 2 and all(isinstance(a, bool) for a in answer)
    ):
        raise NotYet("answer with two booleans: (matches_change, jf_can_change)")
    matches_change, jf_can_change = answer
    if matches_change:
        raise NotYet(
            "where does the HFM sit: before or after the memory read? The matches are computed "
            "from the keys alone"
        )
    if not jf_can_change:
        raise NotYet("the masks come from the decoder: which of its inputs did the bypass change?")
    return (
        "the HFM is in the decoder, after the read: same matches, but the masks (and J&F) can move"
    )


@checker("07.3")
def keep_band(answer: Any) -> str:
    """``answer``: the learner's ``keep_band(x, lo, hi, bins)``."""
    if not isinstance(answer, Callable):  # type: ignore[arg-type]
        raise NotYet("pass your function itself: check('07.3', keep_band)")
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
