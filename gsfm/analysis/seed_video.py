"""One interval for a measurement made per (seed, video), whatever the number of seeds at hand.

The analyses of trained models (the lookalike shares of Fig. 1, the spectra of the frequency
modules' residual) produce one number per training seed and video. With two or more seeds the
interval is the calibrated one of the ablations (:func:`gsfm.analysis.calibrated.estimate`:
seed, video and seed × video variation together). With one seed there is no seed-to-seed
variation to estimate, so the interval is a Student-t interval over the videos, and
:func:`describe` says so: it covers which videos were drawn, not which seed.

:func:`direction` returns a direction word only where the interval excludes 0, so no sentence
reads a difference that the data do not resolve.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from gsfm.analysis.calibrated import Estimate, estimate, variance_components

__all__ = ["describe", "direction", "estimate_over"]


def estimate_over(d: np.ndarray, confidence: float = 0.95) -> Estimate:
    """Mean and interval of a (seeds, videos) table: calibrated over seeds and videos with two
    or more seeds, a t interval over videos with one (NaN interval with one video)."""
    d = np.asarray(d, dtype=float)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"expected a (seeds, videos) table, got shape {d.shape}")
    if d.shape[0] >= 2:
        return estimate(d, confidence)
    if not np.isfinite(d).all():
        raise ValueError("the table holds NaN or inf (a missing video?)")
    v = d.shape[1]
    mean = float(d.mean())
    comps = variance_components(d)
    if v < 2:
        nan = math.nan
        return Estimate(mean, nan, nan, nan, nan, nan, 1, v, comps)
    se = float(d[0].std(ddof=1) / math.sqrt(v))
    df = float(v - 1)
    if se == 0.0:
        return Estimate(mean, mean, mean, 0.0, df, 0.0 if mean else 1.0, 1, v, comps)
    t = stats.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * stats.t.sf(abs(mean) / se, df))
    return Estimate(mean, mean - t * se, mean + t * se, se, df, p, 1, v, comps)


def describe(n_seeds: int, n_videos: int) -> str:
    """What an interval of :func:`estimate_over` is over, in words."""
    videos = f"{n_videos} video{'s' if n_videos != 1 else ''}"
    if n_seeds >= 2:
        return f"over {n_seeds} seeds and {videos}"
    return f"over {videos} of one seed (seed-to-seed variation not covered)"


def direction(est: Estimate, above: str, below: str, none: str = "") -> str:
    """``above`` when the interval lies above 0, ``below`` when below, else ``none``."""
    if math.isfinite(est.low) and est.low > 0:
        return above
    if math.isfinite(est.high) and est.high < 0:
        return below
    return none
