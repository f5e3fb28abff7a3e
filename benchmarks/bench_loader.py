"""Loader rate vs step rate on this machine (``gsfm.training.throughput``), printed as JSON.

* Loader: samples per second of the trainer's own loader (``BatchStream``) over the in-memory
  synthetic stream (``synth``: every sample rendered from scratch) and over the pre-rendered
  train split (``synth-train``: decoded into memory once; ``synth-train (disk)``: the same
  split read from its JPEG / PNG files per sample), at a profile's crop size and batch size
  (default ``gpu``: 160², batch 8) with each number of workers in ``--workers``.
* One-time costs of ``synth-train``: making sure the split is on disk (writing it when
  missing, under ``--data-dir`` or ``$GSFM_DATA_DIR`` or ``data/synth``; point ``--data-dir``
  at an empty folder to time the write) and decoding it into memory.
* Step: samples per second of the training step alone of ``--step-profiles`` on the CPU.

Run with ``OMP_NUM_THREADS=1``; workers and the main process share the machine's cores, so
rates with more workers than free cores say little.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch


def _datasets(args: argparse.Namespace, cfg: Any, one_time: dict[str, Any]) -> dict[str, Any]:
    """The data sets to time, by name; ``one_time`` receives the split's one-time costs."""
    from gsfm.data.synthetic import (
        SyntheticTrainSet,
        ensure_split,
        split_folder,
        split_problems,
        split_settings,
    )
    from gsfm.data.triplets import VOSTripletDataset

    out: dict[str, Any] = {}
    if "synth" in args.data:
        out["synth"] = SyntheticTrainSet(
            crop_size=cfg.crop_size, length=10**5, seed=cfg.seed, max_skip=cfg.max_skip_initial
        )
    if "synth-train" in args.data:
        folder = split_folder(args.data_dir, "train", limit=args.limit)
        complete = not split_problems(folder, split_settings("train", limit=args.limit))
        start = time.perf_counter()
        root = ensure_split(args.data_dir, "train", limit=args.limit, progress=False)
        one_time["split"] = str(root)
        one_time["split_was_complete"] = complete
        one_time["ensure_split_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        kw = dict(
            split_file=root / "ImageSets" / "synth-v1" / "train.txt",
            crop_size=cfg.crop_size,
            max_skip=cfg.max_skip_initial,
            max_objects=cfg.max_objects,
            seed=cfg.seed,
        )
        out["synth-train"] = VOSTripletDataset(root, preload=True, **kw)
        one_time["preload_s"] = round(time.perf_counter() - start, 2)
        if not args.no_disk:
            out["synth-train (disk)"] = VOSTripletDataset(root, **kw)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="gpu", help="crop and batch size of the loader runs")
    parser.add_argument("--workers", default="0,1,2", help="worker counts, comma-separated")
    parser.add_argument("--batches", type=int, default=12, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    parser.add_argument(
        "--data", default="synth,synth-train", help="which data: synth and/or synth-train"
    )
    parser.add_argument("--no-disk", action="store_true", help="skip synth-train read from disk")
    parser.add_argument("--data-dir", help="folder of the train split (default: the project's)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N train videos")
    parser.add_argument("--step-profiles", default="cpu", help="profiles whose step is timed")
    parser.add_argument("--steps", type=int, default=4, help="timed training steps")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    args.data = [d.strip() for d in args.data.split(",") if d.strip()]

    from gsfm.config import train_config
    from gsfm.training.throughput import loader_rate, step_rate

    torch.set_num_threads(args.threads)
    cfg = train_config(args.profile)
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "profile": args.profile,
        "one_time": {},
        "loader": [],
        "step": [],
    }
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    for name, data in _datasets(args, cfg, report["one_time"]).items():
        for n in workers:
            row = loader_rate(data, cfg, workers=n, batches=args.batches, warmup=args.warmup)
            report["loader"].append({"data": name, **row})
            print(json.dumps(report["loader"][-1]), file=sys.stderr, flush=True)
    for profile in [p.strip() for p in args.step_profiles.split(",") if p.strip()]:
        for model in ("gsfm", "stcn"):
            row = step_rate(model, profile, device="cpu", steps=args.steps, warmup=1)
            report["step"].append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
