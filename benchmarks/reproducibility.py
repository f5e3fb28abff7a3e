"""How far one training run moves across seeds, CPU capabilities and thread counts.

Trains one ``cpu``-profile model (or reuses the finished run of the same configuration and the
same capability / thread count), scores it on the synth-v1 validation split with the model's
own inference settings, and appends one row to a CSV:

    model, seed, capability, threads, J&F, J, F, train_s, eval_fps, a digest of the trained
    weights (equal digests: bit-for-bit equal models), machine and provenance

``ATEN_CPU_CAPABILITY`` is read by PyTorch when it starts, so each setting is its own process:

    ATEN_CPU_CAPABILITY=avx2 python benchmarks/reproducibility.py --model gsfm --seed 0 --threads 2

Runs go to ``<runs-dir>/<capability>-t<threads>/<run name>`` so that settings never share a
run folder. ``--run DIR`` scores a finished run again under the current capability and thread
count without training (the row's ``eval_capability`` / ``eval_threads``), which separates
what inference alone moves from what training moves. Rows for the same (model, seed, capability, threads, commit) are replaced, not
duplicated. The committed table is ``results/reproducibility.csv``; docs/results.md summarises it.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import pandas as pd
import torch

from gsfm import experiments
from gsfm.checkpoint import load_state
from gsfm.data.synthetic import ensure_split
from gsfm.files import atomic_write
from gsfm.training.run_folder import provenance

KEY = ["model", "seed", "capability", "threads", "eval_capability", "eval_threads", "git_commit"]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def weights_digest(checkpoint: Path) -> str:
    """SHA-256 (first 16 hex digits) over the names and bytes of a checkpoint's model weights:
    equal digests mean bit-for-bit equal trained models."""
    state = load_state(checkpoint)
    weights = state.get("model", state)
    h = hashlib.sha256()
    for name in sorted(weights):
        t = weights[name]
        if isinstance(t, torch.Tensor):
            h.update(name.encode() + b"\0" + t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def summarise_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(over seeds, across settings) from the rows of ``results/reproducibility.csv``.

    Over seeds: per (model, capability, threads) of training, scored under the same setting,
    the seeds, their J&F, the mean and the 95 % Student-t half-width. Across settings: per
    (model, seed), the J&F of each (training, scoring) setting and the spread (max - min).
    """
    from gsfm.analysis.comparison import seed_interval

    own = table[(table["capability"] == table["eval_capability"])]
    own = own[own["threads"] == own["eval_threads"]]
    seeds = []
    for (model, cap, threads), g in own.groupby(["model", "capability", "threads"], sort=True):
        g = g.sort_values("seed")
        mean, half = seed_interval(g["J&F"])
        seeds.append(
            {"model": model, "capability": cap, "threads": threads, "n": len(g),
             "seeds": " ".join(str(int(v)) for v in g["seed"]),
             "J&F": " / ".join(f"{v:.2f}" for v in g["J&F"]),
             "mean": round(mean, 2), "ci95": round(half, 2),
             "min": g["J&F"].min(), "max": g["J&F"].max()}
        )  # fmt: skip
    across = []
    for (model, seed), g in table.groupby(["model", "seed"], sort=True):
        across.append(
            {"model": model, "seed": int(seed), "settings": len(g),
             "J&F": " / ".join(f"{v:.2f}" for v in g["J&F"]),
             "spread": round(float(g["J&F"].max() - g["J&F"].min()), 2)}
        )  # fmt: skip
    return pd.DataFrame(seeds), pd.DataFrame(across)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("gsfm", "stcn"))
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--run",
        help="evaluate this finished run (a <runs-dir>/<capability>-t<threads>/<name> folder) "
        "under the current capability and threads instead of training: how far inference alone "
        "moves the score",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--runs-dir", default="runs/reproducibility")
    p.add_argument("--data-dir", default="data/synth")
    p.add_argument("--out", default="results/reproducibility.csv")
    p.add_argument(
        "--summary",
        action="store_true",
        help="print, from --out, the mean and 95 %% Student-t interval over seeds per model and "
        "training setting, and how far one seed moves across settings; trains nothing",
    )
    p.add_argument("--limit", type=int, help="score only the first N validation videos (tests)")
    args = p.parse_args(argv)
    if args.summary:
        seeds, across = summarise_rows(pd.read_csv(args.out))
        print("over seeds (training and scoring under the same setting):")
        print(seeds.to_string(index=False))
        print("\none seed across settings:")
        print(across.to_string(index=False))
        return 0

    torch.set_num_threads(args.threads)
    cap = torch.backends.cpu.get_cpu_capability()
    if args.run:
        run = Path(args.run).resolve()
        saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
        args.model, args.seed = saved["model_name"], int(saved["train"]["seed"])
        args.profile = saved["profile"]
        train_cap, _, train_threads = run.parent.name.rpartition("-t")
    else:
        if args.model is None or args.seed is None:
            p.error("--model and --seed are required unless --run is given")
        train_cap, train_threads = cap.lower(), str(args.threads)
        runs = Path(args.runs_dir) / f"{train_cap}-t{train_threads}"
        run = experiments.trained_run(
            args.model, args.profile, seed=args.seed, runs_dir=runs, device="cpu", progress=False
        )
    log = pd.read_csv(run / "log.csv")
    val = ensure_split(args.data_dir, "val", limit=args.limit)
    ev = experiments.evaluated_run(run, val, device="cpu")
    s = ev.scores.iloc[0]
    prov = provenance(torch.device("cpu"), 0, 1)
    row = {
        "model": args.model,
        "seed": args.seed,
        "capability": train_cap.upper(),  # of the training run
        "threads": int(train_threads),
        "eval_capability": cap,
        "eval_threads": args.threads,
        "profile": args.profile,
        "J&F": round(float(s["J&F-Mean"]) * 100, 2),
        "J": round(float(s["J-Mean"]) * 100, 2),
        "F": round(float(s["F-Mean"]) * 100, 2),
        "train_s": round(float(log["time_s"].iloc[-1]), 1),
        "eval_fps": round(ev.fps, 2),
        "final_iou": round(float(log["iou"].iloc[-1]), 4),
        "weights_sha": weights_digest(run / "checkpoints" / "final.pt"),
        "cpu": _cpu_name(),
        "torch": torch.__version__,
        "git_commit": prov["git_commit"],
        "run": f"{run.parent.name}/{run.name}",
    }
    print(json.dumps(row, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f".{out.name}.lock"), "w") as lock:  # several settings may run at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = pd.read_csv(out) if out.is_file() else pd.DataFrame(columns=list(row))
        old = old.reindex(columns=list(dict.fromkeys([*old.columns, *row])))
        same = (old[KEY].astype(str) == pd.Series(row)[KEY].astype(str)).all(axis=1)
        table = pd.concat([old[~same], pd.DataFrame([row])], ignore_index=True)
        atomic_write(out, lambda tmp: table.to_csv(tmp, index=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
