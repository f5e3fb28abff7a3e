"""Where GSFM's extra inference time goes: the paper-size model with its parts switched off.

Propagates one synthetic 480×854 video (default 12 frames, 2 objects, random weights) with
``build_model("gsfm", "paper")`` and with the HFM, the LFM, and the HFM plus the boundary
branch switched off, and STCN at GSFM's inference settings (top-k 50, a memory frame every 3).
Forward hooks time every spectral module (LFM/HFM) inside each run. Prints a table; nothing
here asserts a speed.

Usage::

    python benchmarks/bench_inference_parts.py --threads 2
    python benchmarks/bench_inference_parts.py --frames 4 --height 240 --width 432  # quick
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from bench_inference import synthetic_video

from gsfm.inference import InferenceEngine
from gsfm.model import build_model
from gsfm.spectral import FrequencyModule

VARIANTS: tuple[tuple[str, str, dict], ...] = (
    ("GSFM", "gsfm", {}),
    ("GSFM, HFM off", "gsfm", {"hfm": "off"}),
    ("GSFM, LFM off", "gsfm", {"lfm": "off"}),
    ("GSFM, HFM + boundary branch off", "gsfm", {"hfm": "off", "boundary": False}),
    ("STCN (top-k 50, every 3)", "stcn", {"top_k": 50, "mem_every": 3}),
)


def time_spectral_modules(model: torch.nn.Module) -> dict[str, float]:
    """Attach hooks that add each LFM/HFM forward's wall time (s) to the returned dict."""
    spent: dict[str, float] = defaultdict(float)
    for name, module in model.named_modules():
        if isinstance(module, FrequencyModule):
            start: list[float] = []
            module.register_forward_pre_hook(lambda *_, s=start: s.append(time.perf_counter()))
            module.register_forward_hook(
                lambda *_, s=start, n=name: spent.__setitem__(
                    n, spent[n] + time.perf_counter() - s.pop()
                )
            )
    return spent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--width", type=int, default=854)
    p.add_argument("--objects", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    video, ann = synthetic_video(args.frames, args.height, args.width, args.objects)
    print(
        f"{args.frames} frames {args.height}x{args.width}, {args.objects} objects, "
        f"cpu, {torch.get_num_threads()} threads, random weights"
    )
    print(f"{'variant':34s} {'seconds':>8s} {'FPS':>6s}  spectral modules (s)")
    for label, name, overrides in VARIANTS:
        torch.manual_seed(0)
        model = build_model(name, "paper", **overrides).eval()
        spent = time_spectral_modules(model)
        engine = InferenceEngine(model)
        engine.propagate(video[:2], ann)  # warm-up, not timed
        spent.clear()
        result = engine.propagate(video, ann)
        parts = ", ".join(f"{k} {v:.1f}" for k, v in spent.items()) or "-"
        print(f"{label:34s} {result.seconds:8.1f} {result.fps:6.3f}  {parts}", flush=True)


if __name__ == "__main__":
    main()
