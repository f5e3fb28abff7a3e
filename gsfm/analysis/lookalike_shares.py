"""The paper's Fig. 1 as a measurement: how much of the top-k readout weight lands on the
target, on its lookalikes and elsewhere, over every target pixel of every video with
lookalikes, for any number of trained models and seeds.

The paper's Fig. 1 shows one query pixel whose STCN matches spread onto a lookalike while
GSFM's stay on the target. Here the same question is asked of every pixel:

* **videos**: every video of a synthetic split whose annotated object has at least one
  lookalike (the ``lookalikes`` column of the split's ``objects_<split>.csv``; lookalikes are
  unannotated objects with the target's texture and a perturbed copy of its shape, rendered
  again with labels by :func:`gsfm.analysis.matching.lookalike_masks`);
* **memory**: the object's first annotated frame (the one memory frame every model always
  holds); **query pixels**: every pixel of the object in every later frame
  (:func:`gsfm.analysis.matching.query_pixel_shares`; a pixel reads with its 16x16 key cell);
* **models**: every run folder given (its model and seed read from ``config.json``), and for
  a GSFM run also the same network with its LFM bypassed at test time
  (:func:`gsfm.analysis.surgery.operated`), which asks whether the LFM's residual itself moves
  the weight.

:func:`measure` returns one row per (model, seed, video, object) with provenance;
:func:`summarise` and :func:`compare` give the shares and the paired differences with
intervals over videos and, with two or more seeds, over seeds too
(:mod:`gsfm.analysis.seed_video`); :func:`verdict_text` writes the sentences from those
numbers. :func:`lookalike_report` is the notebook's one call (committed rows, measured only
for runs that have none).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from gsfm.analysis import seed_video
from gsfm.analysis.calibrated import Estimate, Verdict, verdict
from gsfm.analysis.matching import frame_keys, lookalike_masks, query_pixel_shares
from gsfm.analysis.run_info import code_version, read_run
from gsfm.analysis.surgery import Surgery, operated
from gsfm.analysis.wording import interval, signed
from gsfm.checkpoint import load_model
from gsfm.data.davis import DAVISEvalDataset
from gsfm.data.layout import data_fingerprint, row_data_hash
from gsfm.data.synthetic import generate_video, read_split_record
from gsfm.files import atomic_write
from gsfm.runtime import resolve_path
from gsfm.spectral import band_filter
from gsfm.viz.matching import plot_lookalike_shares

__all__ = [
    "LFM_BYPASSED",
    "LookalikeReport",
    "SHARES",
    "compare",
    "lfm_training_gain",
    "lookalike_objects",
    "lookalike_report",
    "measure",
    "summarise",
    "verdict_text",
]

SHARES = ("target", "lookalikes", "rest")  # where the weight goes: columns share_<name>
LFM_BYPASSED = "GSFM, LFM bypassed"
BOUND = 2.0  # percentage points: an interval inside ±BOUND is "smaller than BOUND points"
_KEY = ["model", "seed", "video", "object"]


def lookalike_objects(val_root: str | os.PathLike[str], split: str = "val") -> pd.DataFrame:
    """The annotated objects of a synthetic split folder that have at least one lookalike:
    ``video, object_id, case, first_frame, lookalikes`` (from ``objects_<split>.csv``)."""
    path = Path(val_root) / f"objects_{split}.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: lookalikes are marked only in synthetic splits written by "
            "`python -m gsfm synth`"
        )
    table = pd.read_csv(path)
    need = {"video", "object_id", "case", "first_frame", "lookalikes"}
    if not need <= set(table.columns):
        raise ValueError(f"{path}: missing columns {sorted(need - set(table.columns))}")
    out = table[table["lookalikes"] > 0][sorted(need, key=list(table.columns).index)]
    return out.reset_index(drop=True)


def lfm_training_gain(config: dict[str, Any]) -> tuple[int, float]:
    """(side of the training key map, largest gain of the LFM's filter ``1 − g`` on it) for a
    run's ``config.json`` content: the crop is square, keys are at 1/16."""
    model = config["model"]
    side = int(config["train"]["crop_size"]) // 16
    filt = band_filter(side, side, float(model["sigma"]), "low", model.get("sigma_mode", "bins"))
    return side, float(filt.max())


def _lookalike_video(val_root: Path, split: str, name: str, masks: np.ndarray) -> Any:
    """The synthetic video behind folder video ``name``, checked against its annotations."""
    record = read_split_record(val_root, split) or {}
    version = str(record.get("benchmark", "synth-v1")).removeprefix("synth-")
    video = generate_video(
        split, int(name.split("_")[1]), version, int(record.get("seed", 0)),
        height=masks.shape[1], width=masks.shape[2],
    )  # fmt: skip
    if video.spec.name != name or not np.array_equal(video.masks, masks):
        raise ValueError(
            f"{val_root / name}: its annotations are not those of {version} {split} video "
            f"{name}, so its lookalikes cannot be rendered"
        )
    return video, version


def measure(
    runs: Sequence[str | os.PathLike[str]],
    val_root: str | os.PathLike[str],
    *,
    split: str = "val",
    top_k: int = 20,
    bypass_lfm: bool = True,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """One row per (model, seed, video, object with lookalikes): the shares of the top-k weight
    on the target, its lookalikes and the rest (``share_*``, fractions summing to 1) over every
    target pixel of the frames after the object's first annotated frame (the memory frame).

    Provenance columns: ``profile``, ``run``, ``weights_sha256``, ``data_hash`` (SHA-256 of the
    frames and annotations of the measured videos, 16 hex digits), ``code`` (git commit).
    ``memory_target_area`` / ``memory_lookalike_area``: the share of the memory frame each
    covers (what a reader that spread its weight evenly would put there). For a GSFM run,
    ``train_map`` and ``lfm_max_gain`` give the training key map's side and the largest gain of
    the LFM's ``1 − g`` on it; with ``bypass_lfm`` the run is also measured with its LFM
    bypassed (model ``"GSFM, LFM bypassed"``).
    """
    if not runs:
        raise ValueError("no runs to measure")
    root = resolve_path(val_root)
    objects = lookalike_objects(root, split)
    if objects.empty:
        raise ValueError(f"no object with lookalikes in {root}")
    names = list(dict.fromkeys(objects["video"]))
    data = DAVISEvalDataset(root, split=split, videos=names)
    data_hash = row_data_hash(data_fingerprint(root, names))
    code = code_version()
    clips = []  # (name, frames, masks, lookalikes per object, version): rendered once
    for i, name in enumerate(names):
        clip = data.video(i)
        masks, _ = clip.masks()
        synth, version = _lookalike_video(root, split, name, masks)
        objs = objects[objects["video"] == name]
        looks = {int(o): lookalike_masks(synth, int(o), version=version) for o in objs["object_id"]}
        clips.append((name, clip.rgb(), masks, looks, objs))
    rows = []
    for run_dir in runs:
        run = read_run(run_dir)
        model = load_model(run.path / "checkpoints" / "final.pt", map_location=device).eval()
        gsfm_like = getattr(model, "lfm", None) is not None
        side, gain = lfm_training_gain(run.config) if gsfm_like else (math.nan, math.nan)
        variants = [(run.label, Surgery())]
        if bypass_lfm and gsfm_like:
            variants.append((LFM_BYPASSED, Surgery(lfm=False)))
        for label, surgery in variants:
            if progress:
                progress(f"{label}, seed {run.seed}: {len(clips)} videos")
            for name, frames, masks, looks, objs in clips:
                with operated(model, surgery), torch.no_grad():
                    keys = frame_keys(model, frames.to(device))
                for o in objs.itertuples(index=False):
                    target = masks == int(o.object_id)
                    first = int(o.first_frame)
                    share = query_pixel_shares(
                        model, frames, target, looks[int(o.object_id)],
                        range(first + 1, len(frames)), (first,), top_k=top_k, keys=keys,
                    )  # fmt: skip
                    rows.append(
                        {
                            "model": label, "seed": run.seed, "video": name, "case": o.case,
                            "object": int(o.object_id), "lookalikes": int(o.lookalikes),
                            "share_target": share["target"],
                            "share_lookalikes": share["distractors"],
                            "share_rest": share["rest"],
                            "query_pixels": share["query_pixels"],
                            "query_frames": share["query_frames"], "memory_frame": first,
                            "memory_target_area": float(target[first].mean()),
                            "memory_lookalike_area": float(looks[int(o.object_id)][first].mean()),
                            "top_k": top_k, "train_map": side, "lfm_max_gain": gain,
                            "profile": run.profile, "run": run.path.name,
                            "weights_sha256": run.weights, "data_hash": data_hash, "code": code,
                        }
                    )  # fmt: skip
    return pd.DataFrame(rows)


def _table(rows: pd.DataFrame, model: str, column: str) -> pd.DataFrame:
    """(seeds, videos) table of ``column`` for ``model`` (a video's objects averaged)."""
    sub = rows[rows["model"] == model]
    return sub.groupby(["seed", "video"])[column].mean().unstack("video")


def _models(rows: pd.DataFrame) -> list[str]:
    """The models of ``rows``: STCN, GSFM, the bypassed GSFM first, then any other."""
    first = ["STCN", "GSFM", LFM_BYPASSED]
    present = list(dict.fromkeys(rows["model"]))
    return [m for m in first if m in present] + [m for m in present if m not in first]


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and share: the mean share in per cent with its 95 % interval, ``seeds``,
    ``videos`` and ``over`` (what the interval is over). A video counts once."""
    out = []
    for model in _models(rows):
        for share in (*SHARES, "lookalike_area"):
            column = "memory_lookalike_area" if share == "lookalike_area" else f"share_{share}"
            table = _table(rows, model, column)
            est = seed_video.estimate_over(100 * table.to_numpy())
            out.append(
                {
                    "model": model, "share": share, "estimate": est.estimate, "low": est.low,
                    "high": est.high, "seeds": est.n_seeds, "videos": est.n_videos,
                    "over": seed_video.describe(est.n_seeds, est.n_videos),
                }
            )  # fmt: skip
    return pd.DataFrame(out)


def compare(rows: pd.DataFrame, a: str = "GSFM", b: str = "STCN") -> pd.DataFrame:
    """Paired differences ``a − b`` of each share in percentage points (paired by seed and
    video), with the 95 % interval and p. For ``GSFM − STCN`` on the lookalikes, ``verdict``
    says what it means for the paper's Fig. 1 (GSFM below STCN): confirmed, contradicted,
    bounded (inside ±2 points) or unresolved; empty for the other rows."""
    out = []
    for share in SHARES:
        ta, tb = _table(rows, a, f"share_{share}"), _table(rows, b, f"share_{share}")
        seeds = ta.index.intersection(tb.index)
        videos = ta.columns.intersection(tb.columns)
        if seeds.empty or videos.empty:
            raise ValueError(f"no (seed, video) measured for both {a} and {b}")
        d = 100 * (ta.loc[seeds, videos] - tb.loc[seeds, videos]).to_numpy()
        est = seed_video.estimate_over(d)
        claim = a == "GSFM" and b == "STCN" and share == "lookalikes"
        out.append(
            {
                "comparison": f"{a} − {b}", "share": share, "estimate": est.estimate,
                "low": est.low, "high": est.high, "p": est.p, "seeds": est.n_seeds,
                "videos": est.n_videos, "over": seed_video.describe(est.n_seeds, est.n_videos),
                "verdict": str(verdict(est.low, est.high, -1, BOUND)) if claim else "",
            }
        )  # fmt: skip
    return pd.DataFrame(out)


def _est(diffs: pd.DataFrame, share: str) -> Any:
    r = diffs[diffs["share"] == share].iloc[0]
    nan = math.nan
    return Estimate(r.estimate, r.low, r.high, nan, nan, r.p, r.seeds, r.videos, None)  # type: ignore[arg-type]


def _pct(summary: pd.DataFrame, model: str, share: str) -> str:
    r = summary[(summary["model"] == model) & (summary["share"] == share)].iloc[0]
    if not math.isfinite(r.low):
        return f"{r.estimate:.1f} %"
    return f"{r.estimate:.1f} % [{r.low:.1f}, {r.high:.1f}]"


def _points(est: Any) -> str:
    if not math.isfinite(est.low):
        return f"{signed(est.estimate)} points"
    return f"{signed(est.estimate)} points {interval(est.low, est.high)}"


def verdict_text(rows: pd.DataFrame) -> str:
    """The sentences of Fig. 1's measurement, from the rows alone: the shares, whether the
    paper's story (GSFM puts less weight on lookalikes than STCN) holds, and what the LFM
    bypass and the training map size suggest."""
    summary = summarise(rows)
    diffs = compare(rows)
    look = diffs[diffs["share"] == "lookalikes"].iloc[0]
    n_seeds, n_videos = int(look.seeds), int(look.videos)
    per_seed = rows[rows["model"] == "GSFM"].groupby("seed")["query_pixels"].sum()
    low, high = int(per_seed.min()), int(per_seed.max())
    pixels = f"{low:,}" if low == high else f"{low:,}–{high:,}"
    k = int(rows["top_k"].iloc[0])
    lines = [
        f"Over every target pixel of the frames after the memory frame, {n_videos} videos with "
        f"lookalikes, {n_seeds} seed{'s' if n_seeds != 1 else ''} ({pixels} query pixels per "
        f"model and seed; top-{k} for both models; intervals {look.over}):",
        f"- on the lookalikes: STCN {_pct(summary, 'STCN', 'lookalikes')}, GSFM "
        f"{_pct(summary, 'GSFM', 'lookalikes')}; they cover "
        f"{_pct(summary, 'STCN', 'lookalike_area')} of the memory frame;",
        f"- on the target: STCN {_pct(summary, 'STCN', 'target')}, GSFM "
        f"{_pct(summary, 'GSFM', 'target')}.",
    ]
    v = Verdict(look.verdict)
    diff = _points(_est(diffs, "lookalikes"))
    story = "The paper's Fig. 1 story (GSFM puts less weight on lookalikes than STCN)"
    if v is Verdict.CONFIRMED:
        lines.append(f"{story} holds here: GSFM − STCN = {diff}.")
    elif v is Verdict.CONTRADICTED:
        lines.append(
            f"{story} does not hold here: GSFM puts more weight on the lookalikes than STCN, "
            f"GSFM − STCN = {diff}."
        )
    elif v is Verdict.BOUNDED:
        lines.append(
            f"{story} is not seen here: the two models differ by less than {BOUND:.0f} points "
            f"on the lookalikes, GSFM − STCN = {diff}."
        )
    else:
        lines.append(
            f"{story} is not resolved here: GSFM − STCN = {diff}, an interval that includes 0."
        )
    if n_seeds == 1:
        lines.append(
            "One seed: the interval covers the videos, not the training seed, so this describes "
            "these two trained networks, not GSFM and STCN in general."
        )
    if LFM_BYPASSED in set(rows["model"]):
        est = _est(compare(rows, LFM_BYPASSED, "GSFM"), "lookalikes")  # bypassed − GSFM
        lfm = seed_video.direction(est, "lowers", "raises")  # what the LFM does to the share
        if lfm:
            lines.append(
                f"Bypassing GSFM's LFM at test time changes its lookalike share by "
                f"{_points(est)}: the LFM's residual {lfm} the weight GSFM puts on lookalikes."
            )
        else:
            lines.append(
                f"Bypassing GSFM's LFM at test time does not change its lookalike share beyond "
                f"noise ({_points(est)}): at test time the LFM's residual neither adds nor "
                "removes weight on lookalikes"
                + (
                    ", so what separates GSFM from STCN is in the keys their encoders learned."
                    if v in (Verdict.CONFIRMED, Verdict.CONTRADICTED)
                    else "."
                )
            )
    gains = rows.loc[rows["model"] == "GSFM", ["train_map", "lfm_max_gain"]].dropna()
    if not gains.empty:
        side, gain = int(gains["train_map"].iloc[0]), float(gains["lfm_max_gain"].iloc[0])
        passes = (
            f"its filter 1 − g passes at most {100 * gain:.0f} % of any frequency (DC included)"
        )
        if gain < 0.5:
            lines.append(
                f"In training the LFM saw {side}×{side} key maps, where {passes}: it damps the "
                "whole spectrum instead of selecting the low band the paper describes, so these "
                "models test GSFM's architecture at this scale, not the paper's low-pass key."
            )
        else:
            lines.append(f"In training the LFM saw {side}×{side} key maps, where {passes}.")
    return "\n".join(lines)


@dataclass(frozen=True)
class LookalikeReport:
    """What notebook 03 shows: the rows, the summary, the differences, sentences, figure."""

    rows: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    text: str
    figure: Any
    measured: list[str]  # the runs measured now (empty: all rows came from the CSV)


def lookalike_report(
    runs: Sequence[str | os.PathLike[str]],
    val_root: str | os.PathLike[str],
    csv_path: str | os.PathLike[str] = "results/ablations/lookalike_shares.csv",
    *,
    recompute: bool = False,
    top_k: int = 20,
    device: str = "cpu",
    figure_path: str | os.PathLike[str] | None = "figures/fig1_lookalike_shares.png",
    progress: Callable[[str], None] | None = None,
) -> LookalikeReport:
    """The lookalike shares of ``runs`` and of every other run of their profile already in
    ``csv_path``: runs whose weights have no rows at this ``top_k`` (all runs with
    ``recompute``) are measured now and their rows written (atomically, replacing only their
    own rows); the rest are read. Then the summary, the differences, the sentences and the
    figure (:func:`gsfm.viz.matching.plot_lookalike_shares`)."""
    path = resolve_path(csv_path)
    found = [read_run(r) for r in runs]
    if not found:
        raise ValueError("no runs given")
    profiles = {r.profile for r in found}
    if len(profiles) != 1:
        raise ValueError(f"runs of several profiles ({sorted(profiles)}): give one profile's runs")
    old = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if not old.empty and "weights_sha256" not in old.columns:
        raise ValueError(f"{path}: not a lookalike-shares table (no weights_sha256 column)")
    have = (
        set(old.loc[old["top_k"] == top_k, "weights_sha256"].astype(str))
        if not old.empty
        else set()
    )
    todo = [r for r in found if recompute or r.weights not in have]
    if todo:
        new = measure([r.path for r in todo], val_root, top_k=top_k, device=device,
                      progress=progress)  # fmt: skip
        if not old.empty:
            drop = old["weights_sha256"].isin({r.weights for r in todo}) & (old["top_k"] == top_k)
            old = old[~drop]
        full = pd.concat([old, new], ignore_index=True) if not old.empty else new
        full = full.sort_values(["profile", "top_k", *_KEY], kind="stable")
        atomic_write(path, lambda p: full.to_csv(p, index=False))
    else:
        full = old
    rows = full[(full["profile"] == found[0].profile) & (full["top_k"] == top_k)]
    rows = rows.reset_index(drop=True)
    summary, diffs = summarise(rows), compare(rows)
    if LFM_BYPASSED in set(rows["model"]):
        diffs = pd.concat([diffs, compare(rows, LFM_BYPASSED, "GSFM")], ignore_index=True)
    text = verdict_text(rows)
    fig = plot_lookalike_shares(rows, summary, diffs, figure_path)
    return LookalikeReport(rows, summary, diffs, text, fig, [str(r.path) for r in todo])
