"""Benchmark video inference of the paper-size GSFM and STCN: FPS, their ratio, peak memory.

One synthetic video (default 60 frames of 480×854, the DAVIS 480p size, 2 objects) is
propagated by ``build_model("gsfm", "paper")`` and ``build_model("stcn", "paper")`` (random
weights: speed does not depend on the values), each without and with the bounded-memory option
(``max_memory_chunk``). Every (model, option) pair runs in its own subprocess, so that each
peak-memory figure is that run's own:

* CPU: peak resident set size (``resource.getrusage(...).ru_maxrss``) of the worker process,
  and its increase over the RSS just before propagation (= what inference itself needs: the
  growing memory bank, the affinity matrix, activations). tracemalloc cannot be used: it does
  not see PyTorch's tensor allocations.
* CUDA: ``torch.cuda.max_memory_allocated`` during propagation.
* The size of one N×M float32 affinity matrix at the last frame (N memory positions, M query
  positions, or the chunk): the part that grows with the video and that chunking bounds. The
  unbounded read holds about three such matrices at once (logits, top-k scatter, products).

RSS figures are noisy: the allocator keeps freed memory, so compare peaks of long videos, where
the affinity (O(T·(HW)²)) dominates; on short videos the decoder activations dominate.

FPS = frames / propagation time (no frame reading or PNG writing; see ``gsfm.inference``). The
paper (Table 5, one V100): GSFM 8.9 FPS, the baseline 11.7 FPS, ratio 0.76. By default both
models use GSFM's evaluation settings (top-k 50, a memory frame every 3), so that only the
architecture differs; ``--stcn-defaults`` gives STCN its own (top-k 20, every 5).

Usage::

    python benchmarks/bench_inference.py                       # the full 60-frame run
    python benchmarks/bench_inference.py --frames 8 --chunk 256  # a short run
    python benchmarks/bench_inference.py --device cuda

Prints a table and, with ``--json PATH``, writes the figures. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PAPER_FPS = {"gsfm": 8.9, "stcn": 11.7}


def synthetic_video(frames: int, height: int, width: int, objects: int, seed: int = 0):
    """Normalised noise frames with a smooth pattern, and a first-frame mask of ``objects`` ellipses."""
    g = torch.Generator().manual_seed(seed)
    video = torch.randn(frames, 3, height, width, generator=g) * 0.3
    yy, xx = torch.meshgrid(
        torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij"
    )
    ann = torch.zeros(height, width, dtype=torch.long)
    for k in range(objects):
        cy, cx = -0.5 + k * 0.9 / max(objects - 1, 1), -0.5 + k * 0.9 / max(objects - 1, 1)
        for t in range(frames):
            dy, dx = cy + 0.01 * t, cx + 0.015 * t
            inside = ((yy - dy) / 0.25) ** 2 + ((xx - dx) / 0.2) ** 2 < 1
            video[t, k % 3][inside] += 1.5
            if t == 0:
                ann[inside] = k + 1
    return video, ann


def _rss_bytes() -> int | None:
    """Current resident set size (Linux /proc), or None where unavailable."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def worker(args: argparse.Namespace) -> dict:
    """Run one (model, chunk) configuration in this process and return its figures."""
    from gsfm.inference import InferenceEngine, InferenceSettings
    from gsfm.model import build_model
    from gsfm.runtime import resolve_device

    device = resolve_device(args.device)
    torch.manual_seed(0)
    overrides = (
        {} if (args.model == "gsfm" or args.stcn_defaults) else {"top_k": 50, "mem_every": 3}
    )
    model = build_model(args.model, "paper", **overrides).to(device).eval()
    video, ann = synthetic_video(args.frames, args.height, args.width, args.objects)
    chunk = args.chunk if args.bounded else None
    engine = InferenceEngine(model, InferenceSettings(max_memory_chunk=chunk))
    # warm-up on 2 frames (first-call allocations, cuDNN autotuning), not timed
    engine.propagate(video[:2].to(device), ann)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    rss_before = _rss_bytes()
    result = engine.propagate(video.to(device), ann)
    out = {
        "model": args.model,
        "bounded": bool(args.bounded),
        "chunk": chunk,
        "top_k": engine.top_k,
        "mem_every": engine.mem_every,
        "frames": args.frames,
        "size": [args.height, args.width],
        "objects": args.objects,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "seconds": result.seconds,
        "fps": result.fps,
        "memory_frames": len(result.memory_frames),
        "peak_rss_mb": _peak_rss_bytes() / 2**20,
        "rss_before_mb": None if rss_before is None else rss_before / 2**20,
    }
    # size of one (N x M) float32 affinity matrix at the last frame: what chunking bounds
    per_frame = -(-args.height // 16) * -(-args.width // 16)
    n_mem = len(result.memory_frames) * per_frame
    out["affinity_mb"] = n_mem * min(chunk or per_frame, per_frame) * 4 / 2**20
    if out["rss_before_mb"] is not None:
        out["inference_rss_increase_mb"] = out["peak_rss_mb"] - out["rss_before_mb"]
    if device.type == "cuda":
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        out["gpu"] = torch.cuda.get_device_name(device)
    if args.masks_out:
        np.save(args.masks_out, result.masks)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--width", type=int, default=854)
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--models", default="gsfm,stcn", help="comma-separated: gsfm,stcn")
    p.add_argument("--chunk", type=int, default=256, help="query positions per affinity chunk")
    p.add_argument("--no-bounded", action="store_true", help="skip the bounded-memory runs")
    p.add_argument("--stcn-defaults", action="store_true", help="STCN with top-k 20, mem_every 5")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    # internal: one configuration in a subprocess
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", default="gsfm", help=argparse.SUPPRESS)
    p.add_argument("--bounded", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--masks-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if min(args.frames, args.height, args.width, args.objects, args.chunk) < 1:
        p.error("--frames, --height, --width, --objects and --chunk must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in ("gsfm", "stcn")]
    if bad:
        p.error(f"unknown model(s) {bad}; use gsfm and/or stcn")
    rows: list[dict] = []
    same_output: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            for bounded in [False] if args.no_bounded else [False, True]:
                masks = Path(tmp) / f"{model}_{int(bounded)}.npy"
                cmd = [
                    sys.executable, __file__, "--worker", "--model", model,
                    "--frames", str(args.frames), "--height", str(args.height),
                    "--width", str(args.width), "--objects", str(args.objects),
                    "--chunk", str(args.chunk), "--device", args.device,
                    "--masks-out", str(masks),
                ]  # fmt: skip
                if bounded:
                    cmd.append("--bounded")
                if args.stcn_defaults:
                    cmd.append("--stcn-defaults")
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                start = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    raise SystemExit(f"worker for {model} (bounded={bounded}) failed")
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row["wall_with_startup_s"] = time.perf_counter() - start
                rows.append(row)
                print(_format_row(row), flush=True)
            if not args.no_bounded:
                a = np.load(Path(tmp) / f"{model}_0.npy")
                b = np.load(Path(tmp) / f"{model}_1.npy")
                same_output[model] = bool(np.array_equal(a, b))

    print()
    for model, same in same_output.items():
        print(f"{model}: bounded-memory output identical to unbounded: {same}")
    fps = {r["model"]: r["fps"] for r in rows if not r["bounded"]}
    summary: dict = {"rows": rows, "same_output": same_output}
    if "gsfm" in fps and "stcn" in fps:
        ratio = fps["gsfm"] / fps["stcn"]
        paper = PAPER_FPS["gsfm"] / PAPER_FPS["stcn"]
        summary["fps_ratio_gsfm_over_stcn"] = ratio
        print(
            f"FPS ratio GSFM / STCN: {ratio:.2f} (ours, {rows[0]['device']}) vs "
            f"{paper:.2f} (paper: {PAPER_FPS['gsfm']} / {PAPER_FPS['stcn']} FPS on a V100)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


def _format_row(r: dict) -> str:
    from gsfm.analysis.wording import signed

    mem = f"peak RSS {r['peak_rss_mb']:.0f} MB"
    if r.get("inference_rss_increase_mb") is not None:
        mem += f" ({signed(r['inference_rss_increase_mb'], 0)} MB during propagation)"
    if "cuda_peak_mb" in r:
        mem += f", CUDA peak {r['cuda_peak_mb']:.0f} MB"
    mem += f"; one affinity matrix at the end {r['affinity_mb']:.0f} MB"
    chunk = f"chunk {r['chunk']}" if r["bounded"] else "unbounded"
    return (
        f"{r['model']:5s} {chunk:10s} top-k {r['top_k']} mem_every {r['mem_every']}: "
        f"{r['frames']} frames {r['size'][0]}x{r['size'][1]} in {r['seconds']:.1f} s = "
        f"{r['fps']:.2f} FPS; {mem}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
