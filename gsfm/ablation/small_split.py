"""Table 6 on enough small objects: the statistics and sentences of ``synth-small-v1``.

synth-v1's val and ``small`` splits hold too few small objects to compare the models on them
(the objects under 0.5 % of the frame are a handful in three videos, and half of them score
the same for both models because neither finds them). ``synth-small-v1`` is a scoring-only
split of 100 videos (10 frames, 240x432) whose every object covers 0.1–5 % of the frame on
average and at least one stride-16 key-feature cell (16x16 pixels, 0.247 % of the frame) in
every annotated frame (:data:`gsfm.data.synthetic.VERSIONS` ``["small-v1"]``).

:func:`gsfm.ablation.report.score_small_split` scores the shipped weights on it and writes the
rows into ``results/small_split/``; this module holds what is computed from rows:
:func:`model_independent` (both models score an object the same in every run, so it says
nothing about which is better), :func:`split_differences` (the models per size bucket with the
calibrated estimator of :mod:`gsfm.analysis.calibrated`; with one seed its video term alone,
an interval over videos) and the sentences and doc blocks rendered from them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from gsfm.runtime import resolve_path

__all__ = [
    "INTERVAL_OVER_SEEDS",
    "INTERVAL_OVER_VIDEOS",
    "LABEL",
    "README_BULLET",
    "RESULTS_DIR",
    "SPLIT",
    "VERSION",
    "model_independent",
    "split_differences",
    "split_label",
    "split_text",
]

VERSION = "small-v1"  # the benchmark version (synth-small-v1)
SPLIT = "small"  # its one split
LABEL = f"synth-{VERSION}"  # the rows' ``split`` column for the whole split
RESULTS_DIR = "results/small_split"  # where the committed rows live
STUDY = "small_objects"  # the study whose variants (STCN, GSFM) and files the rows use
SEED = 0  # the training seed of the shipped weights
INTERVAL_OVER_SEEDS = "seeds and videos"
INTERVAL_OVER_VIDEOS = "videos only, one seed"
_SAME = 1e-9  # J&F points: two scores closer than this are the same


def split_label(
    limit: int | None = None, height: int | None = None, width: int | None = None
) -> str:
    """The ``split`` column for the split at these settings: ``synth-small-v1`` for the whole
    split at its own size, else e.g. ``synth-small-v1-64x112-first2``."""
    from gsfm.data.synthetic import get_version, split_names

    v = get_version(VERSION)
    h, w = height or v.height, width or v.width
    n = len(split_names(SPLIT, VERSION))
    label = LABEL
    if (h, w) != (v.height, v.width) or (limit is not None and limit < n):
        label += f"-{h}x{w}" + (f"-first{limit}" if limit is not None and limit < n else "")
    return label


def model_independent(objects: pd.DataFrame, metric: str = "JF") -> pd.Series:
    """Per row of a per-object table: whether every variant scores that object (split,
    sequence, object) the same in every seed, all variants present. Such an object (found by
    none, or perfectly by all) cannot tell the models apart."""
    keys = ["split", "sequence", "object"]
    n_variants = objects.groupby(keys)["variant"].transform("nunique")
    spread = objects.groupby([*keys, "seed"])[metric].transform(lambda s: s.max() - s.min())
    runs = objects.groupby([*keys, "seed"])["variant"].transform("nunique")
    same = (spread <= _SAME) & (runs == n_variants)
    all_seeds = same.groupby([objects[k] for k in keys]).transform("all")
    return (all_seeds & (n_variants >= 2)).rename("model_independent")


def _over_videos(per_video: np.ndarray, confidence: float) -> dict[str, float]:
    """The calibrated estimator's video term alone, for one seed: the mean of the per-video
    differences with a Student-t interval on ``V − 1`` degrees of freedom (its variance
    ``MS_video / V`` is the estimator's with no seed to resample), its p and MDE."""
    from scipy import stats

    from gsfm.analysis import calibrated

    d = np.asarray(per_video, dtype=float)
    v, mean = d.size, float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(v))
    df = float(v - 1)
    if se == 0.0:
        return {"estimate": mean, "est_low": mean, "est_high": mean, "est_df": df,
                "p": 0.0 if mean else 1.0, "mde": 0.0}  # fmt: skip
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return {
        "estimate": mean,
        "est_low": mean - t * se,
        "est_high": mean + t * se,
        "est_df": df,
        "p": float(2 * stats.t.sf(abs(mean) / se, df)),
        "mde": calibrated.minimum_detectable_effect(se, df),
    }


def _as_bool(flags: pd.Series) -> pd.Series:
    """A ``model_independent`` column as booleans, whether typed or read as text."""
    text = flags.astype(str).str.strip().str.lower()
    bad = ~text.isin(["true", "false"])
    if bad.any():
        raise ValueError(f"model_independent must be True or False, got {flags[bad].iloc[0]!r}")
    return text == "true"


def split_differences(
    objects: pd.DataFrame, reference: str = "STCN", confidence: float = 0.95
) -> pd.DataFrame:
    """Per split and size bucket, each variant against ``reference``
    (:func:`gsfm.ablation.stats.bucket_differences`: paired over objects, the
    calibrated estimate over seeds and videos, Holm within each bucket, the verdict), where the
    rows have one seed the estimate over videos alone (:func:`_over_videos`: objects averaged
    per video first, as the calibrated estimator does). Adds ``interval_over`` (which of the
    two), ``n_independent`` (the bucket's model-independent objects) and
    ``n_informative_videos`` (videos with an object the models score differently)."""
    import gsfm.ablation.stats as stats
    from gsfm.analysis import calibrated

    diffs = stats.bucket_differences(objects, reference, confidence=confidence)
    if diffs.empty:
        return diffs
    flags = (
        objects
        if "model_independent" in objects
        else objects.assign(model_independent=model_independent(objects))
    )
    diffs["interval_over"] = INTERVAL_OVER_SEEDS
    diffs["n_independent"] = 0
    diffs["n_informative_videos"] = 0
    for i, r in diffs.iterrows():
        o = flags[(flags["split"] == r["split"]) & (flags["area"] < r["threshold"])]
        unique = o.drop_duplicates(["sequence", "object"])
        same = _as_bool(unique["model_independent"])
        diffs.loc[i, "n_independent"] = int(same.sum())
        diffs.loc[i, "n_informative_videos"] = int(
            unique.loc[~same.to_numpy(), "sequence"].nunique()
        )
        if int(r["n_seeds"]) != 1:
            continue
        a = o[o["variant"] == r["variant"]].set_index(["sequence", "object"])["JF"]
        b = o[o["variant"] == r["baseline"]].set_index(["sequence", "object"])["JF"]
        d = (a - b).dropna().groupby(level="sequence").mean()
        if len(d) < stats.MIN_UNITS:
            continue
        for key, value in _over_videos(d.to_numpy(), confidence).items():
            diffs.loc[i, key] = value
        diffs.loc[i, "interval_over"] = INTERVAL_OVER_VIDEOS
    for _, idx in diffs.groupby(["study", "split", "bucket"], sort=False).groups.items():
        diffs.loc[idx, "p_holm"] = calibrated.holm(diffs.loc[idx, "p"].to_numpy(dtype=float))
    diffs["verdict"] = [
        "" if pd.isna(sign) else calibrated.verdict(lo, hi, int(sign)).value
        for lo, hi, sign in zip(diffs["est_low"], diffs["est_high"], diffs["paper_sign"], strict=True)
    ]  # fmt: skip
    return diffs


_VERDICT_WORDS = {
    "confirmed": "the paper's direction, the interval excludes 0",
    "contradicted": "the opposite of the paper's direction, the interval excludes 0",
    "bounded": "any difference is smaller than {bound:g} J&F",
    "unresolved": "the interval includes 0 and reaches beyond ±{bound:g} J&F",
}


def split_text(scores: pd.DataFrame, diffs: pd.DataFrame, counts: pd.DataFrame) -> str:
    """The split's Table 6 in sentences, from numbers: per bucket its objects and videos, the
    model-independent objects, each model's mean, and the difference with its interval, what
    it is taken over, its MDE and its verdict (:class:`gsfm.analysis.calibrated.Verdict`)."""
    from gsfm.analysis.calibrated import BOUND
    from gsfm.analysis.wording import interval, signed

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
                    why = _VERDICT_WORDS[str(r["verdict"])].format(bound=BOUND)
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


# --- the docs' small-object numbers, rendered from the rows ---------------------------------

DOC_BEGIN = "<!-- small-objects: generated by gsfm.ablation.small_split.update_docs; do not edit by hand -->"  # fmt: skip
DOC_END = "<!-- /small-objects -->"


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
    0.5 %`` for one split's rows of :func:`split_differences` (bucket order kept)."""
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


def docs_markdown(scores: pd.DataFrame, diffs: pd.DataFrame) -> str:
    """docs/results.md's small-object section body: one table row per split and bucket
    (objects, videos, model-independent objects, each model's mean, the estimate with its
    interval, what the interval is over, the MDE, Holm p and the verdict) and a sentence per
    split, all from the rows."""
    from gsfm.analysis.wording import interval, signed

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


def readme_line(diffs: pd.DataFrame, new_split: str = LABEL) -> str:
    """README's Table 6 bullet: the verdicts per split, synth-small-v1 first with its estimate
    under 0.5 %, from :func:`split_differences`."""
    from gsfm.analysis.wording import interval, signed

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


README_BULLET = "- **Small objects (Table 6)**"


def _replace_block(text: str, block: str, what: str) -> str:
    """``text`` with what stands between :data:`DOC_BEGIN` and :data:`DOC_END` replaced."""
    if DOC_BEGIN not in text or DOC_END not in text:
        raise ValueError(f"{what} lacks the markers {DOC_BEGIN!r} ... {DOC_END!r}")
    head, rest = text.split(DOC_BEGIN, 1)
    tail = rest.split(DOC_END, 1)[1]
    return f"{head}{DOC_BEGIN}\n{block}\n{DOC_END}{tail}"


def readme_bullet(text: str) -> str:
    """The Table 6 bullet of README text: its first line and the indented lines after it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(README_BULLET)), None)
    if start is None:
        raise ValueError(f"the README has no bullet starting {README_BULLET!r}")
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return "\n".join(lines[start:end])


def update_docs(
    scores: pd.DataFrame,
    diffs: pd.DataFrame,
    results_md: str | os.PathLike[str] = "docs/results.md",
    readme: str | os.PathLike[str] = "README.md",
) -> None:
    """Write the small-object numbers (``scores``, ``diffs``: the ``summary`` and
    ``differences`` of :func:`gsfm.ablation.report.small_objects_report`) between the markers
    of ``results_md`` and into the README's Table 6 bullet."""
    from gsfm.files import atomic_write

    path = resolve_path(results_md)
    text = path.read_text(encoding="utf-8")
    new = _replace_block(text, docs_markdown(scores, diffs), str(path))
    atomic_write(path, lambda p: Path(p).write_text(new, encoding="utf-8"))
    path = resolve_path(readme)
    text = path.read_text(encoding="utf-8")
    new_readme = text.replace(readme_bullet(text), readme_line(diffs), 1)
    atomic_write(path, lambda p: Path(p).write_text(new_readme, encoding="utf-8"))
