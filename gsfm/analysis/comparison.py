"""Compare trained models with each other, with trivial baselines and with the paper.

* :func:`results_table`: one row per (method, seed) in points (J&F, J, F ×100) and FPS;
* :func:`summarise`: mean, standard deviation and number of seeds per method;
* :func:`conclusion`: the sentence a notebook prints, computed from the measured numbers;
* :func:`pick_videos` and :func:`qualitative_frames`: the videos and frames of the qualitative
  comparison (the paper's Fig. 5).

:data:`PAPER_RESULTS` holds the paper's own numbers (Table 1, DAVIS 2017 val, on their GPUs),
for display beside ours, always labelled as the paper's.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from gsfm.analysis.wording import signed
from gsfm.data.io import list_frames, read_image, read_mask
from gsfm.data.layout import resolve_layout

__all__ = [
    "PAPER_RESULTS",
    "QualitativeVideo",
    "conclusion",
    "pick_videos",
    "qualitative_frames",
    "results_table",
    "summarise",
]

# The paper's Table 1 (DAVIS 2017 val; STCN* is the authors' re-implementation). FPS as reported.
PAPER_RESULTS = pd.DataFrame(
    [
        {"method": "STCN", "J&F": 84.7, "J": 81.5, "F": 87.9, "FPS": 11.7},
        {"method": "GSFM", "J&F": 86.2, "J": 83.1, "F": 89.3, "FPS": 8.9},
    ]
).assign(source="paper, Table 1 (DAVIS 2017 val)")

_SCORES = {"J&F": "J&F-Mean", "J": "J-Mean", "F": "F-Mean"}


def results_table(
    runs: Mapping[str, Sequence[Any]], baselines: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per (method, seed): J&F, J, F in points (×100), FPS, objects, videos.

    runs: {method: [EvalRun-like objects with ``scores`` (one-row DataFrame) and ``run_dir``]};
    the seed is read from the run's ``config.json`` when present. baselines: the rows of
    :func:`gsfm.experiments.trivial_baselines` (method from their ``model`` column; no FPS).
    """
    rows: list[dict[str, Any]] = []
    for method, evals in runs.items():
        for ev in evals:
            s = ev.scores.iloc[0]
            seed: Any = None
            cfg = Path(ev.run_dir) / "config.json"
            if cfg.is_file():
                seed = json.loads(cfg.read_text(encoding="utf-8"))["train"]["seed"]
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    **{k: 100 * float(s[v]) for k, v in _SCORES.items()},
                    "FPS": float(s["fps"]),
                    "objects": int(s["n_objects"]),
                    "videos": int(s["n_sequences"]),
                }
            )
    if baselines is not None:
        for _, s in baselines.iterrows():
            rows.append(
                {
                    "method": str(s["model"]),
                    "seed": None,
                    **{k: 100 * float(s[v]) for k, v in _SCORES.items()},
                    "FPS": math.nan,
                    "objects": int(s["n_objects"]),
                    "videos": int(s["n_sequences"]),
                }
            )
    if not rows:
        raise ValueError("no results to tabulate")
    return pd.DataFrame(rows)


def seed_interval(values: Any, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t ``confidence`` interval of the mean over seeds.

    The half-width is NaN for fewer than two values: one run gives no spread.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to summarise")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if x.size < 2:
        return float(x.mean()), math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    return float(x.mean()), float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)) * sem


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per method (in order of appearance): mean and sample std over seeds, the half-width of
    the 95 % Student-t interval of the mean (:func:`seed_interval`), and ``n_seeds``.

    Columns ``J&F``, ``J&F std``, ``J&F ci95``, ``J``, ``F``, ``FPS`` (means) and ``n_seeds``;
    std and interval are NaN for a single seed (no spread can be claimed from one run).
    """
    out = []
    for method, g in table.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method}
        for c in ("J&F", "J", "F", "FPS"):
            row[c] = float(g[c].mean())
        row["J&F std"] = float(g["J&F"].std(ddof=1)) if len(g) > 1 else math.nan
        row["J&F ci95"] = seed_interval(g["J&F"])[1]
        row["n_seeds"] = int(g["seed"].notna().sum())
        out.append(row)
    columns = ["method", "J&F", "J&F std", "J&F ci95", "J", "F", "FPS", "n_seeds"]
    return pd.DataFrame(out)[columns]


def _jf(summary: pd.DataFrame, method: str) -> float:
    sel = summary.loc[summary["method"] == method, "J&F"]
    if sel.empty:
        raise ValueError(f"method {method!r} is not in the summary ({list(summary['method'])})")
    return float(sel.iloc[0])


def conclusion(
    summary: pd.DataFrame,
    model: str = "GSFM",
    baseline: str = "STCN",
    trivial: str = "copy-first",
    margin: float = 20.0,
) -> str:
    """A plain statement of what was measured: model vs baseline, and both vs ``trivial``.

    ``margin``: the J&F points by which a trained model should beat the trivial baseline (the
    issue's acceptance bar). The difference is called a tie when it is within the spread of
    the seeds (or within 0.5 points for a single seed, where no spread is known).
    """
    a, b, c = _jf(summary, model), _jf(summary, baseline), _jf(summary, trivial)
    stds = summary.set_index("method")["J&F std"]
    spreads = [float(stds.get(m, math.nan)) for m in (model, baseline)]
    spread = max([0.5, *(s for s in spreads if not math.isnan(s))])
    d = a - b
    if abs(d) <= spread:
        first = (
            f"{model} ({a:.1f} J&F) and {baseline} ({b:.1f}) are level: the difference "
            f"({signed(d)}) is within {spread:.1f} points."
        )
    elif d > 0:
        first = f"{model} beats {baseline} by {d:.1f} J&F points ({a:.1f} vs {b:.1f})."
    else:
        first = f"{model} does NOT beat {baseline}: {a:.1f} vs {b:.1f} J&F ({signed(d)} points)."
    parts = []
    for name, v in ((model, a), (baseline, b)):
        ok = v - c >= margin
        parts.append(f"{name} {'clears' if ok else 'misses'} it ({signed(v - c)})")
    n = summary.set_index("method")["n_seeds"]
    seeds = int(min(n.get(model, 0), n.get(baseline, 0)))
    second = (
        f"Against the {trivial} baseline ({c:.1f} J&F), the bar of +{margin:.0f} points: "
        + "; ".join(parts)
        + f". Seeds per model: {seeds}."
    )
    return first + " " + second


def pick_videos(
    per_sequence: Mapping[str, pd.DataFrame],
    model: str = "GSFM",
    baseline: str = "STCN",
    n: int = 1,
) -> list[tuple[str, str]]:
    """Videos for the qualitative comparison, chosen by rule rather than by eye.

    Returns ``[(video, reason)]``: the ``n`` videos where ``model`` gains most over
    ``baseline`` in J&F and the ``n`` where it gains least or loses most (both directions).
    """
    a = per_sequence[model].set_index("sequence")["J&F-Mean"]
    b = per_sequence[baseline].set_index("sequence")["J&F-Mean"]
    d = (a - b.reindex(a.index)).dropna().sort_values()
    if d.empty:
        raise ValueError("the two tables share no video")
    out: list[tuple[str, str]] = []
    for video, diff in list(d.iloc[::-1].items())[:n]:
        out.append((str(video), f"{model} best vs {baseline} ({signed(100 * diff)} J&F)"))
    for video, diff in list(d.items())[:n]:
        if video not in [v for v, _ in out]:
            out.append((str(video), f"{model} weakest vs {baseline} ({signed(100 * diff)} J&F)"))
    return out


@dataclass(frozen=True)
class QualitativeVideo:
    """Frames of one video for the qualitative figure: images (F, H, W, 3) uint8 and, per
    row name ("GT", then one per method), masks (F, H, W) of object ids."""

    name: str
    caption: str
    frames: list[int]
    images: np.ndarray
    masks: dict[str, np.ndarray]


def qualitative_frames(
    val_root: str | os.PathLike[str],
    pred_dirs: Mapping[str, str | os.PathLike[str]],
    videos: Sequence[tuple[str, str]],
    n_frames: int = 4,
    res: str | None = None,
) -> list[QualitativeVideo]:
    """Load ``n_frames`` evenly spaced frames of each video
    with the GT and every method's predicted masks (``pred_dirs``: {method: folder})."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    img_root, ann_root = resolve_layout(val_root, res)
    out = []
    for video, caption in videos:
        names = list_frames(img_root / video, (".jpg", ".jpeg"))
        stems = [Path(f).stem for f in names]
        picks = np.linspace(0, len(names) - 1, n_frames).round().astype(int).tolist()
        images = np.stack([read_image(img_root / video / names[t]) for t in picks])
        masks = {"GT": np.stack([read_mask(ann_root / video / f"{stems[t]}.png") for t in picks])}
        for method, folder in pred_dirs.items():
            masks[method] = np.stack(
                [read_mask(Path(folder) / video / f"{stems[t]}.png") for t in picks]
            )
        out.append(QualitativeVideo(video, caption, picks, images, masks))
    return out
