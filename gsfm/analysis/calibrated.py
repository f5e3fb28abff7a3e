"""One calibrated estimator for an ablation comparison over seeds and videos, and its verdict.

An ablation compares two variants, each trained with several seeds and scored on the same
videos, so the paired differences ``d[s, v]`` (seed ``s``, video ``v``) carry three kinds of
noise: a seed effect shared by every video of one training run, a video effect shared by every
seed (some videos favour one variant), and a seed × video effect. Intervals that resample only
videos (seeds pooled) ignore the seed effect and come out too narrow; intervals over seeds
alone ignore the video effect and, with three seeds, are as noisy as the spread of three
numbers.

This module fits the two-way random-effects model ``d[s, v] = δ + a_s + b_v + e_sv`` by the
ANOVA method of moments (the balanced case has closed forms; no iterative fit), estimates the
variance of the grand mean as ``(MS_seed + MS_video − MS_residual) / (S·V)`` (unbiased for
``σ²_seed/S + σ²_video/V + σ²_res/(S·V)``) and gives a Student-t interval with Satterthwaite's
degrees of freedom. With few seeds the degrees of freedom are close to ``S − 1``, so the
interval is wide where it has to be: its coverage is checked by simulation with the variance
components measured on this project's rows (``tests/test_calibrated.py``).

Numbers in, numbers out: the module knows nothing of CSV files or study names.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = [
    "Components",
    "Coverage",
    "Estimate",
    "Verdict",
    "SeedParts",
    "claim_verdict",
    "compare_seed_parts",
    "estimate",
    "holm",
    "minimum_detectable_effect",
    "seeds_for_half_width",
    "seed_part_upper",
    "seeds_needed",
    "simulate_coverage",
    "simulate_table",
    "variance_components",
    "verdict",
]

BOUND = 2.0  # J&F: an interval inside ±BOUND says "smaller than BOUND", a bounded verdict
POWER = 0.8
ALPHA = 0.05


@dataclass(frozen=True)
class Components:
    """Variance components of the paired differences (J&F², truncated at 0) and the design."""

    seed: float
    video: float
    residual: float
    n_seeds: int
    n_videos: int

    def variance_of_mean(self, n_seeds: int | None = None, n_videos: int | None = None) -> float:
        """Variance of the mean difference with ``n_seeds`` seeds and ``n_videos`` videos."""
        s = self.n_seeds if n_seeds is None else n_seeds
        v = self.n_videos if n_videos is None else n_videos
        return self.seed / s + self.video / v + self.residual / (s * v)


@dataclass(frozen=True)
class Estimate:
    """A comparison's estimate with its interval, p value and design.

    ``se`` and ``df`` are those of the mean; ``p`` is two-sided against 0. With one seed or one
    video there is no interval: ``low``, ``high``, ``p`` and ``df`` are NaN.
    """

    estimate: float
    low: float
    high: float
    se: float
    df: float
    p: float
    n_seeds: int
    n_videos: int
    components: Components

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


class Verdict(enum.StrEnum):
    """What a comparison says about the paper's claim, decided by :func:`verdict`."""

    CONFIRMED = "confirmed"  # the paper's sign, the interval excludes 0
    CONTRADICTED = "contradicted"  # the opposite sign, the interval excludes 0
    BOUNDED = "bounded"  # the interval lies inside ±BOUND: any effect is smaller than that
    UNRESOLVED = "unresolved"  # none of the above: more seeds needed (see the MDE)


def _table(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise ValueError(f"expected a (seeds, videos) table of differences, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("the table of differences holds NaN or inf (a missing video or seed?)")
    return d


def _mean_squares(d: np.ndarray) -> tuple[float, float, float]:
    s, v = d.shape
    grand = d.mean()
    by_seed, by_video = d.mean(axis=1), d.mean(axis=0)
    ms_seed = v * ((by_seed - grand) ** 2).sum() / (s - 1) if s > 1 else math.nan
    ms_video = s * ((by_video - grand) ** 2).sum() / (v - 1) if v > 1 else math.nan
    resid = d - by_seed[:, None] - by_video[None, :] + grand
    dof = (s - 1) * (v - 1)
    ms_res = (resid**2).sum() / dof if dof > 0 else math.nan
    return float(ms_seed), float(ms_video), float(ms_res)


def variance_components(d: np.ndarray) -> Components:
    """Seed, video and residual variances of a (seeds, videos) table of paired differences
    (method of moments, each truncated at 0)."""
    d = _table(d)
    s, v = d.shape
    ms_seed, ms_video, ms_res = _mean_squares(d)
    if s < 2 or v < 2:
        return Components(math.nan, math.nan, math.nan, s, v)
    return Components(
        seed=max(0.0, (ms_seed - ms_res) / v),
        video=max(0.0, (ms_video - ms_res) / s),
        residual=ms_res,
        n_seeds=s,
        n_videos=v,
    )


def estimate(d: np.ndarray, confidence: float = 0.95) -> Estimate:
    """The mean of a (seeds, videos) table of paired differences with its calibrated interval.

    Variance of the mean: ``(MS_seed + MS_video − MS_res) / (S·V)``; where the seed or the video
    component comes out negative it is set to 0, which leaves ``MS_video``, ``MS_seed`` or
    ``MS_res`` alone over ``S·V``. Degrees of freedom by Satterthwaite's formula for that sum.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    d = _table(d)
    s, v = d.shape
    comps = variance_components(d)
    mean = float(d.mean())
    if s < 2 or v < 2:
        nan = math.nan
        return Estimate(mean, nan, nan, nan, nan, nan, s, v, comps)
    ms_seed, ms_video, ms_res = _mean_squares(d)
    # S·V·Var(mean) = S·V·(σ²_seed/S + σ²_video/V + σ²_res/(S·V)) in mean squares, with a
    # component whose estimate is negative set to 0 (so the sum never falls below MS_res)
    seed_term, video_term = ms_seed >= ms_res, ms_video >= ms_res
    dof_s, dof_v, dof_r = s - 1, v - 1, (s - 1) * (v - 1)
    if seed_term and video_term:
        terms = [(ms_seed, dof_s), (ms_video, dof_v), (-ms_res, dof_r)]
    elif seed_term:
        terms = [(ms_seed, dof_s)]
    elif video_term:
        terms = [(ms_video, dof_v)]
    else:
        terms = [(ms_res, dof_r)]
    combined = sum(m for m, _ in terms)
    se = math.sqrt(max(combined, 0.0) / (s * v))
    denom = sum(m**2 / f for m, f in terms)
    df = combined**2 / denom if denom > 0 else float(s - 1)
    df = min(max(df, 1.0), float(s * v - 1))
    if se == 0.0:
        p = 0.0 if mean != 0 else 1.0
        return Estimate(mean, mean, mean, 0.0, df, p, s, v, comps)
    t = stats.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * stats.t.sf(abs(mean) / se, df))
    return Estimate(mean, mean - t * se, mean + t * se, se, df, p, s, v, comps)


def minimum_detectable_effect(
    se: float, df: float, power: float = POWER, alpha: float = ALPHA
) -> float:
    """The smallest true difference a two-sided t test at level ``alpha`` detects with
    probability ``power``: ``(t_{1−α/2} + t_{power}) · se`` (NaN without an ``se``)."""
    if not (math.isfinite(se) and math.isfinite(df)):
        return math.nan
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se)


def _fewest_seeds(width: Callable[[int], float], target: float, most: int) -> int | None:
    """The fewest seeds ``s`` >= 2 with ``width(s) <= target`` (``width`` falls with ``s``), or
    None when not even ``most`` seeds reach it."""
    if width(most) > target:
        return None
    lo, hi = 2, most  # binary search for the first s with width <= target
    while lo < hi:
        mid = (lo + hi) // 2
        if width(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _known(comps: Components) -> bool:
    return all(math.isfinite(x) for x in (comps.seed, comps.video, comps.residual))


def seeds_needed(
    comps: Components,
    target: float,
    power: float = POWER,
    alpha: float = ALPHA,
    n_videos: int | None = None,
    most: int = 10_000,
) -> int | None:
    """The fewest seeds whose minimum detectable effect is at most ``target`` J&F, with the
    variance components ``comps`` (degrees of freedom ``S − 1``, the seed term's); None when
    not even ``most`` seeds reach it (the video term alone is too large) or ``comps`` is
    unknown."""
    if not _known(comps):
        return None
    v = comps.n_videos if n_videos is None else n_videos

    def mde(s: int) -> float:
        se = math.sqrt(comps.variance_of_mean(s, v))
        return minimum_detectable_effect(se, s - 1, power, alpha)

    return _fewest_seeds(mde, target, most)


def seeds_for_half_width(
    comps: Components,
    target: float,
    confidence: float = 0.95,
    n_videos: int | None = None,
    most: int = 10_000,
) -> int | None:
    """The fewest seeds whose expected interval half-width ``t · se`` (degrees of freedom
    ``S − 1``) is at most ``target`` J&F with the variance components ``comps``; None when not
    even ``most`` seeds reach it or ``comps`` is unknown. Planning arithmetic: one study's
    interval scatters around this width."""
    if not _known(comps):
        return None
    v = comps.n_videos if n_videos is None else n_videos

    def half(s: int) -> float:
        return float(stats.t.ppf(0.5 + confidence / 2, s - 1)) * math.sqrt(
            comps.variance_of_mean(s, v)
        )

    return _fewest_seeds(half, target, most)


def seed_part_upper(d: np.ndarray, confidence: float = 0.95) -> float:
    """A one-sided upper confidence bound on the seed part (J&F²) of a (seeds, videos) table.

    ``(S − 1)·MS_seed / σ²`` is χ² with ``S − 1`` degrees of freedom for ``σ² = V·σ²_seed +
    σ²_res``; the bound takes σ² at the χ² quantile ``1 − confidence`` and ``σ²_res`` as
    ``MS_res`` (many degrees of freedom). Why: a seed part estimated as 0 from a few seeds is
    no evidence that it is small; its upper bound says how large it could still be."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    d = _table(d)
    s, v = d.shape
    if s < 2 or v < 2:
        raise ValueError(f"need >= 2 seeds and >= 2 videos, got {s} and {v}")
    ms_seed, _, ms_res = _mean_squares(d)
    top = ms_seed * (s - 1) / stats.chi2.ppf(1 - confidence, s - 1)
    return max(0.0, (top - ms_res) / v)


@dataclass(frozen=True)
class SeedParts:
    """:func:`compare_seed_parts`'s answer: the ratio of the two tables' seed mean squares,
    its degrees of freedom and one-sided p (the first table's seed part the larger)."""

    ratio: float
    df: tuple[int, int]
    p: float


def compare_seed_parts(a: np.ndarray, b: np.ndarray) -> SeedParts:
    """Whether table ``a``'s seeds spread more than table ``b``'s: ``F = MS_seed(a) / MS_seed(b)``
    against F(S_a − 1, S_b − 1). Each seed mean square estimates ``V·σ²_seed + σ²_res``, so
    with one number of videos and similar seed × video parts (both checked by the caller's
    numbers) a small p says ``a``'s seed part is the larger: e.g. two training designs scored
    on the same videos."""
    a, b = _table(a), _table(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the tables hold {a.shape[1]} and {b.shape[1]} videos: need one number")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(f"need >= 2 seeds in each table, got {a.shape[0]} and {b.shape[0]}")
    ratio = _mean_squares(a)[0] / _mean_squares(b)[0]
    df = (a.shape[0] - 1, b.shape[0] - 1)
    return SeedParts(float(ratio), df, float(stats.f.sf(ratio, *df)))


def simulate_table(
    rng: np.random.Generator,
    seed: float,
    video: float,
    residual: float,
    n_seeds: int,
    n_videos: int,
    effect: float = 0.0,
) -> np.ndarray:
    """One (seeds × videos) table of paired differences from the two-way model: ``effect`` plus
    a seed, a video and a seed × video effect with variances ``seed``, ``video``, ``residual``."""
    return (
        effect
        + rng.normal(0, math.sqrt(seed), (n_seeds, 1))
        + rng.normal(0, math.sqrt(video), (1, n_videos))
        + rng.normal(0, math.sqrt(residual), (n_seeds, n_videos))
    )


@dataclass(frozen=True)
class Coverage:
    """How often the 95 % interval of :func:`simulate_coverage`'s studies held the true effect:
    over all studies, and over those whose seed part came out 0 (``seed_zero_share`` of them),
    where the seed term drops out of the variance and the interval leans on the video term."""

    overall: float
    seed_zero: float
    seed_zero_share: float
    miss: float  # share of studies whose interval missed the true effect
    miss_seed_zero: float  # share of studies that missed it with a seed part of 0


def simulate_coverage(
    seed: float,
    video: float,
    residual: float,
    n_seeds: int,
    n_videos: int,
    studies: int = 2000,
    effect: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Coverage:
    """Simulate ``studies`` (seeds × videos) tables from the two-way model with variance
    components ``seed``, ``video``, ``residual`` (J&F²) and a true ``effect``, and count how
    often :func:`estimate`'s interval holds it, overall and given a seed part estimated as 0.

    Why the split: the interval is calibrated on average, but a study whose few seeds happen to
    agree (seed part 0) loses the seed term from its interval, and a large share of the misses
    falls there (nearly all at 3 seeds); a reader of such an interval should know how often it
    misses."""
    if n_seeds < 2 or n_videos < 2 or studies < 1:
        raise ValueError(f"need >= 2 seeds, >= 2 videos and >= 1 study, got {n_seeds}, {n_videos}, {studies}")  # fmt: skip
    if min(seed, video, residual) < 0:
        raise ValueError(f"variance components must be >= 0, got {seed}, {video}, {residual}")
    rng = np.random.default_rng(0) if rng is None else rng
    hit = zero = zero_hit = 0
    for _ in range(studies):
        e = estimate(simulate_table(rng, seed, video, residual, n_seeds, n_videos, effect))
        covered = bool(e.low <= effect <= e.high)
        hit += covered
        if e.components.seed == 0:
            zero += 1
            zero_hit += covered
    return Coverage(
        overall=hit / studies,
        seed_zero=zero_hit / zero if zero else math.nan,
        seed_zero_share=zero / studies,
        miss=1 - hit / studies,
        miss_seed_zero=(zero - zero_hit) / studies,
    )


def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (one family, e.g. one study's comparisons);
    NaN stays NaN and is left out of the family."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def verdict(low: float, high: float, paper_sign: int, bound: float = BOUND) -> Verdict:
    """The verdict of an interval ``[low, high]`` on the paper's claim.

    ``paper_sign``: +1 or −1 when the paper reports the variant above or below its baseline;
    0 when the comparison should show no difference (two runs of one network). A comparison
    on which the paper claims nothing gets no verdict (the caller leaves it empty).
    """
    if paper_sign not in (-1, 0, 1):
        raise ValueError(f"paper_sign must be -1, 0 or +1, got {paper_sign!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        return Verdict.UNRESOLVED
    if low > 0 or high < 0:
        found = 1 if low > 0 else -1
        return Verdict.CONFIRMED if found == paper_sign else Verdict.CONTRADICTED
    if -bound <= low and high <= bound:
        return Verdict.BOUNDED
    return Verdict.UNRESOLVED


def claim_verdict(low: float, high: float, paper_sign: int | None) -> str:
    """:func:`verdict`'s value for a comparison the paper gives the sign ``paper_sign``, or ""
    where the paper claims nothing on it (``None``): the verdict column of every table."""
    return "" if paper_sign is None else verdict(low, high, paper_sign).value
