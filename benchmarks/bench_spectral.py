"""Benchmark LFM/HFM forward+backward and the cost of building the band filter.

Prints two tables:

1. forward + backward time of ``LFM(1024)`` on (8, 1024, 24, 24) (ResNet-50 layer3 at 384²) and
   ``HFM(256)`` on (8, 256, 96, 96) (the 1/4-scale decoder map), for the authors' full-FFT module
   and the ``fast=True`` rfft2 variant: median (and min/max) over ``--repeats`` runs after
   ``--warmup`` runs;
2. the time to get the filter from ``gsfm.spectral.band_filter`` with the cache and without it
   (``cache=False`` rebuilds it, as the authors' code does on every call).

Usage: ``python benchmarks/bench_spectral.py [--threads N] [--repeats 5] [--device auto]``.
Timings depend on the machine and on its load; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

import gsfm
from gsfm.runtime import resolve_device
from gsfm.spectral import band_filter


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(
    fn: Callable[[], object], device: torch.device, repeats: int, warmup: int
) -> list[float]:
    """Wall-clock seconds of ``fn`` for each of ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


def bench_modules(device: torch.device, repeats: int, warmup: int, batch: int) -> list[dict]:
    """Forward + backward of LFM(1024) and HFM(256), default and fast, at the paper's sizes."""
    cases = [("LFM", 1024, 24, 24), ("HFM", 256, 96, 96)]
    rows = []
    for name, c, h, w in cases:
        for fast in (False, True):
            torch.manual_seed(0)
            module = getattr(gsfm, name)(c, fast=fast).to(device)
            x = torch.randn(batch, c, h, w, device=device, requires_grad=True)

            def step(module=module, x=x) -> None:
                module.zero_grad(set_to_none=True)
                x.grad = None
                module(x).square().mean().backward()

            t = time_call(step, device, repeats, warmup)
            rows.append(
                {
                    "module": f"{name}({c})",
                    "variant": "fast (rfft2)" if fast else "default (fft2)",
                    "input": f"({batch}, {c}, {h}, {w})",
                    "median_ms": 1e3 * statistics.median(t),
                    "min_ms": 1e3 * min(t),
                    "max_ms": 1e3 * max(t),
                }
            )
    return rows


def bench_filter(device: torch.device, calls: int) -> list[dict]:
    """Mean time per ``band_filter`` call, cached versus rebuilt, at the maps LFM/HFM see."""
    rows = []
    for h, w in ((24, 24), (30, 54), (96, 96), (120, 216)):
        per_call = {}
        for cache in (True, False):
            band_filter(h, w, 7.0, "low", device=device, cache=cache)  # warm-up (fills the cache)
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(calls):
                band_filter(h, w, 7.0, "low", device=device, cache=cache)
            _sync(device)
            per_call[cache] = (time.perf_counter() - t0) / calls
        rows.append(
            {
                "map": f"{h}x{w}",
                "cached_us": 1e6 * per_call[True],
                "rebuilt_us": 1e6 * per_call[False],
                "speed-up": per_call[False] / per_call[True],
            }
        )
    return rows


def _print_table(rows: list[dict], floatfmt: str = "{:.1f}") -> None:
    cols = list(rows[0])
    cells = [
        [floatfmt.format(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols]
        for r in rows
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(wd) for c, wd in zip(cols, widths, strict=True)))
    print("  ".join("-" * wd for wd in widths))
    for row in cells:
        print("  ".join(v.ljust(wd) for v, wd in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch CPU threads (default: all cores)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per case (median reported)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before timing")
    parser.add_argument("--batch", type=int, default=8, help="batch size (the paper's: 8)")
    parser.add_argument(
        "--filter-calls", type=int, default=200, help="band_filter calls per timing"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    args = parser.parse_args(argv)
    for name in ("threads", "repeats", "batch", "filter_calls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"gsfm spectral benchmark: torch {torch.__version__}, device {device} ({where})")
    print(f"forward+backward, median of {args.repeats} runs after {args.warmup} warm-up run(s):\n")
    _print_table(bench_modules(device, args.repeats, args.warmup, args.batch))
    print(
        f"\nband_filter: mean per call over {args.filter_calls} calls (sigma=7 bins, band=low):\n"
    )
    _print_table(bench_filter(device, args.filter_calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
