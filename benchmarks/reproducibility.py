"""How far one training run moves across seeds, CPU capabilities and thread counts.

Trains one ``cpu``-profile model (or reuses the finished run of the same configuration and the
same capability / thread count), scores it on the synth-v1 validation split with the model's
own inference settings, and appends one row to a CSV:

    model, seed, capability, threads, J&F, J, F, train_s, eval_fps, a digest of the trained
    weights (equal digests: bit-for-bit equal models), machine and provenance

``ATEN_CPU_CAPABILITY`` is read by PyTorch when it starts, so each setting is its own process:

    ATEN_CPU_CAPABILITY=avx2 python benchmarks/reproducibility.py --model gsfm --seed 0 --threads 2

Runs go to ``<runs-dir>/<capability>-t<threads>/<run name>`` so that settings never share a
run folder. Rows for the same (model, seed, capability, threads, commit) are replaced, not
duplicated. The committed table is ``results/reproducibility.csv``; the README summarises it.
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
from gsfm.data.io import atomic_write
from gsfm.training.run_folder import provenance

KEY = ["model", "seed", "capability", "threads", "git_commit"]


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("gsfm", "stcn"), required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--runs-dir", default="runs/reproducibility")
    p.add_argument("--data-dir", default="data/synth")
    p.add_argument("--out", default="results/reproducibility.csv")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    cap = torch.backends.cpu.get_cpu_capability()
    runs = Path(args.runs_dir) / f"{cap.lower()}-t{args.threads}"
    run = experiments.trained_run(
        args.model, args.profile, seed=args.seed, runs_dir=runs, device="cpu", progress=False
    )
    log = pd.read_csv(run / "log.csv")
    val = experiments.ensure_synth_split(args.data_dir, "val")
    ev = experiments.evaluated_run(run, val, device="cpu")
    s = ev.scores.iloc[0]
    prov = provenance(torch.device("cpu"), 0, 1)
    row = {
        "model": args.model,
        "seed": args.seed,
        "capability": cap,
        "threads": args.threads,
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
        "run": str(run),
    }
    print(json.dumps(row, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f".{out.name}.lock"), "w") as lock:  # several settings may run at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = pd.read_csv(out) if out.is_file() else pd.DataFrame(columns=list(row))
        same = (old[KEY].astype(str) == pd.Series(row)[KEY].astype(str)).all(axis=1)
        table = pd.concat([old[~same], pd.DataFrame([row])], ignore_index=True)
        atomic_write(out, lambda tmp: table.to_csv(tmp, index=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
