"""The speed of a study's variants, timed together: one process, one device, interleaved rounds.

Each row of ``results/ablations/<study>.csv`` has an ``eval_fps``: the propagation speed of the
process that scored it, at whatever load the machine had then. On a shared 2-core CPU that
load varies: GSFM's configuration (σ = 7, seeds 0 and 2: the same network, other weights)
recorded 1.5 FPS in one row and 4.5 in another. Those numbers cannot rank variants. Table 5 compares speeds, so here every variant of a study
propagates the same synthetic validation video in turn, round after round, in one process.
The order is rotated each round, so no variant always runs first or last. Each variant keeps
its median FPS over the rounds, and its speed relative to the reference is the median of the
per-round ratios: a slow spell of the machine hits both sides of a ratio in the same round.

Weights are random (seeded). A dense network's compute does not depend on the values of its
weights: the top-k keeps k entries, the memory grows every ``mem_every`` frames, and the
objects come from the first mask. So speed is measured before, and without, training.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from gsfm.ablation.store import provenance_device, upsert_rows
from gsfm.ablation.studies import STUDIES, EvalSplit, Study, split_arguments
from gsfm.data.synthetic.video import generate_video
from gsfm.data.transforms import normalize, to_chw_uint8
from gsfm.files import read_csv_table
from gsfm.inference import InferenceEngine, InferenceSettings
from gsfm.model import build_model
from gsfm.runtime import resolve_device, resolve_path
from gsfm.training.run_folder import provenance

__all__ = [
    "SPEED_COLUMNS",
    "SPEED_STUDIES",
    "read_speed",
    "speed_path",
    "variant_speed",
    "write_speed",
]

#: the studies whose variants differ in speed (Table 5 reports it; Table 4's reads differ)
SPEED_STUDIES: tuple[str, ...] = ("components", "generalization")

#: the columns of ``<study>_speed.csv``
SPEED_COLUMNS: tuple[str, ...] = (
    "study", "variant", "reference", "model", "overrides", "inference", "top_k", "mem_every",
    "profile", "device", "torch", "cpu_capability", "git_commit", "videos", "frames", "height",
    "width", "objects", "rounds", "fps", "fps_min", "fps_max", "ratio", "ratio_min",
    "ratio_max",
)  # fmt: skip


def speed_path(results_dir: str | os.PathLike[str], study: str) -> Path:
    """Where :func:`write_speed` puts ``study``'s speed table."""
    return resolve_path(results_dir) / f"{study}_speed.csv"


def _videos(profile: str, indices: Sequence[int]) -> tuple[list[tuple[Any, Any]], dict[str, Any]]:
    """Videos ``indices`` of the synthetic validation split at the size the rows are scored
    at: [(normalised frames, first-frame id map)] and their description."""
    size = split_arguments(profile, EvalSplit())
    clips, names, objects = [], [], 0
    for index in indices:
        video = generate_video("val", index, height=size["height"], width=size["width"])
        first = torch.from_numpy(video.masks[0].astype("int64"))
        clips.append((normalize(to_chw_uint8(video.images)), first))
        names.append(video.spec.name)
        objects += int((first.unique() > 0).sum())
    about = {
        "videos": " ".join(names),
        "frames": sum(int(f.shape[0]) for f, _ in clips),
        "height": size["height"],
        "width": size["width"],
        "objects": objects,
    }
    return clips, about


def variant_speed(
    study: str | Study,
    profile: str = "cpu",
    *,
    device: str = "cpu",
    rounds: int = 3,
    videos: Sequence[int] = (0, 1, 2),
    seed: int = 0,
    variants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Time every variant of ``study`` (or the labels in ``variants``) under ``profile`` on
    ``device``: in each of ``rounds`` rounds, every variant propagates the validation videos
    ``videos`` in turn (FPS = their frames over their propagation time, as a row's
    ``eval_fps``), after one untimed warm-up each. One row per variant
    (:data:`SPEED_COLUMNS`): the median, min and max FPS over the rounds, and the per-round
    ratio to the study's reference (when it is timed too) as median, min and max."""
    spec = STUDIES[study] if isinstance(study, str) else study
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    chosen = list(spec.variants)
    if variants is not None:
        unknown = sorted(set(variants) - {v.label for v in chosen})
        if unknown:
            raise ValueError(f"study {spec.name!r} has no variant(s) {unknown}")
        chosen = [v for v in chosen if v.label in set(variants)]
    if not videos:
        raise ValueError("videos: give at least one validation video index")
    dev = resolve_device(device)
    clips, about = _videos(profile, videos)
    clips = [(f.to(dev), first) for f, first in clips]
    engines = {}
    for v in chosen:
        torch.manual_seed(seed)
        net = build_model(v.model, profile, **dict(v.overrides)).to(dev)
        engine = InferenceEngine(net, InferenceSettings(**v.inference))
        with torch.inference_mode():
            engine.propagate(clips[0][0][:2], clips[0][1])  # first-call allocations, untimed
        engines[v.label] = engine
    fps: dict[str, list[float]] = {v.label: [] for v in chosen}
    labels = list(engines)
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            with torch.inference_mode():
                seconds = sum(engines[label].propagate(f, a).seconds for f, a in clips)
            fps[label].append(about["frames"] / seconds)
    ref = spec.reference.label
    prov = provenance(dev, seed, 1)  # the rows' own provenance, so the labels match
    out = []
    for v in chosen:
        ratios = [a / b for a, b in zip(fps[v.label], fps[ref], strict=True)] if ref in fps else []
        engine = engines[v.label]
        out.append(
            {
                "study": spec.name,
                "variant": v.label,
                "reference": v.reference,
                "model": v.model,
                "overrides": json.dumps(dict(v.overrides), sort_keys=True),
                "inference": json.dumps(dict(v.inference), sort_keys=True),
                "top_k": engine.top_k,
                "mem_every": engine.mem_every,
                "profile": profile,
                "device": provenance_device(prov),
                "torch": prov["torch"],
                "cpu_capability": prov["cpu_capability"],
                "git_commit": prov["git_commit"],
                **about,
                "rounds": rounds,
                "fps": round(statistics.median(fps[v.label]), 3),
                "fps_min": round(min(fps[v.label]), 3),
                "fps_max": round(max(fps[v.label]), 3),
                "ratio": round(statistics.median(ratios), 3) if ratios else float("nan"),
                "ratio_min": round(min(ratios), 3) if ratios else float("nan"),
                "ratio_max": round(max(ratios), 3) if ratios else float("nan"),
            }
        )
    # nullable integers: STM's read has no top-k, and a float column would write 20 as 20.0
    return pd.DataFrame(out, columns=list(SPEED_COLUMNS)).astype(
        {"top_k": "Int64", "mem_every": "Int64"}
    )


def write_speed(table: pd.DataFrame, results_dir: str | os.PathLike[str]) -> Path:
    """Write ``table`` (:func:`variant_speed`) as ``<study>_speed.csv`` in ``results_dir``,
    atomically, replacing the rows of the same profile and device (a new timing supersedes
    the old one; other devices' rows stay)."""
    if table.empty:
        raise ValueError("no speed rows to write")
    study = str(table["study"].iloc[0])
    path = speed_path(results_dir, study)
    read_speed(results_dir, study)  # a damaged table is one clear error, and stays as it is
    upsert_rows(path, table, ("profile", "device"))
    return path


def read_speed(results_dir: str | os.PathLike[str], study: str) -> pd.DataFrame | None:
    """``<study>_speed.csv`` of ``results_dir``, or None when there is none; a file without
    the expected columns is one clear error naming it."""
    path = speed_path(results_dir, study)
    if not path.is_file():
        return None
    return read_csv_table(path, SPEED_COLUMNS, what="speed table")
