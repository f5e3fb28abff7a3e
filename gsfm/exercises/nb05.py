"""Checkers of notebook 05 (ablations): references come from :mod:`gsfm.analysis.comparison`,
:mod:`gsfm.ablation.stats`, :mod:`gsfm.analysis.spectral` and :mod:`gsfm.ablation.runner`."""

from __future__ import annotations

import math
import tempfile
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from gsfm.ablation.runner import run_ablation
from gsfm.ablation.schema import RUN_COLUMNS
from gsfm.ablation.stats import paired_differences
from gsfm.analysis.comparison import seed_interval
from gsfm.analysis.spectral import filter_stats
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import as_number, as_numbers, call, close_to


@checker("05.1")
def interval_half_widths(answer: Any) -> str:
    """(half-width of the 95 % Student-t interval of the mean of 40, 44, 48; the same spread,
    standard deviation 4, over 10 seeds)."""
    h3, h10 = as_numbers(answer, 2, ("3 seeds", "10 seeds"))
    ref3 = seed_interval([40.0, 44.0, 48.0])[1]
    ref10 = float(stats.t.ppf(0.975, 9)) * 4 / math.sqrt(10)
    if abs(h3 - 1.96 * 4 / math.sqrt(3)) < 0.05:
        raise NotYet(
            "1.96 is the normal quantile; with 3 values the mean's interval uses Student's t"
        )
    close_to(
        h3,
        ref3,
        0.05,
        "the 3-seed half-width",
        "t quantile × s / √n, with n − 1 degrees of freedom.",
    )
    close_to(h10, ref10, 0.05, "the 10-seed half-width", "Both the quantile and √n change with n.")
    return "three seeds buy an interval of ±10 points; ten, about ±3"


@checker("05.2")
def implement_seed_interval(fn: Any) -> str:
    """``fn(values)`` returns (mean, half-width of the 95 % Student-t interval of the mean)."""
    rng = np.random.default_rng(2)
    for n in (2, 3, 5, 10):
        values = list(rng.normal(45, 3, n))
        out = as_numbers(call(fn, list(values), name="your interval"), 2, ("mean", "half-width"))
        mean, half = seed_interval(values)
        if abs(out[0] - mean) > 1e-9:
            raise NotYet(f"the mean is off ({n} values)")
        if abs(out[1] - half) < 1e-9:
            continue
        x = np.asarray(values)
        if abs(out[1] - half * x.std(ddof=0) / x.std(ddof=1)) < 1e-9:
            raise NotYet("use the sample standard deviation (ddof=1)")
        if abs(out[1] - 1.96 * x.std(ddof=1) / math.sqrt(n)) < 1e-9:
            raise NotYet("1.96 is the normal quantile; the mean of a few seeds needs Student's t")
        raise NotYet(
            f"the half-width differs from gsfm.analysis.comparison.seed_interval ({n} values)"
        )
    return "your interval equals seed_interval for 2 to 10 seeds"


def _paired_demo() -> tuple[bool, bool]:
    """(paired difference distinguishable, the two means' intervals over videos overlap) for
    24 videos from 10 to 90 J&F where B = A + 0.5 on every video."""
    a = np.linspace(10, 90, 24)
    blank = dict.fromkeys(RUN_COLUMNS, "-")
    rows = pd.DataFrame(
        [
            {
                **blank,
                "study": "demo",
                "variant": v,
                "reference": v == "A",
                "seed": 0,
                "split": "val",
                "JF": float(a.mean() + d),
                "J": 0.0,
                "F": 0.0,
                "train_s": 0.0,
                "eval_fps": 0.0,
                "objects": 24,
                "frames": 24,
            }
            for v, d in (("A", 0.0), ("B", 0.5))
        ]
    )
    videos = pd.DataFrame(
        [
            {
                "study": "demo",
                "variant": v,
                "seed": 0,
                "split": "val",
                "sequence": f"v{i:02d}",
                "JF": x + d,
                "J": 0.0,
                "F": 0.0,
            }
            for v, d in (("A", 0.0), ("B", 0.5))
            for i, x in enumerate(a)
        ]
    )
    diff = paired_differences(rows, videos, [("B", "A")]).iloc[0]
    (ma, ha), (mb, hb) = seed_interval(a), seed_interval(a + 0.5)
    overlap = ma + ha > mb - hb
    return bool(diff["distinguishable"]), bool(overlap)


@checker("05.3")
def paired_versus_unpaired(answer: Any) -> str:
    """(is the paired per-video difference distinguishable?, do the two means' own intervals
    over videos overlap?) for B = A + 0.5 J&F on each of 24 videos ranging from 10 to 90."""
    if (
        isinstance(answer, str)
        or not isinstance(answer, list | tuple)
        or len(answer) != 2
        or not all(isinstance(a, bool | np.bool_) for a in answer)
    ):
        raise NotYet("answer with two booleans: (paired distinguishable, intervals overlap)")
    paired, overlap = _paired_demo()
    if bool(answer[0]) != paired:
        raise NotYet(
            "the paired verdict is not right: what is the spread of the 24 per-video differences?"
        )
    if bool(answer[1]) != overlap:
        raise NotYet(
            "the unpaired verdict is not right: how wide is a mean's interval when the "
            "videos range from 10 to 90?"
        )
    return "pairing removes what the videos contribute: 0.5 on every video is a clear effect"


@checker("05.4")
def shares_on_8x8(answer: Any) -> str:
    """(share of an 8×8 map's bins where LFM's 1 − g keeps at least half, σ = 7 bins; the same
    for σ = 7/24 relative)."""
    bins, rel = as_numbers(answer, 2, ("σ = 7 bins", "σ = 7/24 relative"))
    if max(bins, rel) > 1:
        raise NotYet("give shares as fractions between 0 and 1, not percentages")
    ref_bins = filter_stats(8, 8, 7.0, "bins")["share_low"]
    ref_rel = filter_stats(8, 8, 7 / 24, "relative")["share_low"]
    close_to(
        bins,
        ref_bins,
        0.01,
        "the share at σ = 7 bins",
        "How far is the farthest bin of an 8×8 map from Nyquist, next to a width of 7 bins?",
    )
    close_to(
        rel,
        ref_rel,
        0.02,
        "the share at relative σ",
        "7/24 of 8 bins is the width; count the bins where g stays at or below ½.",
    )
    return "on 8×8 maps 7 bins filters everything; the relative σ keeps the paper's split"


@checker("05.5")
def placement_tasks(answer: Any) -> str:
    """How many tasks the placement study still has at the smoke profile, seed 5, in an empty
    results folder (a dry run trains nothing)."""
    n = as_number(answer, "the number of tasks")
    with tempfile.TemporaryDirectory() as tmp:
        todo = run_ablation(["placement"], [5], profile="smoke", results_dir=tmp, dry_run=True)
    if n != len(todo):
        raise NotYet(
            "not yet: run run_ablation([...], [5], profile='smoke', "
            "results_dir=<an empty folder>, dry_run=True) and count what it returns"
        )
    return "one task per variant of Table 3; its reference is GSFM itself, shared with σ = 7 bins"
