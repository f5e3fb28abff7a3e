"""GPU check for a session that has a CUDA device (``scripts/device_check.sh`` runs it).

One call, under 8 minutes on an H200, that says what the GPU path does, phase by phase:

1. ``loader``: samples/s of the training data alone (the ``gpu`` profile's pre-rendered
   synth-v1 train split, and the in-memory stream for comparison), N worker processes, after a
   warm-up (:func:`gsfm.training.throughput.loader_rate`); writing the split once is its own
   phase (``write_train_split``).
2. ``step``: samples/s and seconds per iteration of the training step alone (forward, loss,
   backward, Adam, AMP) of GSFM and STCN under the ``gpu`` and ``paper`` profiles on one fixed
   batch (:func:`gsfm.training.throughput.step_rate`), with the **peak memory measured after
   the warm-up** (cuDNN's autotuner allocates large workspaces while it searches; counting
   them inflated the old report to 136 GB for inference). The loader / step ratio for the gpu
   profile says whether the GPU is kept busy (goal: loader ≥ 1.2 × step).
3. ``inference``: GSFM and STCN at 480×854, 60 frames, float32 and the fast path, FPS, their
   ratio beside the paper's 0.76, and the fast path's mask agreement with float32
   (``benchmarks/bench_fast_inference.py``'s :func:`fast_inference_check`); peak memory after
   the warm-up run.
4. ``gpu_training``: both models trained with the ``gpu`` profile, at the same time as two
   processes on the one GPU (``python -m gsfm train``), each with half the CPU cores for its
   loader; wall time of each.
5. ``scoring``: both checkpoints segment synth-v1 val; J&F and FPS.

The JSON is printed and written to ``results/device_check/<device>-<date>.json`` (``--out``
to choose). Without CUDA the script stops at once with exit status 2, unless ``--dry-run``: then
every phase runs on the CPU at the ``smoke`` profile with tiny sizes (a check of the script,
not a measurement). ImageNet weights: the gpu profile starts from them when they are in the
torch hub cache; the device machine has no network, so otherwise the run says it used random
encoders (``encoder_init`` in the report).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]


def _bench_fast_inference() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_fast_inference", ROOT / "benchmarks" / "bench_fast_inference.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class Phases:
    """Wall-clock seconds of each phase, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 2)


def encoder_init_available(profile: str) -> str:
    """The profile's encoder init if its weights can be had here, else ``"random"``."""
    from gsfm.config import model_config, train_config
    from gsfm.model.pretrained import imagenet_cache_path

    if train_config(profile).encoder_init != "imagenet":
        return "random"
    cfg = model_config("gsfm", profile)
    names = {cfg.key_encoder, cfg.value_encoder}
    return "imagenet" if all(imagenet_cache_path(n).is_file() for n in names) else "random"


def loader_check(
    profile: str, workers: int, data_dir: Path, phases: Phases, tiny: bool
) -> dict[str, Any]:
    """Loader samples/s of the pre-rendered train split and of the in-memory stream.
    ``tiny`` (the dry run): a 2-video split at 64x112 instead of the whole train split."""
    from gsfm.config import train_config
    from gsfm.data.synthetic import SyntheticTrainSet, ensure_split
    from gsfm.training.api import build_train_data
    from gsfm.training.throughput import loader_rate

    cfg = train_config(profile, num_workers=workers)
    os.environ["GSFM_DATA_DIR"] = str(data_dir)
    if tiny:
        root = phases.run(
            "write_train_split", ensure_split, data_dir, "train", limit=2, height=64, width=112
        )
        spec = f"davis:{root}"
    else:  # the split the gpu profile trains on, written once (its own phase)
        spec = "synth-train"
    split = phases.run("read_train_split", build_train_data, [spec], cfg, cfg.seed)
    stream = SyntheticTrainSet(crop_size=cfg.crop_size, length=10**5, seed=cfg.seed)
    batches = 4 if tiny else 30
    return {
        "data": spec if not tiny else "davis:<2 tiny train videos>",
        "synth-train": loader_rate(split, cfg, workers=workers, batches=batches),
        "synth stream": loader_rate(stream, cfg, workers=workers, batches=batches),
    }


def step_check(profiles: list[str], device: torch.device, steps: int) -> list[dict[str, Any]]:
    """Training-step rate of both models under each profile, and the peak memory of the timed
    steps (``step_rate`` resets the peak after its warm-up, where cuDNN's autotuner searches
    with large workspaces)."""
    from gsfm.training.throughput import step_rate

    out = []
    for profile in profiles:
        for name in ("gsfm", "stcn"):
            out.append(step_rate(name, profile, device=device, steps=steps, warmup=2))
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return out


def _train_cmd(model: str, profile: str, out: Path, args: argparse.Namespace, init: str) -> list:
    cmd = [sys.executable, "-m", "gsfm", "train", "--model", model, "--profile", profile,
           "--out", str(out), "--device", args.device_name, "--encoder-init", init,
           "--num-workers", str(args.train_workers)]  # fmt: skip
    if args.gpu_iterations:
        cmd += ["--iterations", str(args.gpu_iterations)]
    return cmd


def training_check(
    profile: str, work: Path, args: argparse.Namespace, init: str, data_dir: Path
) -> dict[str, Any]:
    """Train GSFM and STCN with ``profile`` at the same time (two processes), from scratch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GSFM_DATA_DIR": str(data_dir)}
    procs = {}
    for name in ("gsfm", "stcn"):
        log = (work / f"train-{name}.log").open("w")
        procs[name] = (
            subprocess.Popen(
                _train_cmd(name, profile, work / name, args, init),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),  # fmt: skip
            time.perf_counter(),
            log,
        )
    out: dict[str, Any] = {"encoder_init": init, "concurrent": True}
    for name, (proc, start, log) in procs.items():
        code = proc.wait()
        log.close()
        row: dict[str, Any] = {"exit_code": code, "wall_s": round(time.perf_counter() - start, 1)}
        log_csv = work / name / "log.csv"
        if code == 0 and log_csv.is_file():
            import pandas as pd

            t = pd.read_csv(log_csv)
            row.update(
                iterations=int(t["iteration"].iloc[-1]),
                train_s=round(float(t["time_s"].iloc[-1]), 1),
                loss_last=round(float(t["total"].iloc[-1]), 4),
            )
        else:
            row["log_tail"] = (work / f"train-{name}.log").read_text()[-2000:]
        out[name] = row
    return out


def scoring_check(work: Path, profile: str, device: torch.device, data_dir: Path) -> dict[str, Any]:
    """J&F and FPS of both trained checkpoints on synth-v1 val (the profile's subset)."""
    from gsfm.evaluation import evaluate_checkpoint
    from gsfm.experiments import ensure_synth_split, eval_split_settings

    val = ensure_synth_split(data_dir, "val", **eval_split_settings(profile))
    out: dict[str, Any] = {"data": str(val.name)}
    for name in ("gsfm", "stcn"):
        ckpt = work / name / "checkpoints" / "final.pt"
        if not ckpt.is_file():
            out[name] = {"error": f"no checkpoint {ckpt}"}
            continue
        row = evaluate_checkpoint(ckpt, val, work / f"pred-{name}", device=device).iloc[0]
        out[name] = {
            "J&F": round(100 * float(row["J&F-Mean"]), 2),
            "J": round(100 * float(row["J-Mean"]), 2),
            "F": round(100 * float(row["F-Mean"]), 2),
            "fps": round(float(row["fps"]), 2),
        }
    return out


def device_slug(name: str) -> str:
    """A file-name-safe form of a device name (``NVIDIA H200`` → ``nvidia-h200``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, smoke profile, tiny sizes")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps")
    parser.add_argument("--frames", type=int, default=None, help="frames of the inference video")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (phase 1)")
    parser.add_argument(
        "--gpu-iterations", type=int, default=None,
        help="iterations of the gpu-profile trainings (default: the profile's)",
    )  # fmt: skip
    parser.add_argument("--skip-training", action="store_true", help="phases 1-3 only")
    parser.add_argument(
        "--out", help="JSON file (default: results/device_check/<device>-<date>.json; none "
        "for --dry-run)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    if not args.dry_run and not torch.cuda.is_available():
        print(
            "device_check: CUDA is not available on this machine; run it where a GPU is "
            "(or pass --dry-run to check the script on the CPU)",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    cores = os.cpu_count() or 1
    if args.dry_run:
        device, train_profile, step_profiles = torch.device("cpu"), "smoke", ["smoke"]
        steps, frames, size, workers = args.steps or 2, args.frames or 4, (64, 96), 0
        args.train_workers, args.gpu_iterations = 0, args.gpu_iterations or 2
    else:
        device, train_profile, step_profiles = torch.device("cuda"), "gpu", ["gpu", "paper"]
        torch.backends.cudnn.benchmark = True
        steps, frames, size = args.steps or 20, args.frames or 60, (480, 854)
        workers = args.workers if args.workers is not None else max(1, cores - 2)
        args.train_workers = max(1, cores // 2 - 1)
    args.device_name = str(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    phases = Phases()
    report: dict[str, Any] = {
        "dry_run": args.dry_run,
        "device": name,
        "cpu_cores": cores,
        "torch": torch.__version__,
        "profile": train_profile,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="gsfm-device-check-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        report["loader"] = phases.run(
            "loader", loader_check, train_profile, workers, data_dir, phases, args.dry_run
        )
        report["step"] = phases.run("step", step_check, step_profiles, device, steps)
        gpu_step = next(s for s in report["step"] if s["profile"] == train_profile)
        loader = report["loader"]["synth-train"]["samples_per_s"]
        report["loader_over_step"] = round(loader / gpu_step["samples_per_s"], 3)
        bench = _bench_fast_inference()
        report["inference"] = phases.run(
            "inference", bench.fast_inference_check, "smoke" if args.dry_run else "paper",
            frames, size, device, 1 if args.dry_run else 3,
            fit_steps=10 if args.dry_run else 60,
        )  # fmt: skip
        if not args.skip_training:
            init = encoder_init_available(train_profile)
            report["gpu_training"] = phases.run(
                "gpu_training", training_check, train_profile, work, args, init, data_dir
            )
            report["scoring"] = phases.run(
                "scoring", scoring_check, work, train_profile, device, data_dir
            )
    report["phases_s"] = phases.seconds
    report["total_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    stamp = _dt.date.today().isoformat()
    out = Path(args.out) if args.out else None
    if out is None and not args.dry_run:  # a measurement: keep it, named for the device
        out = ROOT / "results" / "device_check" / f"{device_slug(name)}-{stamp}.json"
    if out is not None:
        from gsfm.files import atomic_write_text

        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, text + "\n")
    training = report.get("gpu_training", {})
    ok = all(training.get(m, {}).get("exit_code", 0) == 0 for m in ("gsfm", "stcn"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
