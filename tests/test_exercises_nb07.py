"""Notebook 07's checker: the reference solution passes, wrong answers are rejected with a hint."""

from __future__ import annotations

import torch

from gsfm.analysis.feature_spectra import radial_bin_index
from gsfm.exercises import check, exercise_ids


def reference_keep_band(x: torch.Tensor, lo: int, hi: int, bins: int) -> torch.Tensor:
    """The solution written out as a learner would (as in the notebook's solution cell)."""
    h, w = x.shape[-2:]
    fy = torch.fft.fftfreq(h).view(h, 1)
    fx = torch.fft.fftfreq(w).view(1, w)
    radius = torch.sqrt(fy**2 + fx**2) / (0.5 * 2**0.5)
    index = torch.clamp((radius * bins).long(), max=bins - 1)
    keep = (index >= lo) & (index < hi)
    return torch.fft.ifft2(torch.fft.fft2(x) * keep).real


def test_07_3_is_registered_and_the_reference_passes() -> None:
    assert "07.3" in exercise_ids()
    verdict = check("07.3", reference_keep_band)
    assert verdict.right, verdict.message


def test_07_3_rejects_wrong_answers_with_a_hint() -> None:
    def shifted(x: torch.Tensor, lo: int, hi: int, bins: int) -> torch.Tensor:
        # a common mistake: the radius of the fftshift-ed grid used on the unshifted spectrum
        h, w = x.shape[-2:]
        index = torch.fft.fftshift(radial_bin_index(h, w, bins))
        return torch.fft.ifft2(torch.fft.fft2(x) * ((index >= lo) & (index < hi))).real

    wrong = check("07.3", shifted)
    assert not wrong.right and "power in bins" in wrong.message
    assert not check("07.3", lambda x, lo, hi, bins: torch.fft.fft2(x)).right  # complex output
    assert "shape" in check("07.3", lambda x, lo, hi, bins: x[..., :2, :]).message
    assert "raised" in check("07.3", lambda x, lo, hi: x).message
    assert not check("07.3", ...).right
