"""The ablation studies in words: every sentence notebooks 05–06 print, rendered from the
statistics' tables (:mod:`gsfm.ablation.stats`) and verdicts (:class:`gsfm.analysis.calibrated.
Verdict`), so that one comparison is never worded two ways.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gsfm.ablation.paper import (
    PAPER_MAP_SIDE,
    PAPER_STUDIES,
    paper_rows,
)
from gsfm.ablation.schema import METRIC_LABELS, check_rows
from gsfm.ablation.small_split import LABEL
from gsfm.ablation.stats import CONFIDENCE, MIN_UNITS, in_order, over_seeds
from gsfm.analysis import calibrated
from gsfm.analysis.wording import interval, signed

__all__ = [
    "differences_text",
    "paper_ordering_text",
    "provenance_note",
    "sigma_label",
    "sigma_text",
    "small_objects_text",
    "small_split_markdown",
    "small_split_readme_line",
    "small_split_text",
    "speed_text",
    "summary_text",
]


# --- sentences -----------------------------------------------------------------------------


def _seeds_phrase(lo: int, hi: int) -> str:
    n = str(lo) if lo == hi else f"{lo}–{hi}"
    return f"{n} seed{'s' if hi != 1 else ''}"


def provenance_note(rows: pd.DataFrame, seeds: bool = True) -> str:
    """Where the numbers come from, for figure titles: profile, device, torch and (``seeds``)
    the number of seeds per point (per variant and split)."""
    rows = check_rows(rows)

    def values(col: str) -> str:
        return ", ".join(in_order(str(v) for v in rows[col]))

    text = f"profile {values('profile')}, device {values('device')}, torch {values('torch')}"
    if not seeds:
        return text
    n = rows.groupby(["variant", "split"])["seed"].nunique()
    return f"{text}; {_seeds_phrase(int(n.min()), int(n.max()))} per point"


def summary_text(summary: pd.DataFrame) -> str:
    """:func:`~gsfm.ablation.stats.seed_summary` (or :func:`~gsfm.ablation.stats.sigma_table`) in
    sentences, one line per split."""
    if summary.empty:
        return "No runs to summarise."
    label = METRIC_LABELS.get(str(summary["metric"].iloc[0]), str(summary["metric"].iloc[0]))
    lines = [f"{label} per variant: mean ± half-width of the 95 % Student-t interval over seeds."]
    single = False
    for split in in_order(summary["split"]):
        parts = []
        for _, r in summary[summary["split"] == split].iterrows():
            name = f"{r['variant']}{' (reference)' if r['reference'] else ''}"
            if r["n_seeds"] > 1:
                parts.append(f"{name} {r['mean']:.1f} ± {r['ci95']:.1f} ({r['n_seeds']} seeds)")
            else:
                single = True
                parts.append(f"{name} {r['mean']:.1f} (1 seed: no interval)")
        lines.append(f"{split}: " + "; ".join(parts) + ".")
        sets = summary[summary["split"] == split].groupby("seeds", sort=False)["variant"]
        if sets.ngroups > 1:
            lines.append(
                f"On {split} the variants have different seeds ("
                + "; ".join(f"seeds {s}: {', '.join(v)}" for s, v in sets)
                + "), so comparing these means mixes seeds; the paired differences below use "
                "only the seeds both sides have."
            )
    if single:
        lines.append(
            "One seed gives no interval: a single run says nothing about how much "
            "another seed would move it."
        )
    return "\n".join(lines)


def _fps_spread(rows: pd.DataFrame | None) -> str:
    """How far apart the rows' ``eval_fps`` of one variant and split (the same network, other
    seeds) are: the largest max/min ratio, as a phrase; empty with fewer than two seeds."""
    if rows is None or "eval_fps" not in rows or rows.empty:
        return ""
    fps = rows[rows["eval_fps"] > 0].groupby(["variant", "split"])["eval_fps"]
    spread = (fps.max() / fps.min())[fps.count() > 1]
    if spread.empty:
        return ""
    (variant, split), worst = spread.idxmax(), float(spread.max())
    return (
        f" Here one variant's eval_fps differs up to ×{worst:.1f} between its seeds "
        f"({variant}, {split}), the same network."
    )


def speed_text(
    speed: pd.DataFrame | None, study: str | None = None, rows: pd.DataFrame | None = None
) -> str:
    """A speed table of :func:`gsfm.ablation.speed.variant_speed` (one profile and device) in
    sentences: each variant's median FPS and its speed relative to the reference (median and
    range of the per-round ratios), then the paper's own ratios for ``study`` where it gives
    FPS. Without a table: why the rows' ``eval_fps`` does not rank variants. With ``rows``
    (the study's rows), how far apart their ``eval_fps`` is for one variant."""
    spread = _fps_spread(rows)
    if speed is None or speed.empty:
        return (
            "Speed: not timed together yet. Each row's eval_fps was measured by the process "
            "that scored it, under the machine's load at that moment, so it does not rank "
            f"variants.{spread} `python -m gsfm ablate --speed` times them together."
        )
    first = speed.iloc[0]
    capability = f", {first['cpu_capability']}" if isinstance(first["cpu_capability"], str) else ""
    lines = [
        f"Speed, timed together in one process ({first['device']}{capability}, torch "
        f"{first['torch']}; {first['rounds']} interleaved rounds over {first['frames']} frames of "
        f"{first['height']}×{first['width']} from {len(str(first['videos']).split())} validation "
        "videos; random weights: the compute does not depend on their values):"
    ]
    reference = speed.loc[speed["reference"].astype(bool), "variant"]
    ref = str(reference.iloc[0]) if len(reference) else None
    parts = []
    for _, r in speed.iterrows():
        text = f"{r['variant']} {r['fps']:.2f} FPS"
        if r["variant"] == ref:
            text += " (reference)"
        elif math.isfinite(float(r["ratio"])):
            text += (
                f", ×{r['ratio']:.2f} of {ref} (the median of the rounds' ratios, "
                f"{r['ratio_min']:.2f}–{r['ratio_max']:.2f})"
            )
        parts.append(text)
    lines.append("; ".join(parts) + ".")
    paper = paper_rows(study) if study in PAPER_STUDIES else pd.DataFrame()
    if len(paper) and "FPS" in paper:
        timed = paper[paper["FPS"].notna() & paper["variant"].notna() & paper["baseline"].notna()]
        base = paper.set_index("paper_variant")["FPS"]
        ratios = [
            f"{r['variant']} ×{r['FPS'] / base[r['paper_baseline']]:.2f} of {r['baseline']} "
            f"({r['FPS']:g} vs {base[r['paper_baseline']]:g} FPS)"
            for _, r in timed.iterrows()
            if math.isfinite(float(base.get(r["paper_baseline"], math.nan)))
        ]
        if ratios:
            lines.append(
                f"The paper ({paper['source'].iloc[0]}, one V100): " + "; ".join(ratios) + "."
            )
    lines.append(
        "Each row's eval_fps, measured while scoring it under whatever load the machine had, "
        f"is not used to compare speeds.{spread}"
    )
    return " ".join(lines)


def _pair(r: pd.Series) -> str:
    return f"{r['variant']} − {r['baseline']}"


def differences_text(diffs: pd.DataFrame) -> str:
    """:func:`~gsfm.ablation.stats.paired_differences` in sentences: per split, each pair's
    difference with its one calibrated interval over seeds and videos together, whether it is beyond
    noise, the verdict on the paper's claim where the paper makes one, and the minimum detectable
    effect (MDE) with the seeds at hand."""
    if diffs.empty:
        return "No pair of variants was measured on a common split."
    label = METRIC_LABELS.get(str(diffs["metric"].iloc[0]), "")
    lines = []
    for split in in_order(diffs["split"]):
        d = diffs[diffs["split"] == split]
        seeds = _seeds_phrase(int(d["seed_n"].min()), int(d["seed_n"].max()))
        parts = [
            f"{split}: {label} differences over {int(d['n_videos'].max())} videos and {seeds} "
            "(95 % interval over seeds and videos together)."
        ]
        said, without = [], []
        for _, r in d.iterrows():
            if not math.isfinite(float(r.get("est_low", math.nan))):
                without.append(_pair(r))
                continue
            status, _ = _against_noise(r)
            words = "beyond noise" if status == "beyond" else "within noise"
            if r.get("verdict"):
                words += f", {r['verdict']}"
            said.append(
                f"{_pair(r)} {signed(r['estimate'])} {interval(r['est_low'], r['est_high'])} "
                f"({words}; MDE {float(r['mde']):.1f})"
            )
        if said:
            parts.append("; ".join(said) + ".")
        if without:
            parts.append(
                "No interval (one seed, or no per-video scores in common): "
                + "; ".join(without)
                + "."
            )
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _against_noise(r: pd.Series) -> tuple[str, str]:
    """(status, words): how the difference in ``r`` (a row of
    :func:`~gsfm.ablation.stats.paired_differences` or
    :func:`~gsfm.ablation.stats.bucket_differences`) stands against noise. Where the row has the
    calibrated interval over seeds and videos together (``est_low``/``est_high``, at least two
    seeds), that interval alone decides: "beyond" when it excludes 0, else "noise". Otherwise (one
    seed, or no per-video scores) the older levels: over the units (videos or objects,
    ``diff``/``low``/``high``) and over seeds (``seed_*``); "beyond" only when both exclude 0 on the
    same side, "conflict" when the seed level excludes 0 on the other side. The words read after
    "is"."""
    low, high = float(r.get("est_low", math.nan)), float(r.get("est_high", math.nan))
    if math.isfinite(low) and math.isfinite(high):  # the one calibrated interval
        where = f"over seeds and videos {interval(low, high)}"
        if low > 0 or high < 0:
            return "beyond", f"beyond noise ({where})"
        return "noise", f"within noise ({where})"
    diff = float(r["diff"])
    seed_n = int(r.get("seed_n", 0) or 0)
    seed_diff = float(r.get("seed_diff", math.nan))
    over_seeds = seed_n >= 2 and bool(r.get("seed_distinguishable", False))
    if not math.isfinite(diff):  # nothing paired per unit: the seed level alone
        if over_seeds:
            return "beyond", "distinguishable from noise over seeds (no per-video scores to pair)"
        if seed_n < 2:
            return "noise", "measured on one seed with no per-video scores: its noise is unknown"
        return "noise", "not distinguishable from noise over seeds (no per-video scores to pair)"
    over_units = bool(r["distinguishable"])
    if over_seeds and (seed_diff > 0) != (diff > 0):
        other = f"{signed(seed_diff)} {interval(r['seed_low'], r['seed_high'])}"
        return "conflict", f"beyond noise over seeds the other way ({other}): the levels disagree"
    if over_units and over_seeds:
        return "beyond", "distinguishable from noise over videos and over seeds"
    if over_seeds:
        return "noise", "beyond the noise over seeds but not over videos"
    if not over_units:
        return "noise", "not distinguishable from noise"
    if seed_n < 2:
        words = "but with one seed the noise between seeds is not measured"
        return "noise", f"beyond the noise over videos, {words}"
    return "noise", "beyond the noise over videos but not over seeds"


def _verdict(r: pd.Series, direction: str) -> tuple[str, str, str]:
    """(kind, ours, words) for one row of :func:`~gsfm.ablation.stats.paired_differences` against
    the paper's ``direction`` ("+" or "-"). Where the row has its calibrated verdict (``verdict``,
    from the interval over seeds and videos together), the kind follows it: "holds" (confirmed),
    "reversed" (contradicted), "bounded", else "direction" / "reversed-noise" by the sign of
    the estimate (unresolved). Rows without it (one seed) fall back to the older rule: kind is
    "holds" / "reversed" only when the difference is beyond noise both over videos and over
    seeds (:func:`_against_noise`). "disagree" when the two levels are on opposite sides, "tie" for
    no difference at all, "none" when nothing was measured; else "direction" or "reversed-noise"."""
    found = str(r.get("verdict", "") or "")
    if found and math.isfinite(float(r.get("est_low", math.nan))):
        est, low, high = (float(r[k]) for k in ("estimate", "est_low", "est_high"))
        ours = f" {signed(est)} {interval(low, high)}"
        kind = {
            "confirmed": "holds",
            "contradicted": "reversed",
            "bounded": "bounded",
        }.get(found) or ("direction" if (est > 0) == (direction == "+") else "reversed-noise")
        words = {
            "holds": "confirmed (the paper's direction, beyond noise over seeds and videos)",
            "reversed": "contradicted (the opposite direction, beyond noise over seeds and videos)",
            "bounded": f"bounded (any effect is smaller than {calibrated.BOUND:g} J&F)",
        }.get(kind) or (
            f"unresolved ({'the paper' if kind == 'direction' else 'the opposite'}'s direction "
            f"within noise; the minimum detectable effect is {float(r['mde']):.1f} J&F)"
        )
        return kind, ours, words
    diff, low, high, how = r["diff"], r["low"], r["high"], ""
    if not math.isfinite(diff):  # no per-video scores in common: the seed-level difference
        diff, low, high = (r.get(k, math.nan) for k in ("seed_diff", "seed_low", "seed_high"))
        how = " over seeds"
    ours = f"{how} {signed(diff)}" if math.isfinite(diff) else " nothing"
    if math.isfinite(low):
        ours += f" {interval(low, high)}"
    if not math.isfinite(diff):
        return "none", ours, "not measured"
    if diff == 0:
        return "tie", ours, "no difference at all"
    status, words = _against_noise(r)
    same_way = (diff > 0) == (direction == "+")
    if status == "beyond":
        kind, side = ("holds", "the paper's direction") if same_way else ("reversed", "reversed")
        return kind, ours, f"{side}, {words}"
    side = "the paper's direction" if same_way else "the opposite direction"
    if status == "conflict":
        return "disagree", ours, f"{side} over videos, {words}"
    return ("direction" if same_way else "reversed-noise"), ours, f"{side}, {words}"


def paper_ordering_text(diffs: pd.DataFrame, study: str | None = None) -> str:
    """Whether the paper's ordering holds: for each comparison the paper makes in ``study``
    (:data:`~gsfm.ablation.paper.PAPER_ABLATIONS` rows with our labels and a
    direction), the paper's difference beside ours (from
    :func:`~gsfm.ablation.stats.paired_differences`, or
    :func:`~gsfm.ablation.stats.bucket_differences` for Table 6's buckets) and a verdict; then a
    tally per split."""
    if study is None:
        if diffs.empty:
            raise ValueError("empty differences table: pass the study name")
        study = str(diffs["study"].iloc[0])
    paper = paper_rows(study)
    comparable = paper[
        paper["variant"].notna() & paper["baseline"].notna() & paper["direction"].notna()
    ]
    has_bucket = "bucket" in diffs.columns
    if not has_bucket:
        comparable = comparable[comparable["bucket"].isna()]
    if comparable.empty:
        return f"The paper makes no comparison in {study} that maps onto our variants" + (
            " outside the object-size buckets (use bucket_differences)."
            if paper["bucket"].notna().any()
            else "."
        )

    def name_of(p: pd.Series) -> str:
        where = f" ({p['bucket']})" if isinstance(p["bucket"], str) else ""
        return f"{p['variant']} vs {p['baseline']}{where}"

    lines, missing = [], []
    splits = in_order(diffs["split"]) if not diffs.empty else []
    for split in splits:
        d = diffs[diffs["split"] == split]
        parts, kinds, absent = [], [], 0
        for _, p in comparable.iterrows():
            sel = d[(d["variant"] == p["variant"]) & (d["baseline"] == p["baseline"])]
            if has_bucket and isinstance(p["bucket"], str):
                sel = sel[sel["bucket"] == p["bucket"]]
            if sel.empty:
                missing.append(name_of(p))
                absent += 1
                continue
            theirs = (
                f"{signed(p['paper_delta'])}"
                if math.isfinite(p["paper_delta"])
                else ("higher" if p["direction"] == "+" else "lower")
            )
            kind, ours, words = _verdict(sel.iloc[0], p["direction"])
            kinds.append(kind)
            parts.append(f"{name_of(p)}: the paper {theirs} ({p['source']}), ours{ours}: {words}")
        if not parts:
            continue
        n = len(kinds) - kinds.count("none")
        if n == 0:
            lines.append(
                f"On {split}, no comparison of the paper's was measured: " + "; ".join(parts) + "."
            )
            continue
        counts = {
            k: kinds.count(k)
            for k in (
                "holds", "direction", "reversed-noise", "reversed", "disagree", "tie", "bounded"
            )
        }  # fmt: skip
        clauses = [
            f"{counts['holds']} confirmed beyond noise",
            f"{counts['direction']} point the paper's way but not beyond noise",
            f"{counts['reversed-noise']} the other way but not beyond noise",
            f"{counts['reversed']} contradicted beyond noise",
        ]
        if counts["bounded"]:
            clauses.append(
                f"{counts['bounded']} bounded (any effect smaller than {calibrated.BOUND:g} J&F)"
            )
        if counts["disagree"]:
            clauses.append(f"{counts['disagree']} disagree between videos and seeds")
        if counts["tie"]:
            clauses.append(f"{counts['tie']} show no difference at all")
        tally = (
            f"On {split}, of the paper's {n} comparison{'s' if n != 1 else ''} measured: "
            + ", ".join(clauses)
            + "."
        )
        unmeasured = absent + len(kinds) - n
        if counts["reversed"]:
            tally += " At least one of the paper's comparisons is contradicted here."
        elif counts["holds"] == n and not unmeasured:
            tally += f" All {n} of the paper's comparisons measured here are confirmed."
        elif counts["holds"] == n:
            tally += (
                f" Every comparison measured holds, but {unmeasured} of the paper's "
                f"{n + unmeasured} {'is' if unmeasured == 1 else 'are'} not measured yet."
            )
        else:
            tally += " At this scale the data neither confirm nor contradict the paper's ordering."
        lines.append(tally + " " + "; ".join(parts) + ".")
    if not splits:  # no pair measured at all
        missing = [name_of(p) for _, p in comparable.iterrows()]
    if missing:
        lines.append("Not measured here: " + ", ".join(in_order(missing)) + ".")
    unplaced = paper[paper["variant"].isna()]
    if len(unplaced):
        lines.append(
            "The paper's rows without a variant of ours are not compared: "
            + ", ".join(unplaced["paper_variant"])
            + "."
        )
    return "\n".join(lines) if lines else "No comparison to make."


def _either_way(diffs: pd.DataFrame | None, split: str, a: str, b: str) -> pd.Series | None:
    """The row of ``diffs`` comparing ``a`` and ``b`` (in either order) on ``split``."""
    if diffs is None or diffs.empty:
        return None
    pair = ((diffs["variant"] == a) & (diffs["baseline"] == b)) | (
        (diffs["variant"] == b) & (diffs["baseline"] == a)
    )
    sel = diffs[(diffs["split"] == split) & pair]
    return sel.iloc[0] if len(sel) else None


def _on_shared_seeds(g: pd.DataFrame, rows: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """``g`` (rows of :func:`~gsfm.ablation.stats.sigma_table`, one split and mode) with each σ's
    mean and interval recomputed on the seeds every σ has, and a phrase saying so; ``g`` itself
    when they already share their seeds. Empty when they share none (or ``rows`` is not given):
    means over different seeds are not ranked."""
    seed_sets = [frozenset(str(x).split(",")) for x in g["seeds"]]
    if len(set(seed_sets)) == 1:
        return g, ""
    shared = frozenset.intersection(*seed_sets)
    if rows is None or not shared:
        return g.iloc[:0], ""
    metric, split = str(g["metric"].iloc[0]), g["split"].iloc[0]
    sel = rows[(rows["split"] == split) & rows["seed"].astype(str).isin(shared)]
    g = g.copy()
    for i, variant in zip(g.index, g["variant"], strict=True):
        spread = over_seeds(sel.loc[sel["variant"] == variant, metric], CONFIDENCE)
        g.loc[i, ["mean", "ci95", "n_seeds"]] = spread["mean"], spread["ci95"], spread["n_seeds"]
    seeds = sorted(shared, key=int)
    return g, f" on the seed{'s' if len(seeds) > 1 else ''} all of them share ({', '.join(seeds)})"


def sigma_label(sigma: float, mode: str | None) -> str:
    """σ as the sweep names it: bins as a number (``7``), the relative mode as a share of the
    map side in the paper's 24ths where it is one (``7/24``), else the fraction."""
    if mode == "relative":
        bins = sigma * PAPER_MAP_SIDE
        if math.isclose(bins, round(bins), abs_tol=1e-6):
            return f"{round(bins)}/{PAPER_MAP_SIDE}"
        return f"{sigma:.3g} of the map side"
    return f"{sigma:g}"


def _mode_phrase(mode: str) -> str:
    return {"bins": "σ in bins", "relative": "σ relative to the map side"}.get(
        str(mode), f"σ in {mode}"
    )


def sigma_text(
    sigma: pd.DataFrame,
    diffs: pd.DataFrame | None = None,
    chosen: float = 7.0,
    rows: pd.DataFrame | None = None,
) -> str:
    """For each σ mode and split of :func:`~gsfm.ablation.stats.sigma_table`: where the mean peaks,
    and how the paper's choice compares (σ = ``chosen`` bins; in the relative mode the same share
    of the map side, ``chosen``/24); with ``diffs``
    (:func:`~gsfm.ablation.stats.paired_differences` on the same rows) whether the peak differs
    from the choice beyond noise. Where the σ values have different seeds, the peak is read on
    the seeds they share (from ``rows``, the study's rows), never from means over different
    seeds."""
    sigma = sigma[sigma["sigma"].notna()]
    if sigma.empty:
        return "No variant with a σ to compare."
    label = METRIC_LABELS.get(str(sigma["metric"].iloc[0]), "")
    lines = []
    for mode in in_order(sigma["sigma_mode"]):
        for split in in_order(sigma["split"]):
            g = sigma[(sigma["sigma_mode"] == mode) & (sigma["split"] == split)]
            if g.empty:
                continue
            if len(g) == 1:  # a peak needs at least two σ
                only = g.iloc[0]
                lines.append(
                    f"{_mode_phrase(mode)}, {split}: only σ = {sigma_label(only['sigma'], mode)} "
                    "measured so far "
                    f"({label} {only['mean']:.1f}); no sweep to read yet."
                )
                continue
            seeds = "; ".join(
                f"σ = {sigma_label(r['sigma'], mode)}: seeds {r['seeds']}" for _, r in g.iterrows()
            )
            g, shared = _on_shared_seeds(g, rows)
            if g.empty:
                lines.append(
                    f"{_mode_phrase(mode)}, {split}: the σ values were measured on different "
                    "seeds so far "
                    f"({seeds}); no peak is read from means over different seeds."
                )
                continue
            best = g.loc[g["mean"].idxmax()]
            spread = f" ± {best['ci95']:.1f}" if best["n_seeds"] > 1 else ", 1 seed, no interval"
            text = (
                f"{_mode_phrase(mode)}, {split}{shared}: the highest mean {label} is at σ = "
                f"{sigma_label(best['sigma'], mode)} ({best['mean']:.1f}{spread}; "
                f"{len(g)} σ values)."
            )
            target = {"bins": chosen, "relative": chosen / PAPER_MAP_SIDE}.get(str(mode))
            pick = g[np.isclose(g["sigma"], target)] if target is not None else g.iloc[:0]
            choice = "" if target is None else f"σ = {sigma_label(target, mode)}"
            if len(pick):
                c = pick.iloc[0]
                if c["variant"] == best["variant"]:
                    text += f" That is the paper's choice, {choice}."
                else:
                    gap = c["mean"] - best["mean"]
                    text += (
                        f" The paper's choice, {choice}, is "
                        f"{signed(gap, 1 if abs(gap) >= 0.05 else 2)} from the peak."
                    )
                    pair = _either_way(diffs, split, best["variant"], c["variant"])
                    if pair is not None and math.isfinite(pair["low"]):
                        text += f" Paired, that gap is {_against_noise(pair)[1]}."
            lines.append(text)
    return "\n".join(lines)


def small_objects_text(scores: pd.DataFrame, diffs: pd.DataFrame) -> str:
    """:func:`~gsfm.ablation.stats.bucket_scores` and
    :func:`~gsfm.ablation.stats.bucket_differences` in sentences: per split and bucket the object
    count, each variant's score over seeds, the paired difference over objects (interval resampling
    videos) (distinguishable or not) and the paper's difference (Table 6) beside it."""
    if scores.empty:
        return "No objects to bucket."
    paper = paper_rows("small_objects")
    label = METRIC_LABELS.get(str(scores["metric"].iloc[0]), "")
    lines = []
    for split in in_order(scores["split"]):
        parts = []
        for bucket in in_order(scores["bucket"]):
            s = scores[(scores["split"] == split) & (scores["bucket"] == bucket)]
            n = int(s["n_objects"].max())
            if n == 0:
                parts.append(f"{bucket}: no object of this size")
                continue
            each = [
                f"{r['variant']} {r['mean']:.1f}"
                + (f" ± {r['ci95']:.1f}" if r["n_seeds"] > 1 else " (1 seed)")
                for _, r in s.iterrows()
                if r["n_seeds"] > 0
            ]
            text = f"{bucket} ({n} object{'s' if n != 1 else ''}): " + ", ".join(each)
            d = (
                diffs[(diffs["split"] == split) & (diffs["bucket"] == bucket)]
                if len(diffs)
                else diffs
            )
            for _, r in d.iterrows():
                if not math.isfinite(r["diff"]):
                    continue
                text += f"; {_pair(r)} {signed(r['diff'])}"
                seeds = (
                    f", over seeds {signed(r['seed_diff'])} "
                    f"{interval(r['seed_low'], r['seed_high'])}"
                    if r.get("seed_n", 0) >= 2
                    else ""
                )
                if math.isfinite(r["low"]):
                    text += f" {interval(r['low'], r['high'])}{seeds}: {_against_noise(r)[1]}"
                else:
                    text += f" (objects in fewer than {MIN_UNITS} videos: no interval){seeds}"
                p = paper[
                    (paper["variant"] == r["variant"])
                    & (paper["baseline"] == r["baseline"])
                    & (paper["bucket"] == bucket)
                ]
                if len(p):
                    delta = float(p["paper_delta"].iloc[0])
                    same = (r["diff"] > 0) == (delta > 0)
                    text += f" (the paper: {signed(delta)}, " + (
                        "same direction)" if same else "opposite direction)"
                    )
            parts.append(text)
        lines.append(
            f"{split}, {label} of objects by size (nested buckets, the paper's Table 6): "
            + "; ".join(parts)
            + "."
        )
    return "\n".join(lines)


# --- Table 6 on synth-small-v1 (notebook 06, docs/results.md, the README) ---------------

_SPLIT_VERDICT_WORDS = {
    "confirmed": "the paper's direction, the interval excludes 0",
    "contradicted": "the opposite of the paper's direction, the interval excludes 0",
    "bounded": "any difference is smaller than {bound:g} J&F",
    "unresolved": "the interval includes 0 and reaches beyond ±{bound:g} J&F",
}


def small_split_text(scores: pd.DataFrame, diffs: pd.DataFrame, counts: pd.DataFrame) -> str:
    """The split's Table 6 in sentences, from numbers: per bucket its objects and videos, the
    model-independent objects, each model's mean, and the difference with its interval, what
    it is taken over, its MDE and its verdict (:class:`gsfm.analysis.calibrated.Verdict`)."""
    lines = []
    for split in dict.fromkeys(scores["split"]):
        parts = []
        for _, c in counts[counts["split"] == split].iterrows():
            bucket = c["bucket"]
            s = scores[(scores["split"] == split) & (scores["bucket"] == bucket)]
            n, nv = int(c["n_objects"]), int(c["n_videos"])
            if n == 0:
                parts.append(f"{bucket}: no object of this size")
                continue
            means = ", ".join(
                f"{r['variant']} {r['mean']:.1f}" for _, r in s.iterrows() if r["n_seeds"] > 0
            )
            text = f"{bucket}: {n} objects in {nv} videos; {means}"
            d = diffs[(diffs["split"] == split) & (diffs["bucket"] == bucket)]
            for _, r in d.iterrows():
                text += (
                    f"; {r['variant']} − {r['baseline']} {signed(r['estimate'])}"
                    if math.isfinite(r["estimate"])
                    else f"; {r['variant']} − {r['baseline']} {signed(r['diff'])}"
                )
                if math.isfinite(r["est_low"]):
                    text += (
                        f" {interval(r['est_low'], r['est_high'])} (95 % interval over "
                        f"{r['interval_over']}; minimum detectable effect {r['mde']:.1f})"
                    )
                else:
                    text += " (no interval: objects in fewer than 5 videos)"
                if r["verdict"] and math.isfinite(r["est_low"]):
                    why = _SPLIT_VERDICT_WORDS[str(r["verdict"])].format(bound=calibrated.BOUND)
                    text += f": {r['verdict']} ({why})"
                k = int(r["n_independent"])
                nv, m = int(r["n_informative_videos"]), n - k
                text += (
                    f"; {k} of the {n} objects score the same for both models "
                    f"(model-independent), so {m} object{'s' if m != 1 else ''} in {nv} "
                    f"video{'s' if nv != 1 else ''} {'tells' if m == 1 else 'tell'} them apart"
                )
            parts.append(text)
        lines.append(f"{split}, J&F of objects by size (nested buckets): " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _bucket_words(bucket: str) -> str:
    return "under " + bucket.lstrip("<").replace("%", " %")


def _split_name(split: str) -> str:
    """A split's name in prose: its own label for synth-small-v1, ``synth-v1 <split>`` else."""
    return split if split.startswith("synth-") else f"synth-v1 {split}"


def _estimate(r: pd.Series) -> float:
    """The calibrated estimate, or the plain mean difference where there is none."""
    return float(r["estimate"]) if math.isfinite(r["estimate"]) else float(r["diff"])


def _verdict_phrase(d: pd.DataFrame) -> str:
    """``confirmed in every bucket`` or ``confirmed under 5 %, unresolved under 1 % and
    0.5 %`` for one split's rows of :func:`gsfm.ablation.small_split.split_differences` (bucket
    order kept)."""
    groups: dict[str, list[str]] = {}
    for _, r in d.iterrows():
        groups.setdefault(str(r["verdict"] or "no verdict"), []).append(str(r["bucket"]))
    if len(groups) == 1:
        return f"{next(iter(groups))} in every bucket"
    parts = []
    for verdict, buckets in groups.items():
        sizes = [b.lstrip("<").replace("%", "") for b in buckets]
        joined = sizes[0] if len(sizes) == 1 else ", ".join(sizes[:-1]) + " and " + sizes[-1]
        parts.append(f"{verdict} under {joined} %")
    return ", ".join(parts)


def small_split_markdown(scores: pd.DataFrame, diffs: pd.DataFrame) -> str:
    """docs/results.md's small-object section body: one table row per split and bucket
    (objects, videos, model-independent objects, each model's mean, the estimate with its
    interval, what the interval is over, the MDE, Holm p and the verdict) and a sentence per
    split, all from the rows."""
    variants = list(dict.fromkeys(diffs["baseline"])) + list(dict.fromkeys(diffs["variant"]))
    head = (
        "| split, bucket | objects (videos) | model-independent | "
        + " | ".join(variants)
        + " | GSFM − STCN [95 %] | interval over | MDE | Holm p | verdict |"
    )
    lines = [head, "|" + "---|" * (8 + len(variants))]
    for _, r in diffs.iterrows():
        s = scores[(scores["split"] == r["split"]) & (scores["bucket"] == r["bucket"])]
        means = [f"{s.loc[s['variant'] == v, 'mean'].iloc[0]:.1f}" for v in variants]
        has = math.isfinite(r["est_low"])
        lines.append(
            f"| {_split_name(r['split'])}, {r['bucket'].replace('<', '< ').replace('%', ' %')} "
            f"| {int(r['n_objects'])} ({int(r['n_videos'])}) | {int(r['n_independent'])} | "
            + " | ".join(means)
            + f" | {signed(_estimate(r))}"
            + (f" {interval(r['est_low'], r['est_high'])}" if has else " (no interval)")
            + f" | {r['interval_over'] if has else '—'} | "
            + (f"{r['mde']:.1f} | {r['p_holm']:.2f}" if has else "— | —")
            + f" | {r['verdict']} |"
        )
    text = ["\n".join(lines), ""]
    for split, d in diffs.groupby("split", sort=False):
        small = d[d["bucket"] == d["bucket"].iloc[-1]].iloc[0]
        text.append(
            f"On {_split_name(split)}, GSFM − STCN is {_verdict_phrase(d)}; "
            f"{_bucket_words(small['bucket'])} of the frame {signed(_estimate(small))} J&F "
            + (
                f"{interval(small['est_low'], small['est_high'])} over {small['interval_over']}"
                if math.isfinite(small["est_low"])
                else "(no interval)"
            )
            + f", with {int(small['n_independent'])} of its "
            f"{int(small['n_objects'])} objects model-independent."
        )
    return "\n".join(text)


def small_split_readme_line(diffs: pd.DataFrame, new_split: str = LABEL) -> str:
    """README's Table 6 bullet: the verdicts per split, synth-small-v1 first with its estimate
    under 0.5 %, from :func:`gsfm.ablation.small_split.split_differences`."""
    parts = []
    for split, d in diffs.groupby("split", sort=False):
        phrase = _verdict_phrase(d)
        if str(split).startswith(new_split):
            small = d.iloc[-1]
            has = math.isfinite(small["est_low"])
            phrase = (
                f"on {split} (shipped weights, one seed, interval over videos) {phrase}; "
                f"{_bucket_words(small['bucket'])} {signed(_estimate(small))}"
                + (f" {interval(small['est_low'], small['est_high'])}" if has else "")
            )
        else:
            phrase = f"on {_split_name(split)} {phrase}"
        parts.append(phrase)
    return "- **Small objects (Table 6)**: " + "; ".join(parts) + "."
