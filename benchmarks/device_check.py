"""GPU check for a session that has a CUDA device (``scripts/device_check.sh`` runs it).

1. A few ``paper``-profile training iterations of GSFM and of the STCN baseline (ResNet-50 /
   ResNet-18, 384² crops from the synthetic stream, batch 8, AMP with GradScaler), through the
   real trainer: seconds per iteration after warm-up, peak GPU memory, losses finite.
2. The inference benchmark: GSFM and STCN (paper configurations, their own top-k / mem_every)
   propagate the same 480x854, 60-frame, 2-object video; FPS of each as gsfm.inference times it
   (no I/O), their ratio (the paper: 8.9 / 11.7 = 0.76 on a V100), peak memory.

Prints one JSON object. Without CUDA it stops at once with exit status 2, unless ``--dry-run``:
then everything runs on the CPU with the ``smoke`` profile and a tiny video (a check of the
script itself, not a measurement). Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch


def _peak_mb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def train_check(
    name: str, profile: str, iterations: int, device: torch.device, workers: int
) -> dict[str, Any]:
    """Train ``iterations`` steps of ``name`` under ``profile`` and time them from the log."""
    from gsfm.config import train_config
    from gsfm.data.synthetic import SyntheticTrainSet
    from gsfm.losses import GSFMLoss
    from gsfm.model import build_model
    from gsfm.runtime import seed_everything
    from gsfm.training import DistContext, Trainer

    cfg = train_config(
        profile,
        iterations=iterations,
        log_every=1,
        checkpoint_every=10**9,
        num_workers=workers,
        epoch_samples=10**5,
    )
    seed_everything(cfg.seed)
    model = build_model(name, profile)
    data = SyntheticTrainSet(crop_size=cfg.crop_size, length=cfg.epoch_samples, seed=cfg.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(
            model, GSFMLoss(cfg), data, cfg, Path(tmp) / "run",
            dist=DistContext(device=device), progress=False,
        )  # fmt: skip
        start = time.perf_counter()
        trainer.run()
        wall = time.perf_counter() - start
        log = trainer.folder.read_log()
    times = log["time_s"].to_numpy()
    warm = min(3, len(times) - 1)
    per_it = (times[-1] - times[warm - 1]) / (len(times) - warm) if warm >= 1 else times[-1]
    return {
        "model": name,
        "profile": profile,
        "iterations": iterations,
        "batch_size": cfg.batch_size,
        "crop_size": cfg.crop_size,
        "amp": trainer.use_amp,
        "seconds_per_iteration": round(float(per_it), 4),
        "wall_s": round(wall, 2),
        "peak_memory_mb": _peak_mb(device),
        "loss_first": round(float(log["total"].iloc[0]), 4),
        "loss_last": round(float(log["total"].iloc[-1]), 4),
        "losses_finite": bool(log["total"].map(math.isfinite).all()),
        "grad_scale": float(trainer.scaler.get_scale()) if trainer.use_amp else None,
    }


def inference_check(
    profile: str, frames: int, size: tuple[int, int], device: torch.device, repeats: int
) -> dict[str, Any]:
    """FPS of GSFM and STCN on the same random video with two rectangular objects."""
    from gsfm.inference import InferenceEngine
    from gsfm.model import build_model

    h, w = size
    gen = torch.Generator().manual_seed(0)
    video = torch.randn(frames, 3, h, w, generator=gen)
    first = torch.zeros(h, w, dtype=torch.uint8)
    first[h // 8 : h // 2, w // 8 : w // 3] = 1
    first[h // 2 : 7 * h // 8, w // 2 : 5 * w // 6] = 2
    out: dict[str, Any] = {"frames": frames, "height": h, "width": w, "objects": 2}
    for name in ("gsfm", "stcn"):
        torch.manual_seed(0)
        model = build_model(name, profile).to(device).eval()
        engine = InferenceEngine(model)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        fps = [engine.propagate(video, first).fps for _ in range(repeats)]
        out[name] = {
            "fps": round(max(fps), 3),  # best of the repeats (the first one warms up)
            "fps_runs": [round(f, 3) for f in fps],
            "top_k": engine.top_k,
            "mem_every": engine.mem_every,
            "peak_memory_mb": _peak_mb(device),
        }
        del model, engine
        if device.type == "cuda":
            torch.cuda.empty_cache()
    out["fps_ratio_gsfm_over_stcn"] = round(out["gsfm"]["fps"] / out["stcn"]["fps"], 4)
    out["paper_ratio_v100"] = round(8.9 / 11.7, 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, smoke profile, tiny sizes")
    parser.add_argument("--iterations", type=int, default=None, help="training steps per model")
    parser.add_argument("--frames", type=int, default=None, help="frames of the inference video")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)

    if not args.dry_run and not torch.cuda.is_available():
        print(
            "device_check: CUDA is not available on this machine; run it where a GPU is "
            "(or pass --dry-run to check the script on the CPU)",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    if args.dry_run:
        device, profile = torch.device("cpu"), "smoke"
        iterations, frames, size, workers, repeats = (
            args.iterations or 2,
            args.frames or 4,
            (64, 96),
            0,
            1,
        )
    else:
        device, profile = torch.device("cuda"), "paper"
        torch.backends.cudnn.benchmark = True
        iterations, frames, size, workers, repeats = (
            args.iterations or 20,
            args.frames or 60,
            (480, 854),
            8,
            2,
        )
    if args.workers is not None:
        workers = args.workers
    report: dict[str, Any] = {
        "dry_run": args.dry_run,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "profile": profile,
    }
    report["train"] = [
        train_check(name, profile, iterations, device, workers) for name in ("gsfm", "stcn")
    ]
    report["inference"] = inference_check(profile, frames, size, device, repeats)
    report["total_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    ok = all(t["losses_finite"] for t in report["train"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
