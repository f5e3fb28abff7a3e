"""Fast inference with the same masks: GSFM and STCN in float32 and through the fast path.

Both models (``build_model(name, profile)``, each with its own top-k / mem_every) run every
mode of :data:`MODES`, one :class:`gsfm.inference.InferenceEngine` setting each: a precision
(``fp32``, ``bf16``, ``fp16``) and optionally a launch-overhead cut (``+graphs``: CUDA graphs of
the fixed-shape parts; ``+compile``: ``torch.compile``).

Speed: the same video as ``device_check.py``'s inference check (random frames, 480x854, 60
frames, two rectangles in the first mask); FPS best of ``repeats`` timed runs after one warm-up
run (which records the graphs or compiles), whether the timed runs gave identical masks, peak
GPU memory, and the GSFM / STCN FPS ratio per mode beside the paper's 8.9 / 11.7 = 0.76
(Table 5, one V100).

Masks: a random network's per-object probabilities are nearly equal everywhere, so its argmax
decisions are ties that any rounding flips, and its agreement says nothing about precision.
So, unless ``--checkpoint`` gives trained weights, each model's decoder is first fitted
(``fit_steps`` Adam steps on frozen encoder features, :func:`fit_decoder`) to a video of two
moving, coloured objects with ground truth (:func:`moving_objects_video`, same size). Weights
do not change the speed. On that video every mode is compared with float32:
:func:`gsfm.agreement.mask_agreement` over frames 1..T-1, J&F of both against the ground truth,
and the verdict against :data:`gsfm.agreement.FAST_PATH_TOLERANCE` ("pass" / "fail", or
"inconclusive" where the float32 run has more near-ties, top-two probability gap below
:data:`NEAR_TIE_GAP`, than the tolerance allows to differ).

Prints one JSON object. ``--dry-run`` runs on the CPU with the ``smoke`` profile and a tiny
video (a check of the script, not a measurement). Nothing here asserts a speed. The core is
:func:`fast_inference_check`, which ``device_check.py`` can import.

Usage::

    python benchmarks/bench_fast_inference.py                      # CUDA, paper profile
    python benchmarks/bench_fast_inference.py --modes fp32,bf16+graphs,bf16+compile
    python benchmarks/bench_fast_inference.py --dry-run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

PAPER_RATIO_V100 = 8.9 / 11.7
NEAR_TIE_GAP = 0.05  # a float32 pixel whose two largest probabilities are closer is a near-tie
PRECISIONS: dict[str, str | None] = {"fp32": None, "bf16": "bf16", "fp16": "fp16"}
LAUNCH: dict[str, str] = {"graphs": "cuda-graphs", "compile": "torch"}
MODES: tuple[str, ...] = tuple(
    p + (f"+{launch}" if launch else "") for p in PRECISIONS for launch in ("", *LAUNCH)
)
DEFAULT_MODES = {
    "cuda": ("fp32", "bf16", "fp32+graphs", "bf16+graphs"),
    "cpu": ("fp32", "bf16"),
}
DEFAULT_FAST = {"cuda": "bf16+graphs", "cpu": "bf16"}


def engine_settings(mode: str, compile_backend: str = "inductor") -> Any:
    """The :class:`~gsfm.inference.InferenceSettings` of ``mode``."""
    from gsfm.inference import InferenceSettings

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    precision, _, launch = mode.partition("+")
    options: dict[str, Any] = {"amp": PRECISIONS[precision]}
    if launch:
        options["compile"] = LAUNCH[launch]
    if launch == "compile" and compile_backend != "inductor":
        options["compile_options"] = {"backend": compile_backend}
    return InferenceSettings(**options)


def random_video(frames: int, height: int, width: int, seed: int = 0):
    """Random normal frames (T, 3, H, W) and a first mask with two rectangles (ids 1, 2)."""
    gen = torch.Generator().manual_seed(seed)
    video = torch.randn(frames, 3, height, width, generator=gen)
    first = torch.zeros(height, width, dtype=torch.uint8)
    first[height // 8 : height // 2, width // 8 : width // 3] = 1
    first[height // 2 : 7 * height // 8, width // 2 : 5 * width // 6] = 2
    return video, first


def moving_objects_video(frames: int, height: int, width: int, seed: int = 0):
    """Frames (T, 3, H, W) of a disk and a box in their own colours moving over noise, and
    their ground truth (T, H, W) uint8 (disk 1, box 2; the disk in front)."""
    gen = torch.Generator().manual_seed(seed)
    video = 0.5 * torch.randn(frames, 3, height, width, generator=gen)
    ids = torch.zeros(frames, height, width, dtype=torch.uint8)
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij"
    )
    for t in range(frames):
        s = t / max(frames - 1, 1)
        disk = ((yy - 0.35 - 0.2 * s) / 0.18) ** 2 + ((xx - 0.25 - 0.4 * s) / 0.1) ** 2 < 1
        box = (yy - 0.65).abs() < 0.15
        box &= (xx - 0.75 + 0.35 * s).abs() < 0.12
        box &= ~disk
        ids[t][box], ids[t][disk] = 2, 1
        video[t][:, disk] += torch.tensor([1.5, -1.0, 0.5])[:, None]
        video[t][:, box] += torch.tensor([-1.0, 1.0, 1.0])[:, None]
    return video, ids


def fit_decoder(
    model: torch.nn.Module,
    video: torch.Tensor,
    ids: torch.Tensor,
    steps: int,
    *,
    pairs: int = 8,
    batch: int = 4,
    lr: float = 1e-3,
) -> float:
    """Fit the decoder (only) of ``model`` to segment ``ids`` in ``video``; returns the last loss.

    The encoders stay as they are: the decoder's inputs of ``pairs`` training pairs (frame 0 →
    frame t, ground-truth memory, as in training) are computed once, then ``steps`` Adam steps
    of per-object binary cross-entropy on ``batch`` of them at a time. The model stays in eval
    mode (no BatchNorm statistics change). Deterministic for a given seed and device.
    """
    import torch.nn.functional as F

    from gsfm.inference import pad_to_multiple

    device = next(model.parameters()).device
    model.eval()
    captured: list[tuple[torch.Tensor, ...]] = []
    hook = model.decoder.register_forward_hook(
        lambda _m, inputs, _o: captured.append(tuple(x.detach() for x in inputs))
    )
    targets = []
    frames_t = np.linspace(1, len(video) - 1, min(pairs, len(video) - 1)).round().astype(int)
    try:
        with torch.no_grad():
            for t in frames_t:
                rgb, _ = pad_to_multiple(video[[0, t]].to(device))
                m, _ = pad_to_multiple(ids[[0, t]].to(device))
                objects = torch.stack([m == 1, m == 2], dim=1).float()  # (2 frames, 2, H, W)
                model.forward_train(
                    {
                        "rgb": rgb[None],
                        "gt": objects[None, :, :1],
                        "sec_gt": objects[None, :, 1:],
                        "selector": torch.ones(1, 2, device=device),
                    }
                )
                targets.append(objects[1].unsqueeze(1))  # (2 objects, 1, H, W)
    finally:
        hook.remove()
    inputs = [torch.cat(parts) for parts in zip(*captured, strict=True)]
    target = torch.cat(targets)
    params = [p for p in model.decoder.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(0)
    loss = torch.zeros(())
    for _ in range(steps):
        pick = torch.randperm(len(target), generator=gen)[:batch].to(device)
        logits, _ = model.decoder(*(x[pick] for x in inputs))
        loss = F.binary_cross_entropy_with_logits(logits, target[pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


def _peak_mb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def _near_tie_share(probs: np.ndarray) -> float:
    """Share of pixels (frames 1..T-1) whose two largest probabilities differ by < NEAR_TIE_GAP."""
    top2 = np.sort(probs[1:], axis=1)[:, -2:]
    return float((top2[:, 1] - top2[:, 0] < NEAR_TIE_GAP).mean())


def _run_mode(
    model: torch.nn.Module,
    mode: str,
    speed_video: tuple[torch.Tensor, torch.Tensor],
    mask_video: tuple[torch.Tensor, torch.Tensor],
    device: torch.device,
    repeats: int,
    compile_backend: str,
) -> tuple[dict[str, Any], np.ndarray]:
    """Warm up, time ``repeats`` runs of one mode on the speed video, then segment the mask
    video; returns (figures, the mask video's masks)."""
    from gsfm.inference import InferenceEngine

    engine = InferenceEngine(model, engine_settings(mode, compile_backend))
    start = time.perf_counter()
    engine.propagate(*speed_video)  # records the graphs / compiles; not timed
    warm_up_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    runs = [engine.propagate(*speed_video) for _ in range(repeats)]
    fps = [r.fps for r in runs]
    row = {
        "settings": engine.settings.provenance(),
        "fps": round(max(fps), 3),
        "fps_runs": [round(f, 3) for f in fps],
        "warm_up_s": round(warm_up_s, 2),
        "repeats_identical": all(np.array_equal(r.masks, runs[0].masks) for r in runs),
        "peak_memory_mb": _peak_mb(device),
    }
    video, ids = mask_video
    return row, engine.propagate(video, ids[0]).masks


def fast_inference_check(
    profile: str,
    frames: int,
    size: tuple[int, int],
    device: torch.device,
    repeats: int,
    *,
    modes: Sequence[str] | None = None,
    fast: str | None = None,
    fit_steps: int = 60,
    checkpoints: Mapping[str, str] | None = None,
    compile_backend: str = "inductor",
) -> dict[str, Any]:
    """FPS of GSFM and STCN in each mode, and each mode's masks against float32's.

    ``modes`` default to :data:`DEFAULT_MODES` of the device type (``"fp32"``, the reference,
    always runs first); ``fast`` (default :data:`DEFAULT_FAST`) is the mode whose GSFM / STCN
    ratio and verdict are reported as the fast path's. ``checkpoints``: {"gsfm": path,
    "stcn": path} for trained weights; a model without one has random weights and its decoder
    fitted for ``fit_steps`` steps (:func:`fit_decoder`) so that its masks are decisive. A mode
    that fails (e.g. graphs where there are none) is reported with its error; the others still
    run. Set ``torch.backends.cudnn.benchmark`` before calling, as for the other checks.
    """
    from gsfm.agreement import FAST_PATH_TOLERANCE, mask_agreement
    from gsfm.checkpoint import load_model
    from gsfm.inference import InferenceEngine
    from gsfm.metrics import video_jf
    from gsfm.model import build_model

    kind = "cuda" if device.type == "cuda" else "cpu"
    fast = fast or DEFAULT_FAST[kind]
    order = ["fp32", *[m for m in (modes or DEFAULT_MODES[kind]) if m != "fp32"]]
    if fast not in order:
        order.append(fast)
    for mode in order:
        engine_settings(mode, compile_backend)  # unknown modes fail before anything runs
    h, w = size
    speed_video = tuple(x.to(device) for x in random_video(frames, h, w))
    mask_video = moving_objects_video(frames, h, w)
    gt = mask_video[1].numpy()
    tolerance = FAST_PATH_TOLERANCE
    report: dict[str, Any] = {
        "profile": profile,
        "frames": frames,
        "height": h,
        "width": w,
        "objects": 2,
        "repeats": repeats,
        "tolerance": {
            "min_pixels": tolerance.min_pixels,
            "max_jf_difference": tolerance.max_jf_difference,
        },
        "near_tie_gap": NEAR_TIE_GAP,
        "fast": fast,
        "models": {},
    }
    if device.type == "cuda":
        report["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        report["tf32"] = {
            "matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32,
        }
    for name in ("gsfm", "stcn"):
        torch.manual_seed(0)
        path = (checkpoints or {}).get(name)
        out: dict[str, Any] = {"weights": path or f"random, decoder fitted {fit_steps} steps"}
        if path:
            model = load_model(path, device)
        else:
            model = build_model(name, profile).to(device).eval()
            start = time.perf_counter()
            out["fit_loss"] = round(fit_decoder(model, *mask_video, fit_steps), 5)
            out["fit_s"] = round(time.perf_counter() - start, 2)
        out["top_k"], out["mem_every"] = model.config.top_k, model.config.mem_every
        reference = InferenceEngine(model).propagate(mask_video[0], gt[0], return_probs=True)
        assert reference.probs is not None
        near_ties = _near_tie_share(reference.probs)
        out["fp32_near_tie_share"] = round(near_ties, 6)
        out["fp32_jf"] = round(video_jf(gt, reference.masks), 5)
        out["modes"] = {}
        del reference
        fp32_masks: np.ndarray | None = None
        for mode in order:
            try:
                row, masks = _run_mode(
                    model, mode, speed_video, mask_video, device, repeats, compile_backend
                )
            except Exception as err:  # report and go on: one mode must not cost the others
                out["modes"][mode] = {"error": f"{type(err).__name__}: {err}"[:500]}
                out["modes"][mode]["verdict"] = "error"
                continue
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            jf = video_jf(gt, masks)
            row["jf"] = round(jf, 5)
            if mode == "fp32":
                fp32_masks, fp32_jf = masks, jf
            elif fp32_masks is not None:
                agreement = mask_agreement(fp32_masks[1:], masks[1:])
                row["agreement_vs_fp32"] = {
                    "pixels": round(agreement.pixels, 6),
                    "iou_min": round(agreement.iou_min, 6),
                    "iou_mean": round(agreement.iou_mean, 6),
                    "jf_difference": round(jf - fp32_jf, 6),
                }
                within = tolerance.accepts(agreement, jf - fp32_jf)
                row["within_tolerance"] = within
                too_many_ties = near_ties > 1 - tolerance.min_pixels
                row["verdict"] = "pass" if within else ("inconclusive" if too_many_ties else "fail")
                row["speedup_vs_fp32"] = round(row["fps"] / out["modes"]["fp32"]["fps"], 4)
            out["modes"][mode] = row
        report["models"][name] = out
        del model
    ratios = {}
    for mode in order:
        fps = [report["models"][n]["modes"][mode].get("fps") for n in ("gsfm", "stcn")]
        ratios[mode] = round(fps[0] / fps[1], 4) if all(fps) else None
    report["fps_ratio_gsfm_over_stcn"] = ratios
    report["paper_ratio_v100"] = round(PAPER_RATIO_V100, 4)
    report["verdict"] = {
        name: report["models"][name]["modes"][fast].get("verdict") for name in ("gsfm", "stcn")
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, smoke profile, tiny sizes")
    parser.add_argument("--frames", type=int, default=None, help="frames of the video")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per mode")
    parser.add_argument("--modes", default=None, help=f"comma-separated, from {','.join(MODES)}")
    parser.add_argument("--fast", default=None, help="the mode reported as the fast path")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="MODEL=PATH",
        help="trained weights for gsfm or stcn (repeatable); random weights otherwise",
    )
    parser.add_argument(
        "--fit-steps", type=int, default=None, help="decoder fitting steps (random weights)"
    )
    parser.add_argument(
        "--compile-backend", default="inductor", help="torch.compile backend of '+compile'"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    checkpoints: dict[str, str] = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep or name not in ("gsfm", "stcn") or not path:
            parser.error(f"--checkpoint {item!r}: expected gsfm=PATH or stcn=PATH")
        if not Path(path).is_file():
            parser.error(f"--checkpoint {item!r}: no such file {path}")
        checkpoints[name] = path
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None
    for mode in [*(modes or []), *([args.fast] if args.fast else [])]:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if not args.dry_run and not torch.cuda.is_available():
        print(
            "bench_fast_inference: CUDA is not available on this machine; run it where a GPU "
            "is (or pass --dry-run to check the script on the CPU)",
            file=sys.stderr,
        )
        return 2
    if args.dry_run:
        device, profile, size = torch.device("cpu"), "smoke", (64, 96)
        frames, repeats, fit_steps = 6, 1, 40
    else:
        device, profile, size = torch.device("cuda"), "paper", (480, 854)
        frames, repeats, fit_steps = 60, 3, 60
        torch.backends.cudnn.benchmark = True
    frames = args.frames or frames
    repeats = args.repeats or repeats
    fit_steps = fit_steps if args.fit_steps is None else args.fit_steps
    if frames < 2 or repeats < 1 or fit_steps < 0:
        parser.error("--frames must be >= 2, --repeats >= 1 and --fit-steps >= 0")
    start = time.perf_counter()
    report = {
        "dry_run": args.dry_run,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        **fast_inference_check(
            profile,
            frames,
            size,
            device,
            repeats,
            modes=modes,
            fast=args.fast,
            fit_steps=fit_steps,
            checkpoints=checkpoints,
            compile_backend=args.compile_backend,
        ),
    }
    report["total_s"] = round(time.perf_counter() - start, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        from gsfm.files import atomic_write_text

        atomic_write_text(Path(args.out), text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
